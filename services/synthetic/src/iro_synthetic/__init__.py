"""A synthetic local authority's IRO service, deterministic from a seed (see `model`)."""

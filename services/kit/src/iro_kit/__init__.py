"""iro_kit: what the three IRO services share, and nothing that belongs to one of them."""

"""Composes the three services: the all-in-one local run, migrations and dev tokens."""

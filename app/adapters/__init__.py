"""Adapters to the outside world: the database, devices, the outbox."""

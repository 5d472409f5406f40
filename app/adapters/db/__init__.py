"""SQLAlchemy schema, engine set-up, the ledger store and the unit of work."""

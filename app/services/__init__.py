"""Use cases: one function per transaction kind, run in a unit of work."""

"""Shared test support: database provisioning and a small seeded warehouse."""

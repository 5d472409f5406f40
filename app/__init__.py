"""Perpetua: a perpetual-inventory scanner station for warehouses."""

__version__ = "0.1.0"

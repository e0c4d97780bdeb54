"""Resident ledger pages."""

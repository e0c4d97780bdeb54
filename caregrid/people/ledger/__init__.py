"""Ledger files in and out: reading Excel/CSV ledgers as they are kept, importing, exporting."""

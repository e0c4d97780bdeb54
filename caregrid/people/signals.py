"""Signals sent by the resident actions, inside their transaction, for features that keep data derived from
residents' categories and households (care rounds' due lists)."""

from django.dispatch import Signal

# Residents were created or changed: `resident_ids` (a list), or `place` when a whole import under a place did.
residents_changed = Signal()

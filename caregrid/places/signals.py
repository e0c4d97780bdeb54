"""Signals sent by the place actions, inside their transaction, for features that keep data derived from zones
and the bureau's mode (care rounds' due lists). Receivers must not fail the change that sent them."""

from django.dispatch import Signal

# A zone was set on `place` (a Place); everything under it may be in another zone today.
zone_changed = Signal()
# The bureau's mode changed (`change`: the ModeChange).
mode_changed = Signal()
# Residents under `place` moved to another grid.
grid_assigned = Signal()

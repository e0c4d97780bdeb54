"""The due lists follow the changes other features make (connected in CareConfig.ready)."""

from django.dispatch import receiver

from caregrid.people.models import Resident
from caregrid.people.signals import residents_changed
from caregrid.places.signals import grid_assigned, mode_changed, zone_changed

from .policies import daylist


@receiver(zone_changed, dispatch_uid="care.zone_changed")
@receiver(grid_assigned, dispatch_uid="care.grid_assigned")
def _place_changed(sender, place, **kwargs):
    daylist.places_changed(place)


@receiver(mode_changed, dispatch_uid="care.mode_changed")
def _mode_changed(sender, change, **kwargs):
    daylist.rules_changed(since=change.started_at)


@receiver(residents_changed, dispatch_uid="care.residents_changed")
def _residents_changed(sender, resident_ids=None, place=None, **kwargs):
    if place is not None:
        daylist.places_changed(place)
    elif resident_ids:
        daylist.refresh_residents(Resident.objects.filter(pk__in=resident_ids))

"""Writes for a day's proof: each export of a day's contacts is on the record (who, which place and day, rows)."""

import datetime as dt

from django.db import transaction

from caregrid.accounts.audit import audit_record
from caregrid.places.models import Place
from caregrid.places.tree import ancestors, full_name


@transaction.atomic
def proof_export_record(*, actor, place: Place, day: dt.date, rows: int, filters: dict | None = None) -> None:
    """Personal data leaves the system in a file: write the export to the audit log."""
    audit_record(
        actor=actor,
        action="care.proof_export",
        obj=place,
        object_repr=full_name(ancestors(place)),
        place_path=place.path,
        changes={"place": place.pk, "day": day.isoformat(), "rows": rows, **({"filters": filters} if filters else {})},
    )

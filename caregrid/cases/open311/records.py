"""Help requests as Open311 service requests. Two views of a request: the public one (anyone may ask; no
caller, no free text, the address only down to the building) and the full one (an api_key holder, within
the key user's scope)."""

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import address_label

from ..models import OPEN_STATUSES, HelpRequest, Status
from .services import category_names, service_of

# Levels of an address that may be published: a compound and a building, never a unit or a room.
PUBLIC_ADDRESS_KINDS = (PlaceKind.COMPOUND, PlaceKind.BUILDING)
# Places named in a public address when the request is not tied to a compound.
AREA_KINDS = (PlaceKind.COMMUNITY, PlaceKind.SUBDISTRICT, PlaceKind.DISTRICT)
CLOSED_WITH_OUTCOME = (Status.ANSWERED, Status.RESOLVED, Status.CLOSED)
RECORD_FIELDS = (
    "number",
    "status",
    "outcome",
    "category",
    "description",
    "received_at",
    "updated_at",
    "resolved_at",
    "resolution_due",
    "address_text",
    "lat",
    "long",
    "place",
    "assigned_place",
    "subcategory",
)
SUBCATEGORY_FIELDS = ("subcategory__code", "subcategory__name", "subcategory__name_en")


def w3c(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the local offset, e.g. 2022-12-15T08:30:00+08:00 (the spec's W3C profile)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def open311_status(case: HelpRequest) -> str:
    return "open" if case.status in OPEN_STATUSES else "closed"


def for_records(qs: QuerySet[HelpRequest]) -> QuerySet[HelpRequest]:
    """The columns `request_records` reads, with the related rows it needs, in one query."""
    return qs.select_related("place", "assigned_place", "subcategory").only(
        *RECORD_FIELDS, "place__path", "assigned_place__name", *SUBCATEGORY_FIELDS
    )


def _chains(cases: list[HelpRequest]) -> dict[int, list[Place]]:
    """Root-first place chains of the requests' places, with one query for all their ancestors."""
    ids = {i for c in cases for i in c.place.ancestor_ids}
    by_id = Place.objects.in_bulk(ids)
    return {c.place_id: [by_id[i] for i in c.place.ancestor_ids if i in by_id] for c in cases}


def _public_place(chain: list[Place]) -> tuple[str, int | None]:
    """(address, address_id) no finer than a building: the compound and building, else the community or above."""
    coarse = [p for p in chain if p.kind in PUBLIC_ADDRESS_KINDS]
    if coarse:
        return address_label(coarse), coarse[-1].pk
    areas = [p for p in chain if p.kind in AREA_KINDS]
    return (areas[-1].name, areas[-1].pk) if areas else ("", None)


def _full_place(case: HelpRequest, chain: list[Place]) -> tuple[str, int | None]:
    label = address_label(chain)
    if label:
        return label, case.place_id
    return case.address_text or (chain[-1].name if chain else ""), case.place_id


def _updated(case: HelpRequest) -> dt.datetime:
    # The spec: for a closed request, the time it was closed.
    if case.status not in OPEN_STATUSES and case.resolved_at:
        return case.resolved_at
    return case.updated_at


def _notes(case: HelpRequest, full: bool, statuses: dict[str, str]) -> str:
    if case.status in CLOSED_WITH_OUTCOME and case.outcome and full:
        return case.outcome
    return statuses.get(case.status, case.status)


def request_records(cases: list[HelpRequest], *, full: bool) -> list[dict]:
    """The requests (loaded through `for_records`) as Open311 `request` entries."""
    chains = _chains(cases)
    # Labels resolved once: a lazy label translated per row costs more than the rest of the row.
    names = category_names()
    statuses = {value: str(label) for value, label in Status.choices}
    records = []
    for case in cases:
        chain = chains.get(case.place_id, [])
        address, address_id = _full_place(case, chain) if full else _public_place(chain)
        service_code, service_name = service_of(case, names)
        records.append(
            {
                "service_request_id": case.number,
                "status": open311_status(case),
                "status_notes": _notes(case, full, statuses),
                "service_name": service_name,
                "service_code": service_code,
                "description": case.description if full else None,
                "agency_responsible": case.assigned_place.name if case.assigned_place_id else None,
                "service_notice": None,
                "requested_datetime": w3c(case.received_at),
                "updated_datetime": w3c(_updated(case)),
                "expected_datetime": w3c(case.resolution_due),
                "address": address or None,
                "address_id": address_id,
                "zipcode": None,
                "lat": float(case.lat) if full and case.lat is not None else None,
                "long": float(case.long) if full and case.long is not None else None,
                "media_url": None,
            }
        )
    return records

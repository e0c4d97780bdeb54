"""The one place-tree helper: subtree filters, ancestors, address labels, lookup by path of names."""

from django.db.models import Q, QuerySet

from .models import Place, PlaceKind

# The physical levels an address is written from, finest last.
ADDRESS_KINDS = (PlaceKind.COMPOUND, PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSEHOLD)
PATH_SEPARATOR = "/"


def child_path(parent: Place | None, place_id: int) -> str:
    return f"{parent.path if parent else ''}{place_id}."


def under(path: str, field: str = "path") -> Q:
    """Everything at or below the place with this path (one indexed prefix match)."""
    return Q(**{f"{field}__startswith": path})


def descendants(place: Place, *, include_self: bool = True) -> QuerySet[Place]:
    qs = Place.objects.filter(under(place.path))
    return qs if include_self else qs.exclude(pk=place.pk)


def ancestors(place: Place, *, include_self: bool = True) -> list[Place]:
    """Root first; one query."""
    ids = place.ancestor_ids if include_self else place.ancestor_ids[:-1]
    by_id = Place.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def ids_from_path(path: str) -> list[int]:
    return [int(p) for p in path.split(".") if p]


def address_label(chain: list[Place]) -> str:
    """ "紫东花苑3幢2单元302室" from a root-first chain of places."""
    parts = []
    for p in chain:
        if p.kind == PlaceKind.COMPOUND:
            parts.append(p.name)
        elif p.kind == PlaceKind.BUILDING:
            parts.append(p.name if p.name.endswith(("幢", "栋", "号楼", "楼", "号")) else f"{p.name}幢")
        elif p.kind == PlaceKind.UNIT:
            parts.append(p.name if p.name.endswith("单元") else f"{p.name}单元")
        elif p.kind == PlaceKind.HOUSEHOLD:
            parts.append(p.name if p.name.endswith(("室", "户", "号")) else f"{p.name}室")
    return "".join(parts)


def full_name(chain: list[Place]) -> str:
    """ "城东区/紫东街道/紫东社区" — the path of names used by `--into` and exports."""
    return PATH_SEPARATOR.join(p.name for p in chain)


def split_names(text: str) -> list[str]:
    return [part.strip() for part in text.replace("／", "/").split(PATH_SEPARATOR) if part.strip()]


def find_by_names(names: list[str]) -> Place | None:
    """The place reached by following names from a root, or None."""
    parent = None
    for name in names:
        place = Place.objects.filter(parent=parent, name=name).exclude(kind=PlaceKind.GRID).first()
        if place is None:
            return None
        parent = place
    return parent


def addresses_for(places: list[Place]) -> dict[int, str]:
    """Address labels for many places with one query for all their ancestors."""
    ids = {i for p in places for i in p.ancestor_ids}
    by_id = Place.objects.in_bulk(ids)
    return {p.pk: address_label([by_id[i] for i in p.ancestor_ids if i in by_id]) for p in places}

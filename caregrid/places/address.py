"""Address matching: free text such as "紫东6幢2单元502 独居老人没药了" → a household (or building) of the tree.

`parse_address` reads the address out of the text (pure, no database): building, unit, floor and room
as normalised tokens ("十九幢" → "19", "二单元" → "2", "一〇二室" → "102", "6-2-502" → 6 / 2 / 502) and
the words written before them as the compound. `match_address` finds the compound among the registry's
through an in-process index of compound names and stems (a few thousand), then follows the tree with at
most three small indexed queries: the named buildings of those compounds, their units, the named
households. Households are never loaded wholesale. The index is checked on every match with one O(1)
query (the highest place id); the compounds are recounted only when that id moves, and the index is
rebuilt when their count or highest id changed, when a compound is saved in this process, or after
ten minutes (renames made by another process).

Confidence: a compound named in full, its building, unit and room all found is 1.0; the compound
alone 0.3; a stem ("紫东" for 紫东花苑) or another ending counts 0.85 of that; places that fit the text
equally well (namesake compounds, a room number in two units) share it.
"""

import re
import threading
import time
from collections import Counter, namedtuple
from dataclasses import dataclass, replace
from functools import lru_cache

from django.db import connection
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from caregrid.people.validation import clean_text

from .models import GRID_COVERED_KINDS, Place, PlaceKind
from .tree import address_label, under

# ── parsing ──────────────────────────────────────────────────────────────────────────────────────

_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_WRITE = "零一二三四五六七八九"
_MARKERS = "号楼|幢|栋|座|号|单元|室|房|楼|层|户"
# Chinese numerals are read as numbers only right before an address marker, so place names that
# contain numerals ("五一新村") keep them.
_CN_NUMBER = re.compile(rf"([零〇一二两三四五六七八九十百]+)(?={_MARKERS})")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"})
# Spaces next to Chinese characters or hyphens are typing noise; spaces between two numbers are kept
# ("502 13812345678" must not become one number).
_NOISE_SPACE = re.compile(r"\s+(?=[^\x00-\x7f]|[-#])|(?<=[^\x00-\x7f])\s+|(?<=[-#])\s+")

_ID = r"\d{1,4}[A-Za-z]?|[A-Za-z]\d{0,3}"
_ROOM_END = r"(?![0-9A-Za-z]|点|时|岁|个|人|天|月|日|年|分|元|斤|盒|瓶|袋|次|:)"
_ADDRESS = re.compile(
    r"(?<![0-9A-Za-z月])"
    rf"(?:第?(?P<building>{_ID})(?P<bmark>号楼|幢|栋|座|#|号|楼)-?)?"
    rf"(?:第?(?P<unit>{_ID})单元-?|(?<=[幢栋座#号楼])(?P<unit_dash>\d{{1,2}})-(?=\d))?"
    r"(?:(?P<floor>\d{1,2})(?:楼|层|F))?"
    r"(?:(?P<room>\d{1,4}[A-Za-z]?(?:-\d{1,2})?)(?P<rmark>室|房|号|户)"
    rf"|(?P<room_bare>\d{{3,4}}[A-Za-z]?(?:-\d{{1,2}})?){_ROOM_END})?"
)
# "6-2-502" (building-unit-room) anywhere; "紫东花苑6-502" (building-room) only right after a name.
_DASHED = re.compile(
    r"(?<![0-9A-Za-z.:/-])(?P<building>\d{1,3})-(?P<unit>\d{1,2})-(?P<room>\d{2,4}[A-Za-z]?)"
    r"(?![0-9A-Za-z-])(?:室|房|号|户)?"
)
_DASHED_PAIR = re.compile(
    r"(?<=[\u4e00-\u9fff])(?P<building>\d{1,3})-(?P<room>\d{3,4})(?![0-9A-Za-z-])(?:室|房|号|户)?"
)

# Compound name endings: longest first. Only the multi-character ones mark a compound in free text
# on their own ("家里", "公园" are not addresses); all of them are stripped to find a name's stem.
COMPOUND_SUFFIXES = (
    "花苑", "花园", "家园", "名邸", "华府", "佳苑", "雅苑", "景园", "公寓", "新城", "新村", "小区", "大厦",
    "广场", "公馆", "山庄", "嘉园", "新苑", "社区", "苑", "里", "村", "园", "城", "府", "庭", "居", "湾", "坊",
    "庄", "院", "轩", "阁", "邸", "墅",
)  # fmt: skip
_SUFFIX_IN_TEXT = re.compile("|".join(s for s in COMPOUND_SUFFIXES if len(s) > 1 and s != "社区"))
_NAME_RUN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+$")
# Words that lead into an address in a sentence ("家住紫东花苑…", "送药到紫东花苑…").
_LEAD_IN = re.compile(r".*(?:家住|住在|住址|地址|位于|来自|现住|居住|送到|送至|到|去|往|在|住|是|的|于)")
_SEPARATORS = " ,，、:：;；-()（）"


@dataclass(frozen=True)
class ParsedAddress:
    """The address read from a text: normalised tokens, None where the text says nothing."""

    compound: str | None
    building: str | None
    unit: str | None
    room: str | None
    floor: str | None

    @property
    def has_location(self) -> bool:
        """Does it name anything below the compound?"""
        return bool(self.building or self.unit or self.room or self.floor)


def _cn_number(text: str) -> str:
    """ "十九" → "19", "一〇二" → "102", "二十" → "20", "一百零二" → "102"."""
    if "十" not in text and "百" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    total, current = 0, 0
    for c in text:
        if c == "百":
            total += (current or 1) * 100
            current = 0
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[c]
    return str(total + current)


def _written_cn(number: str) -> str | None:
    """ "19" → "十九" (1–99), how a ledger may name a building or unit; None for other tokens."""
    if not number.isdigit() or not 0 < int(number) < 100:
        return None
    n = int(number)
    if n < 10:
        return _CN_WRITE[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_WRITE[tens]) + "十" + (_CN_WRITE[ones] if ones else "")


def normalise(text: str) -> str:
    """The text as the parser reads it: half-width, Simplified, numerals before markers as digits,
    noise spaces dropped, one kind of hyphen."""
    text = clean_text(text).translate(_DASHES)
    text = _NOISE_SPACE.sub("", text)
    return _CN_NUMBER.sub(lambda m: _cn_number(m.group(1)), text)


def _token(text: str | None) -> str | None:
    if not text:
        return None
    text = text.upper()
    return (text.lstrip("0") or text) if text.isdigit() else text


def _compound_before(text: str, end: int) -> str | None:
    """The name written right before position `end`, without the words leading into it."""
    run = _NAME_RUN.search(text[:end].rstrip(_SEPARATORS))
    if not run:
        return None
    name = run.group(0).lstrip("0123456789")
    lead = _LEAD_IN.match(name)
    if lead and lead.end() < len(name):
        name = name[lead.end() :]
    return name if len(name) >= 2 else None


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    weight: float
    building: str | None
    unit: str | None
    room: str | None
    floor: str | None


def _from_match(m: re.Match) -> _Found | None:
    building, bmark = m["building"], m["bmark"]
    unit = m["unit"] or m["unit_dash"]
    floor = m["floor"]
    room = m["room"] or m["room_bare"]
    if room and not (m["rmark"] or building or unit or floor):
        return None  # a bare number is not a room
    if not (building or unit or room):
        return None
    if bmark == "楼" and building and building.isdigit() and room and not floor and room.startswith(building):
        building, floor = None, building  # "4楼405": the fourth floor, room 405
    elif bmark == "号" and building and len(building) >= 3 and not (unit or room or floor):
        building, room = None, building  # "紫东花苑502号": a room
    strong = bmark not in ("号", "楼", None) or unit is not None or m["rmark"] in ("室", "房", "户")
    parts = sum(1 for v in (building, unit, room, floor) if v)
    return _Found(m.start(), m.end(), parts + (0.5 if strong else 0), building, unit, room, floor)


def _best_location(text: str) -> _Found | None:
    found: list[_Found] = []
    for m in _ADDRESS.finditer(text):
        if m.end() > m.start():
            f = _from_match(m)
            if f:
                found.append(f)
    for m in _DASHED.finditer(text):
        found.append(_Found(m.start(), m.end(), 3.5, m["building"], m["unit"], m["room"], None))
    for m in _DASHED_PAIR.finditer(text):
        found.append(_Found(m.start(), m.end(), 2, m["building"], None, m["room"], None))
    best = None
    for f in found:
        if not f.weight >= 1.5 and not _compound_before(text, f.start):
            continue  # "3号" alone (a date, a count) says nothing without a name before it
        if best is None or f.weight > best.weight or (f.weight == best.weight and f.start < best.start):
            best = f
    return best


def _parse(text: str) -> tuple[ParsedAddress, _Found | None] | None:
    found = _best_location(text)
    if found:
        parsed = ParsedAddress(
            compound=_compound_before(text, found.start),
            building=_token(found.building),
            unit=_token(found.unit),
            room=_token(found.room),
            floor=_token(found.floor),
        )
        return parsed, found
    for m in _SUFFIX_IN_TEXT.finditer(text):
        name = _compound_before(text, m.end())
        if name and len(name) > len(m.group(0)):
            return ParsedAddress(name, None, None, None, None), None
    return None


def parse_address(text: str) -> ParsedAddress | None:
    """The address written in a free text, or None when it holds none."""
    result = _parse(normalise(text or ""))
    return result[0] if result else None


# ── reading the tree ─────────────────────────────────────────────────────────────────────────────

# The per-match queries are tiny index look-ups; compiling them through the ORM costs several times
# more than running them, so they are written once here and run on a cursor, and their rows stay
# light tuples until one becomes the answer.
_QN = connection.ops.quote_name
# created_at is left out (deferred on the Place handed back): a raw row would carry it unconverted; a grid's
# leader plays no part in an address.
_FIELDS = [f for f in Place._meta.concrete_fields if f.name not in ("created_at", "leader")]
_ATTNAMES = [f.attname for f in _FIELDS]
_SELECT = f"SELECT {', '.join(_QN(f.column) for f in _FIELDS)} FROM {_QN(Place._meta.db_table)}"  # noqa: S608
_MAX_ID = f"SELECT MAX({_QN('id')}) FROM {_QN(Place._meta.db_table)}"  # noqa: S608 (names from the model)
_Row = namedtuple("_Row", _ATTNAMES)  # id, kind, name, code, parent_id, path, depth, grid_type, grid_id, grid_path


def _rows(where: str, params: list) -> list[_Row]:
    with connection.cursor() as cursor:
        cursor.execute(f"{_SELECT} WHERE {where}", params)
        return [_Row._make(r) for r in cursor.fetchall()]


def _children(parent_ids: list[int], kind: str, names: list[str] | None = None) -> list[_Row]:
    """Children of these places of one kind (with one of these names), through the (parent, kind, name) index."""
    where = f"{_QN('parent_id')} IN ({', '.join(['%s'] * len(parent_ids))}) AND {_QN('kind')} = %s"
    params = [*parent_ids, kind]
    if names is not None:
        where += f" AND {_QN('name')} IN ({', '.join(['%s'] * len(names))})"
        params += names
    return _rows(where, params)


def _orm_rows(qs) -> list[_Row]:
    return [_Row._make(r) for r in qs.values_list(*_ATTNAMES)]


def _as_place(row: _Row) -> Place:
    return Place.from_db(connection.alias, _ATTNAMES, tuple(row))


def _ids(path: str) -> list[int]:
    return [int(p) for p in path.split(".") if p]


# ── the compound index ───────────────────────────────────────────────────────────────────────────


def name_stem(name: str) -> str:
    """ "紫东花苑" → "紫东": the name without its compound ending (kept whole if too little is left)."""
    for suffix in COMPOUND_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class _Compound:
    id: int
    name: str
    path: str
    community: str  # the community's name, written before the address to tell namesakes apart


@dataclass(frozen=True)
class _Index:
    compounds: dict[int, _Compound]
    keys: dict[str, tuple[tuple[int, bool], ...]]  # normalised name or stem → ((compound id, whole name?), …)
    communities: dict[str, frozenset[int]]  # normalised community name → its compound ids
    longest: int
    signature: tuple  # (count, highest id) of the compounds
    generation: int
    top_place: int | None  # the highest place id when last checked
    built_at: float


# Renames made by another process (the index of this one is told of its own) show after this long.
REBUILD_SECONDS = 600.0

_lock = threading.Lock()
_index: _Index | None = None
_generation = 0
_signature_sql: tuple[str, tuple] | None = None


def _compounds_qs():
    """Compounds reached through the index on (parent, kind, name): district → … → community → compound,
    so neither the check nor the build scans the place table."""
    districts = Place.objects.filter(parent=None, kind=PlaceKind.DISTRICT).values("id")
    subdistricts = Place.objects.filter(parent__in=districts, kind=PlaceKind.SUBDISTRICT).values("id")
    communities = Place.objects.filter(parent__in=subdistricts, kind=PlaceKind.COMMUNITY).values("id")
    return Place.objects.filter(parent__in=communities, kind=PlaceKind.COMPOUND)


def _signature() -> tuple:
    global _signature_sql
    if _signature_sql is None:
        sql, params = _compounds_qs().values("id").query.sql_with_params()
        _signature_sql = (f"SELECT COUNT(*), MAX(c.id) FROM ({sql}) c", params)  # noqa: S608 (compiled by the ORM)
    with connection.cursor() as cursor:
        cursor.execute(*_signature_sql)
        return tuple(cursor.fetchone())


def _top_place() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(_MAX_ID)
        return cursor.fetchone()[0]


def _build(*, signature: tuple, generation: int, top_place: int | None) -> _Index:
    rows = list(_compounds_qs().values_list("id", "name", "path", "parent_id"))
    community_names = dict(Place.objects.filter(id__in={r[3] for r in rows}).values_list("id", "name"))
    compounds: dict[int, _Compound] = {}
    keys: dict[str, list[tuple[int, bool]]] = {}
    communities: dict[str, set[int]] = {}
    for pk, name, path, parent_id in rows:
        community = community_names.get(parent_id, "")
        compounds[pk] = _Compound(pk, name, path, community)
        key = normalise(name)
        keys.setdefault(key, []).append((pk, True))
        stem = name_stem(key)
        if stem != key:
            keys.setdefault(stem, []).append((pk, False))
        if community:
            communities.setdefault(normalise(community), set()).add(pk)
    return _Index(
        compounds=compounds,
        keys={k: tuple(v) for k, v in keys.items()},
        communities={k: frozenset(v) for k, v in communities.items()},
        longest=max((len(k) for k in keys), default=0),
        signature=signature,
        generation=generation,
        top_place=top_place,
        built_at=time.monotonic(),
    )


def _current_index() -> _Index:
    """The compound index, checked per match at the cost of one O(1) query: only when the highest
    place id has moved are the compounds' count and highest id read, and only when those moved (or a
    compound was saved in this process, or the index is old) is it rebuilt."""
    global _index
    top = _top_place()
    index = _index
    fresh = (
        index is not None and index.generation == _generation and time.monotonic() - index.built_at < REBUILD_SECONDS
    )
    if fresh and index.top_place == top:
        return index
    signature = _signature()
    with _lock:
        if fresh and index.signature == signature:
            index = _index = replace(index, top_place=top)
        else:
            index = _index = _build(signature=signature, generation=_generation, top_place=top)
    return index


def forget_compound_index(**_kwargs) -> None:
    """Drop the compound index; the next match rebuilds it. Bulk loads move the highest place id,
    which the next match notices by itself; a save in this process (a rename) calls this."""
    global _generation, _index
    with _lock:
        _generation += 1
        _index = None


def _place_saved(sender, instance: Place, **kwargs) -> None:
    if instance.kind in (PlaceKind.COMPOUND, PlaceKind.COMMUNITY):
        forget_compound_index()


post_save.connect(_place_saved, sender=Place, dispatch_uid="caregrid.places.address.saved")
post_delete.connect(_place_saved, sender=Place, dispatch_uid="caregrid.places.address.deleted")


# ── matching ─────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class AddressCandidate:
    place_id: int
    label: str  # the full address, e.g. "紫东花苑1幢1单元101室" (with the community when namesakes are listed)
    confidence: float


@dataclass(frozen=True)
class AddressMatch:
    """What a text's address matched. `place` is the deepest matched place (household, else unit,
    building or compound), None when the text holds an address that matches nothing; `candidates`
    lists up to three places, best first."""

    compound: str | None
    building: str | None
    unit: str | None
    room: str | None
    place: Place | None
    place_id: int | None
    confidence: float
    candidates: list[AddressCandidate]


NO_MATCH = AddressMatch(None, None, None, None, None, None, 0.0, [])
MAX_CANDIDATES = 3
# A help request's address sits in its first lines; longer texts are read that far.
MAX_TEXT = 1000
# Compounds followed down the tree for one text; a bare two-character stem can name a few dozen.
MAX_COMPOUNDS = 60
# Without a compound named in the text, the compounds of a small scope (a community, a grid) are tried.
MAX_IMPLIED_COMPOUNDS = 30

# How much each matched level adds; a household with compound, building, unit and room exact is 1.0.
W_COMPOUND, W_BUILDING, W_UNIT, W_UNIT_OMITTED, W_ROOM = 0.3, 0.25, 0.15, 0.1, 0.3
# The compound's share: named in full, by its stem (or with another ending), or only implied by scope.
Q_FULL, Q_STEM, Q_IMPLIED, Q_OTHER_COMMUNITY = 1.0, 0.85, 0.6, 0.9

_BUILDING_ENDINGS = ("号楼", "幢", "栋", "座", "号", "楼", "#")
_UNIT_ENDINGS = ("单元",)
_ROOM_ENDINGS = ("室", "户", "号", "房")


def _variants(token: str, endings: tuple[str, ...], *, padded: bool = False) -> list[str]:
    """The names a building, unit or room with this token may carry in the tree ("6" → "6幢", "六号楼"…;
    with `padded`, "01" for room 1). Each is one probe of the (parent, kind, name) index per parent."""
    forms = {token, token.lower(), _written_cn(token) or token}
    if padded and token.isdigit():
        forms.add(token.zfill(2))
    return [f + e for f in forms for e in ("", *endings)]


@lru_cache(maxsize=8192)
def _name_token(name: str, endings: tuple[str, ...]) -> str | None:
    """A stored building, unit or room name as a token: "6号楼" → "6", "二单元" → "2", "502室" → "502"."""
    name = normalise(name)
    for ending in endings:
        if name.endswith(ending) and len(name) > len(ending):
            name = name[: -len(ending)]
            break
    name = name.lstrip("第")
    if name and all(c in _CN_DIGITS or c in "十百" for c in name):
        name = _cn_number(name)
    return _token(name)


@dataclass(frozen=True)
class _Scope:
    """`within`, applied to compounds from the index and to the rows fetched below them by the same
    rule as `tree.under`: a path (or, for a grid, a grid path) starting with the scope's path."""

    place: Place | None

    @property
    def is_grid(self) -> bool:
        return self.place is not None and self.place.kind == PlaceKind.GRID

    def compound_ok(self, c: _Compound) -> bool:
        w = self.place
        if w is None:
            return True
        if self.is_grid:
            community_path = "".join(f"{i}." for i in _ids(w.path)[:3])  # district.subdistrict.community.
            return c.path.startswith(community_path)
        return c.path.startswith(w.path) or w.path.startswith(c.path)

    def row_ok(self, p: _Row) -> bool:
        w = self.place
        if w is None:
            return True
        if self.is_grid and p.kind in GRID_COVERED_KINDS:
            return p.grid_path.startswith(w.path)
        return p.path.startswith(w.path) or w.path.startswith(p.path)

    def compounds_in_grid(self, ids: list[int], index: _Index) -> list[int]:
        """For a grid scope: those of these compounds that hold anything the grid covers."""
        return [
            pk
            for pk in ids
            if Place.objects.filter(under(index.compounds[pk].path), under(self.place.path, "grid_path")).exists()
        ]


@dataclass(frozen=True)
class _Named:
    shares: dict[int, float]  # compound id → share
    key: str  # the name as written
    whole: bool


def _compounds_named(index: _Index, text: str, *, stems: bool, scope: _Scope) -> _Named | None:
    """Compounds named in the text, with their share: the best-placed name wins — whole names over
    stems, a name not inside a longer one, the one nearest the end of the text."""
    hits = []
    n = len(text)
    keys, compounds = index.keys, index.compounds
    for i in range(n):
        for j in range(i + 2, min(n, i + index.longest) + 1):
            entries = keys.get(text[i:j])
            if not entries:
                continue
            full = [pk for pk, whole in entries if whole and scope.compound_ok(compounds[pk])]
            stem = [pk for pk, whole in entries if not whole and stems and scope.compound_ok(compounds[pk])]
            if full or stem:
                hits.append((i, j, bool(full), full or stem))
    hits = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] for o in hits)]
    if not hits:
        return None
    i, j, whole, ids = max(hits, key=lambda h: (h[2], h[1], h[1] - h[0]))
    share = Q_FULL if whole else Q_STEM
    shares = {pk: share for pk in ids}
    if len(shares) > 1:  # the community written in the text tells namesakes apart
        hinted: set[int] = set()
        for name, pks in index.communities.items():
            if name in text:
                hinted |= pks & shares.keys()
        if hinted:
            shares = {pk: q if pk in hinted else q * Q_OTHER_COMMUNITY for pk, q in shares.items()}
    return _Named(shares, text[i:j], whole)


def _fetch_down(parsed: ParsedAddress, compound_ids: list[int], index: _Index) -> list[tuple[_Row, ...]]:
    """Chains (building → deepest matched place) for the named building, unit and room: three small
    indexed queries at most. A room named without a building is looked for across the compounds."""
    buildings: list[_Row] = []
    units: list[_Row] = []
    households: list[_Row] = []
    if parsed.building:
        buildings = [
            b
            for b in _children(compound_ids, PlaceKind.BUILDING, _variants(parsed.building, _BUILDING_ENDINGS))
            if _name_token(b.name, _BUILDING_ENDINGS) == parsed.building
        ]
        if buildings and (parsed.unit or parsed.room):
            units = _children([b.id for b in buildings], PlaceKind.UNIT)
        if buildings and parsed.room:
            named = [u.id for u in units if parsed.unit and _name_token(u.name, _UNIT_ENDINGS) == parsed.unit]
            parents = named or [b.id for b in buildings] + [u.id for u in units]
            households = _children(parents, PlaceKind.HOUSEHOLD, _variants(parsed.room, _ROOM_ENDINGS, padded=True))
    elif parsed.room:
        anywhere = Q()
        for pk in compound_ids:
            anywhere |= under(index.compounds[pk].path)
        names = _variants(parsed.room, _ROOM_ENDINGS, padded=True)
        households = _orm_rows(Place.objects.filter(anywhere, kind=PlaceKind.HOUSEHOLD, name__in=names))
        above = {i for h in households for i in _ids(h.path)[4:-1]}  # their buildings and units
        for p in _orm_rows(Place.objects.filter(pk__in=above)):
            (buildings if p.kind == PlaceKind.BUILDING else units).append(p)
    households = [h for h in households if _name_token(h.name, _ROOM_ENDINGS) == parsed.room]

    by_id = {p.id: p for p in (*buildings, *units)}
    chains: list[tuple[_Row, ...]] = []
    reached: set[int] = set()
    for h in households:
        above = tuple(by_id[i] for i in _ids(h.path) if i in by_id)
        chains.append((*above, h))
        reached.update(p.id for p in above)
    named_units: dict[int, list[_Row]] = {}
    for u in units:
        if parsed.unit and _name_token(u.name, _UNIT_ENDINGS) == parsed.unit:
            named_units.setdefault(u.parent_id, []).append(u)
    for b in buildings:  # a building (or its named unit) where the room was not found
        if b.id not in reached:
            chains.extend([(b, u) for u in named_units.get(b.id, [])] or [(b,)])
    return chains


def _score(chain: tuple[_Row, ...], parsed: ParsedAddress, share: float) -> float:
    kinds = {p.kind: p for p in chain}
    building = kinds.get(PlaceKind.BUILDING)
    unit = kinds.get(PlaceKind.UNIT)
    household = kinds.get(PlaceKind.HOUSEHOLD)
    unit_named = unit is not None and parsed.unit is not None and _name_token(unit.name, _UNIT_ENDINGS) == parsed.unit
    score = W_COMPOUND
    if parsed.building and building:
        score += W_BUILDING
        if parsed.unit:
            score += W_UNIT if unit_named else 0
        elif household:
            score += W_UNIT if unit is None else W_UNIT_OMITTED
    elif unit_named:
        score += W_UNIT
    if household:
        score += W_ROOM
    return score * share


def _compound_row(c: _Compound) -> _Row:
    return _Row(c.id, PlaceKind.COMPOUND, c.name, "", None, c.path, 3, "", None, "")


def _candidates(
    parsed: ParsedAddress, shares: dict[int, float], index: _Index, scope: _Scope, *, fallback: bool
) -> list[tuple[float, tuple[_Row, ...]]]:
    """(score, chain from the compound down) for each place reached below these compounds; with
    `fallback`, a compound where nothing below was reached (or looked for) stands for itself."""
    ids = list(shares)
    deeper = _fetch_down(parsed, ids, index) if parsed.has_location and ids else []
    # A compound whose named building lies outside the scope is not offered instead of it, nor is
    # one that the text did not name.
    settled = {pk for pk in ids if shares[pk] == Q_IMPLIED}
    found = []
    for chain in deeper:
        compound_id = chain[0].parent_id
        settled.add(compound_id)
        if scope.row_ok(chain[-1]):
            compound = _compound_row(index.compounds[compound_id])
            found.append((_score(chain, parsed, shares[compound_id]), (compound, *chain)))
    if fallback:
        for pk in ids:
            if pk not in settled:
                found.append((W_COMPOUND * shares[pk], (_compound_row(index.compounds[pk]),)))
    return found


def match_address(text: str, *, within: Place | None = None) -> AddressMatch | None:
    """The registry's place a free text's address names; None when the text holds no address.

    `within` limits the search to a subtree (a user's scope, a hotline's district); a grid limits it
    to what the grid covers."""
    normal = normalise((text or "")[:MAX_TEXT])
    parsed_found = _parse(normal)
    scope = _Scope(within)
    index = _current_index()

    parsed = parsed_found[0] if parsed_found else ParsedAddress(None, None, None, None, None)
    found = parsed_found[1] if parsed_found else None
    stems = parsed_found is not None
    named = _compounds_named(index, normal[: found.start] if found else normal, stems=stems, scope=scope)
    if named is None and found:
        named = _compounds_named(index, normal[found.end :], stems=stems, scope=scope)
    shares = named.shares if named else {}
    if not shares and parsed.has_location and within is not None:
        implied = [pk for pk, c in index.compounds.items() if scope.compound_ok(c)]
        if len(implied) <= MAX_IMPLIED_COMPOUNDS:
            shares = {pk: Q_IMPLIED for pk in implied}
    if not shares:
        return None if parsed_found is None else NO_MATCH
    ids = sorted(shares, key=lambda pk: (-shares[pk], pk))[:MAX_COMPOUNDS]
    if scope.is_grid:
        ids = scope.compounds_in_grid(ids, index)
    scored = _candidates(parsed, {pk: shares[pk] for pk in ids}, index, scope, fallback=True)

    # "紫东小区6幢…" where 紫东小区 has no such household: its namesakes by stem (紫东花苑) may.
    if named and named.whole and parsed.room and not any(c[-1].kind == PlaceKind.HOUSEHOLD for _s, c in scored):
        siblings = [
            pk
            for pk, _whole in index.keys.get(name_stem(named.key), ())
            if pk not in shares and scope.compound_ok(index.compounds[pk])
        ][:MAX_COMPOUNDS]
        if scope.is_grid:
            siblings = scope.compounds_in_grid(siblings, index)
        scored += _candidates(parsed, dict.fromkeys(siblings, Q_STEM), index, scope, fallback=False)
    if not scored:
        return NO_MATCH
    return _answer(scored, index)


def _answer(scored: list[tuple[float, tuple[_Row, ...]]], index: _Index) -> AddressMatch:
    scored.sort(key=lambda s: (-s[0], s[1][-1].path))
    ties = Counter(round(score, 6) for score, _chain in scored)
    top = scored[:MAX_CANDIDATES]
    labels = [address_label(list(chain)) for _score, chain in top]
    candidates = [
        AddressCandidate(
            place_id=chain[-1].id,
            label=(index.compounds[chain[0].id].community + label) if labels.count(label) > 1 else label,
            confidence=round(score / ties[round(score, 6)], 3),
        )
        for (score, chain), label in zip(top, labels, strict=True)
    ]
    best = top[0][1]
    if best[-1].kind == PlaceKind.COMPOUND:
        rows = _rows(f"{_QN('id')} = %s", [best[-1].id])  # the index holds names only: the full row
        if not rows:  # deleted by another process since the index was built
            return NO_MATCH
        place = _as_place(rows[0])
    else:
        place = _as_place(best[-1])
    parts = {p.kind: p.name for p in best}
    return AddressMatch(
        compound=parts.get(PlaceKind.COMPOUND),
        building=parts.get(PlaceKind.BUILDING),
        unit=parts.get(PlaceKind.UNIT),
        room=parts.get(PlaceKind.HOUSEHOLD),
        place=place,
        place_id=place.pk,
        confidence=candidates[0].confidence,
        candidates=candidates,
    )

"""The ledger import engine: streams a file, validates every row with the shared validators, creates
the places it names, and upserts residents by ID number with bulk statements in one transaction.

Speed matters (a district is a million rows), so the hot loop works on tuples and dicts: validators
are memoised per distinct value, places are cached by (parent, kind, name) and created in bulk with
ids allocated up front (their materialised path needs the id), residents are looked up by ID number
one chunk at a time and written with executemany through Django's connection.
"""

import datetime as dt
import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import _request_context
from caregrid.accounts.models import AuditEvent
from caregrid.people.bulk import analyze, indexes_deferred
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.people.validation import (
    CategoryIndex,
    FieldProblem,
    clean_name,
    clean_phone,
    clean_text,
    parse_id_number,
    phone_problem,
    phone_tail,
)
from caregrid.places.models import Place, PlaceKind

from .reader import is_blank, is_footer, open_ledger

CHUNK_SIZE = 5000
PROGRESS_EVERY = 5000
# Loads of at least this many rows (estimated from the file size) into a smaller ledger defer indexes.
BULK_MIN_ROWS = 50_000
BYTES_PER_ROW = 90
BULK_MODELS = (Place, Resident, ResidentCategory)


@dataclass
class Problem:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    updated: int = 0
    merged_duplicates: int = 0
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    places_created: int = 0
    written: bool = False  # did the run commit anything

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "merged_duplicates": self.merged_duplicates,
            "rejected": [p.as_dict() for p in self.rejected],
            "warnings": [p.as_dict() for p in self.warnings],
        }


# --- memoised cleaning (same validators as the forms and API, run once per distinct value) ---


@lru_cache(maxsize=200_000)
def _name(value: str) -> str | FieldProblem:
    try:
        return clean_name(value)
    except FieldProblem as p:
        return p


def _phone(value) -> tuple[str, bool]:
    if type(value) is str and len(value) == 11 and value.isdigit() and value[0] == "1" and value[1] in "3456789":
        return value, True  # what clean_phone returns for a plain mobile number, without the regexes
    return clean_phone(value)


@lru_cache(maxsize=50_000)
def _text(value: str) -> str:
    return clean_text(value)


_BUILDING = r"[0-9A-Za-z]+(?:号楼|幢|栋|座|楼|号)"
_ADDRESS = re.compile(
    rf"^(?P<compound>.+?)(?P<building>{_BUILDING})(?:(?P<unit>[0-9A-Za-z]+)单元)?(?P<room>[0-9A-Za-z]+(?:-[0-9]+)?)(?:室|户|号)?$"
)
_ADDRESS_DASHED = re.compile(
    r"^(?P<compound>.*?[^\d-])(?P<building>\d+)-(?:(?P<unit>\d+)-)?(?P<room>\d+)(?:室|户|号)?$"
)


def building_name(text: str) -> str:
    return f"{text}幢" if text.isalnum() and text.isascii() else text


def unit_name(text: str) -> str:
    if not text:
        return ""
    return text if text.endswith("单元") else f"{text}单元"


def room_name(text: str) -> str:
    stripped = text[:-1] if text.endswith(("室", "户")) else text
    return stripped or text


@lru_cache(maxsize=100_000)
def parse_address(text: str) -> tuple[str, str, str, str] | None:
    """ "紫东花苑3幢2单元302室" or "紫东花苑3-2-302" → (compound, building, unit, room)."""
    text = clean_text(text).replace(" ", "")
    m = _ADDRESS.match(text) or _ADDRESS_DASHED.match(text)
    if not m:
        return None
    return (
        m["compound"],
        building_name(m["building"]),
        unit_name(m["unit"] or ""),
        room_name(m["room"]),
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


# --- id allocation: a place's path contains its id, and category links need the resident's id ---


class IdAllocator:
    """Hands out primary keys before the insert. On SQLite the import's transaction holds the write
    lock, so counting up from the table's high-water mark is safe; PostgreSQL draws from the
    sequence in blocks."""

    BLOCK = 1000

    def __init__(self, table: str):
        self.table = table
        self.next = None
        self.pool: list[int] = []
        self.vendor = connection.vendor

    def take(self, n: int) -> list[int]:
        if n == 0:
            return []
        if self.vendor == "postgresql":
            if len(self.pool) < n:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                        [self.table, max(n, self.BLOCK)],
                    )
                    self.pool.extend(r[0] for r in cursor.fetchall())
            ids, self.pool = self.pool[:n], self.pool[n:]
            return ids
        if self.next is not None:
            self.next += n
            return list(range(self.next - n, self.next))
        if self.next is None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")  # noqa: S608
                top = cursor.fetchone()[0]
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.table])
                row = cursor.fetchone()
            self.next = max(top, row[0] if row else 0) + 1
        ids = list(range(self.next, self.next + n))
        self.next += n
        return ids


def _insert_sql(model, columns: list[str]) -> str:
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608


PLACE_COLUMNS = [
    "id",
    "kind",
    "name",
    "code",
    "parent_id",
    "path",
    "depth",
    "grid_type",
    "grid_id",
    "grid_path",
    "created_at",
]
RESIDENT_COLUMNS = [
    "id",
    "district_id",
    "household_id",
    "place_path",
    "grid_path",
    "id_number",
    "name",
    "gender",
    "birth_date",
    "phone",
    "phone_valid",
    "phone_tail",
    "emergency_contact",
    "emergency_phone",
    "note",
    "is_priority",
    "created_at",
    "updated_at",
    "version",
]
LINK_COLUMNS = ["resident_id", "category_id", "since", "until", "note"]
# Fields an import may change on an existing resident, in the order kept in `_Row.values`.
UPDATABLE = ("name", "phone", "household_id", "emergency_contact", "emergency_phone", "note")


class _Row:
    """One accepted row on its way to the database."""

    __slots__ = ("number", "key", "facts", "values", "categories", "household", "pk")

    def __init__(self, number, key, facts, values, categories, household):
        self.number = number
        self.key = key
        self.facts = facts  # IdFacts
        self.values = values  # dict of UPDATABLE fields given by the file (blank cells absent)
        self.categories = categories  # tuple of category ids, or None when the file says nothing
        self.household = household  # place tuple
        self.pk = None


# A cached place: (id, path, depth, grid_id, grid_path).
PlaceRec = tuple


class ResidentImporter:
    def __init__(
        self,
        *,
        actor,
        into: Place,
        partial: bool = False,
        dry_run: bool = False,
        scope_paths: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ):
        self.actor = actor
        self.into = into
        self.partial = partial
        self.dry_run = dry_run
        self.scope_paths = scope_paths
        self.progress = progress
        self.chunk_size = chunk_size
        self.report = ImportReport()

    # -- setup --

    def _prepare(self) -> None:
        self.now = timezone.now()
        self.db_now = connection.ops.adapt_datetimefield_value(self.now)
        self.categories = CategoryIndex.load()
        self.category_codes = dict(Category.objects.values_list("id", "code"))
        self.place_ids = IdAllocator(Place._meta.db_table)
        self.resident_ids = IdAllocator(Resident._meta.db_table)
        self.district_id = self.into.ancestor_ids[0]
        community = self.into
        self.places: dict[tuple, PlaceRec] = {}
        self.grids: dict[str, PlaceRec] = {}
        rows = Place.objects.filter(path__startswith=community.path).values_list(
            "id", "parent_id", "kind", "name", "path", "depth", "grid_id", "grid_path"
        )
        for pk, parent_id, kind, name, path, depth, grid_id, grid_path in rows.iterator(chunk_size=20_000):
            rec = (pk, path, depth, grid_id, grid_path)
            self.places[(parent_id, kind, name)] = rec
            if kind == PlaceKind.GRID and (name not in self.grids or parent_id == community.pk):
                self.grids[name] = rec
        self.community_rec = (community.pk, community.path, community.depth, None, "")
        self.new_places: list[tuple] = []
        self.grid_moves: dict[int, PlaceRec] = {}  # existing household id → new grid
        # A ledger into an empty table needs no lookups of existing residents.
        self.table_empty = not Resident.objects.exists()
        self.seen: dict[int, object] = {}  # ID key → pending _Row, or packed (row << 33 | existed << 32 | pk)
        self.late_merges: list[tuple[int, _Row]] = []
        self.writing = True
        self.audit_rows: list[AuditEvent] = []
        self.place_sql = _insert_sql(Place, PLACE_COLUMNS)
        self.resident_sql = _insert_sql(Resident, RESIDENT_COLUMNS)
        self.link_sql = _insert_sql(ResidentCategory, LINK_COLUMNS)

    # -- places --

    def _place(self, parent: PlaceRec, kind: str, name: str, grid: PlaceRec | None) -> PlaceRec:
        key = (parent[0], kind, name)
        rec = self.places.get(key)
        if rec is not None:
            return rec
        (pk,) = self.place_ids.take(1)
        if kind == PlaceKind.GRID:
            grid_id, grid_path, grid_type = None, "", "comprehensive"
        else:
            if grid is None and parent[3] is not None and kind != PlaceKind.COMPOUND:
                grid_id, grid_path = parent[3], parent[4]
            elif grid is not None and kind != PlaceKind.COMPOUND:
                grid_id, grid_path = grid[0], grid[1]
            else:
                grid_id, grid_path = None, ""
            grid_type = ""
        path = f"{parent[1]}{pk}."
        rec = (pk, path, parent[2] + 1, grid_id, grid_path)
        self.places[key] = rec
        self.new_places.append(
            (pk, kind, name, "", parent[0], path, parent[2] + 1, grid_type, grid_id, grid_path, self.db_now)
        )
        self.report.places_created += 1
        return rec

    def _grid(self, name: str) -> PlaceRec:
        rec = self.grids.get(name)
        if rec is None:
            rec = self._place(self.community_rec, PlaceKind.GRID, name, None)
            self.grids[name] = rec
        return rec

    def _household(self, address: tuple[str, str, str, str], grid_name: str) -> PlaceRec:
        compound_name, building, unit, room = address
        grid = self._grid(grid_name) if grid_name else None
        compound = self._place(self.community_rec, PlaceKind.COMPOUND, compound_name, None)
        parent = self._place(compound, PlaceKind.BUILDING, building, grid)
        if unit:
            parent = self._place(parent, PlaceKind.UNIT, unit, grid)
        household = self._place(parent, PlaceKind.HOUSEHOLD, room, grid)
        if grid is not None and household[3] != grid[0]:
            # The file moves an existing household to another grid (a compound may span two).
            household = (household[0], household[1], household[2], grid[0], grid[1])
            self.places[(parent[0], PlaceKind.HOUSEHOLD, room)] = household
            self.grid_moves[household[0]] = household
        return household

    # -- rows --

    def _reject(self, number: int, column_field: str, problem: FieldProblem | None, code="", message="") -> None:
        self.report.rejected.append(
            Problem(
                number,
                self.labels.get(column_field, ""),
                problem.code if problem else code,
                problem.message if problem else message,
            )
        )
        if not self.partial:
            self.writing = False

    def _warn(self, number: int, column_field: str, code: str, message: str) -> None:
        self.report.warnings.append(Problem(number, self.labels.get(column_field, ""), code, message))

    def _clean_row(self, number: int, cells: list) -> _Row | None:
        cols = self.columns
        width = len(cells)
        row_cells = {f: (cells[i] if i < width else None) for f, i in cols.items()}
        get = row_cells.get

        rejected = False
        raw_id = get("id_number")
        try:
            facts = parse_id_number(raw_id if type(raw_id) is str else _cell(raw_id), today=self.today)
        except FieldProblem as p:
            self._reject(number, "id_number", p)
            rejected = True
            facts = None
        name = _name(_cell(get("name")))
        if type(name) is not str:
            self._reject(number, "name", name)
            rejected = True
        address = self._address(number, get)
        if address is None:
            rejected = True
        if rejected:
            return None
        values = {"name": name}
        phone_cell = get("phone")
        if phone_cell not in (None, ""):
            phone, valid = _phone(phone_cell)
            if phone:
                values["phone"] = phone
                if not valid:
                    p = phone_problem(phone)
                    self._warn(number, "phone", p.code, p.message)
        for f in ("emergency_contact", "note"):
            v = _cell(get(f))
            if v:
                values[f] = _text(v)[:50] if f == "emergency_contact" else v
        e_cell = get("emergency_phone")
        if e_cell not in (None, ""):
            e_phone, e_valid = _phone(e_cell)
            if e_phone:
                values["emergency_phone"] = e_phone
                if not e_valid:
                    self._warn(
                        number,
                        "emergency_phone",
                        "phone_invalid",
                        _("紧急联系电话“%(value)s”无效，已原样保留") % {"value": e_phone},
                    )
        categories = None
        raw_categories = _cell(get("categories"))
        if raw_categories:
            found, unknown = self._categories(raw_categories)
            for part in unknown:
                self._warn(
                    number,
                    "categories",
                    "category_unknown",
                    _("人员类别“%(name)s”不在类别表中，已忽略；请核对或先在类别表中添加") % {"name": part},
                )
            if found or not unknown:
                categories = found
        grid_name = _text(_cell(get("grid"))) if "grid" in cols else ""
        household = self._household(address, grid_name)
        key = int(facts.number[:17]) * 11 + (10 if facts.number[17] == "X" else int(facts.number[17]))
        return _Row(number, key, facts, values, categories, household)

    def _categories(self, raw: str) -> tuple[tuple[int, ...], list[str]]:
        cached = self._category_cache.get(raw)
        if cached is None:
            found, unknown = self.categories.resolve_all(raw)
            cached = (tuple(c.pk for c in found), unknown)
            self._category_cache[raw] = cached
        return cached

    def _address(self, number: int, get) -> tuple[str, str, str, str] | None:
        cols = self.columns
        if "room" in cols:
            compound = _text(_cell(get("compound")))
            building = _text(_cell(get("building"))).replace(" ", "")
            unit = _text(_cell(get("unit"))).replace(" ", "")
            room = _text(_cell(get("room"))).replace(" ", "")
            if compound and building and room:
                return compound, building_name(building), unit_name(unit), room_name(room)
            if not room and "address" in cols and _cell(get("address")):
                pass  # fall through to the one-column address
            else:
                missing = next(f for f, v in (("compound", compound), ("building", building), ("room", room)) if not v)
                label = {"compound": _("小区"), "building": _("楼栋"), "room": _("房号")}[missing]
                self._reject(
                    number, missing, None, "address_missing", _("住址不完整：%(part)s不能为空") % {"part": label}
                )
                return None
        text = _cell(get("address"))
        if not text:
            self._reject(number, "address", None, "address_missing", _("住址不能为空"))
            return None
        parsed = parse_address(text)
        if parsed is None:
            self._reject(
                number,
                "address",
                None,
                "address_invalid",
                _("无法识别住址“%(value)s”：应写成“小区+楼栋+单元+房号”，如“紫东花苑3幢2单元302室”")
                % {"value": text[:60]},
            )
        return parsed

    def _merge_into(self, first: _Row, later: _Row) -> None:
        for f, v in later.values.items():
            first.values.setdefault(f, v)
        if later.categories:
            merged = list(first.categories or ())
            merged += [c for c in later.categories if c not in merged]
            first.categories = tuple(merged)

    def _duplicate(self, row: _Row) -> bool:
        """Merge a later row for an ID already seen into the first one; True if it was a duplicate."""
        seen = self.seen.get(row.key)
        if seen is None:
            self.seen[row.key] = row
            return False
        first_number = seen.number if isinstance(seen, _Row) else seen >> 33
        self.report.merged_duplicates += 1
        self._warn(
            row.number,
            "id_number",
            "duplicate_id",
            _("身份证号与第%(first)d行重复，已合并到第%(first)d行") % {"first": first_number},
        )
        if isinstance(seen, _Row):
            self._merge_into(seen, row)
        else:
            self.late_merges.append((seen, row))
        return True

    # -- writing --

    def _existing(self, rows: list[_Row]) -> dict[str, tuple]:
        if self.table_empty:
            return {}
        numbers = [r.facts.number for r in rows]
        found = {}
        for pk, number, *rest in Resident.objects.filter(id_number__in=numbers).values_list(
            "id", "id_number", *UPDATABLE, "place_path", "phone_valid"
        ):
            found[number] = (pk, *rest)
        if found:
            links: dict[int, list[int]] = {}
            for resident_id, category_id in ResidentCategory.objects.filter(
                resident_id__in=[v[0] for v in found.values()]
            ).values_list("resident_id", "category_id"):
                links.setdefault(resident_id, []).append(category_id)
            found = {n: (*v, tuple(sorted(links.get(v[0], ())))) for n, v in found.items()}
        return found

    def _flush(self, rows: list[_Row]) -> None:
        if not self.writing:
            for row in rows:
                self.seen[row.key] = (row.number << 33) | 0
            return
        with connection.cursor() as cursor:
            if self.new_places:
                cursor.executemany(self.place_sql, self.new_places)
                self.new_places = []
            existing = self._existing(rows)
            new_rows = [r for r in rows if r.facts.number not in existing]
            pks = self.resident_ids.take(len(new_rows))
            inserts, links = [], []
            now = self.db_now
            adapt_date = connection.ops.adapt_datefield_value
            for row, pk in zip(new_rows, pks, strict=True):
                row.pk = pk
                v = row.values
                phone = v.get("phone", "")
                valid = phone == "" or _phone(phone)[1]
                h = row.household
                cats = row.categories or ()
                inserts.append(
                    (
                        pk,
                        self.district_id,
                        h[0],
                        h[1],
                        h[4],
                        row.facts.number,
                        v["name"],
                        row.facts.gender,
                        adapt_date(row.facts.birth_date),
                        phone,
                        valid,
                        phone_tail(phone, valid),
                        v.get("emergency_contact", ""),
                        v.get("emergency_phone", ""),
                        v.get("note", ""),
                        bool(cats),
                        now,
                        now,
                        1,
                    )
                )
                links.extend((pk, c, None, None, "") for c in cats)
            if inserts:
                cursor.executemany(self.resident_sql, inserts)
                self.report.imported += len(inserts)
            updated = [r for r in rows if r.facts.number in existing]
            if updated:
                self._update(cursor, updated, existing, links)
            if links:
                cursor.executemany(self.link_sql, links)
        for row in rows:
            existed = 1 if row.facts.number in existing else 0
            self.seen[row.key] = (row.number << 33) | (existed << 32) | row.pk

    def _update(self, cursor, rows: list[_Row], existing: dict, links: list) -> None:
        qn = connection.ops.quote_name
        updates, deletes = [], []
        for row in rows:
            pk, name, phone, household_id, e_contact, e_phone, note, place_path, phone_valid, cats = existing[
                row.facts.number
            ]
            row.pk = pk
            if self.scope_paths is not None and not any(place_path.startswith(p) for p in self.scope_paths):
                self._reject(
                    row.number,
                    "id_number",
                    None,
                    "id_elsewhere",
                    _("该身份证号已登记在您管辖范围以外的地点，请联系上级部门处理"),
                )
                continue
            before = {
                "name": name,
                "phone": phone,
                "household_id": household_id,
                "emergency_contact": e_contact,
                "emergency_phone": e_phone,
                "note": note,
            }
            after = dict(before)
            after.update(row.values)
            after["household_id"] = row.household[0]
            changes = {f: [str(before[f]), str(after[f])] for f in UPDATABLE if before[f] != after[f]}
            new_cats = cats if row.categories is None else tuple(sorted(row.categories))
            if new_cats != cats:
                codes = self.category_codes
                changes["categories"] = [sorted(codes[c] for c in cats), sorted(codes[c] for c in new_cats)]
                keep = set(new_cats)
                deletes.extend((pk, c) for c in cats if c not in keep)
                links.extend((pk, c, None, None, "") for c in new_cats if c not in set(cats))
            if not changes:
                continue
            valid = after["phone"] == "" or _phone(after["phone"])[1]
            h = row.household
            updates.append(
                (
                    after["name"],
                    after["phone"],
                    valid,
                    phone_tail(after["phone"], valid),
                    h[0],
                    h[1],
                    h[4],
                    after["emergency_contact"],
                    after["emergency_phone"],
                    after["note"],
                    bool(new_cats),
                    self.db_now,
                    pk,
                )
            )
            self.report.updated += 1
            self._audit_change(pk, after["name"], h[1], changes)
        if deletes:
            cursor.executemany(
                f"DELETE FROM {qn(ResidentCategory._meta.db_table)} WHERE resident_id = %s AND category_id = %s",  # noqa: S608
                deletes,
            )
        if updates:
            cursor.executemany(
                f"UPDATE {qn(Resident._meta.db_table)} SET name = %s, phone = %s, phone_valid = %s, phone_tail = %s, "  # noqa: S608
                "household_id = %s, place_path = %s, grid_path = %s, emergency_contact = %s, emergency_phone = %s, "
                "note = %s, is_priority = %s, updated_at = %s, version = version + 1 WHERE id = %s",
                updates,
            )

    def _audit_change(self, pk: int, name: str, place_path: str, changes: dict) -> None:
        ctx = _request_context.get()
        actor = self.actor if getattr(self.actor, "is_authenticated", False) else None
        self.audit_rows.append(
            AuditEvent(
                actor=actor,
                actor_name=(str(actor) if actor else (self.actor if isinstance(self.actor, str) else "system"))[:150],
                action="resident.update",
                object_type=Resident._meta.label_lower,
                object_id=str(pk),
                object_repr=name[:255],
                place_path=place_path,
                changes={**changes, "via": "import"},
                ip=ctx.ip,
                request_id=ctx.request_id,
            )
        )
        if len(self.audit_rows) >= 2000:
            self._flush_audit()

    def _flush_audit(self) -> None:
        if self.audit_rows:
            AuditEvent.objects.bulk_create(self.audit_rows, batch_size=1000)
            self.audit_rows = []

    def _apply_late_merges(self) -> None:
        """Duplicates whose first row was already written: fill its blanks and add categories."""
        for packed, later in self.late_merges:
            pk = packed & 0xFFFFFFFF
            resident = Resident.objects.filter(pk=pk).first()
            if resident is None:
                continue
            changes = {}
            for f, v in later.values.items():
                if f != "name" and not getattr(resident, f):
                    changes[f] = ["", v]
                    setattr(resident, f, v)
            if "phone" in changes:
                resident.phone_valid = _phone(resident.phone)[1]
                resident.phone_tail = phone_tail(resident.phone, resident.phone_valid)
            have = set(resident.category_links.values_list("category_id", flat=True))
            add = [c for c in later.categories or () if c not in have]
            if add:
                ResidentCategory.objects.bulk_create([ResidentCategory(resident_id=pk, category_id=c) for c in add])
                resident.is_priority = True
                changes["categories"] = [
                    sorted(self.category_codes[c] for c in have),
                    sorted(self.category_codes[c] for c in have | set(add)),
                ]
            if changes:
                resident.save()
                if packed >> 32 & 1:
                    self._audit_change(pk, resident.name, resident.place_path, changes)

    def _apply_grid_moves(self) -> None:
        if not self.grid_moves:
            return
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {qn(Place._meta.db_table)} SET grid_id = %s, grid_path = %s WHERE id = %s",  # noqa: S608
                [(rec[3], rec[4], pk) for pk, rec in self.grid_moves.items()],
            )
            cursor.executemany(
                f"UPDATE {qn(Resident._meta.db_table)} SET grid_path = %s WHERE household_id = %s",  # noqa: S608
                [(rec[4], pk) for pk, rec in self.grid_moves.items()],
            )

    # -- the run --

    def run(self, path: Path) -> ImportReport:
        ledger = open_ledger(Path(path))
        self.columns = ledger.layout.columns
        self.labels = ledger.layout.labels
        self.today = dt.date.today()
        self._category_cache: dict[str, tuple] = {}
        report = self.report
        with transaction.atomic():
            self._prepare()
            bulk = self._is_bulk_load(Path(path))
            with indexes_deferred(BULK_MODELS) if bulk else nullcontext():
                self._load(ledger)
            if bulk and self.writing:
                analyze(BULK_MODELS)
            if self.progress is not None:
                self.progress(report.rows)
            report.rejected.sort(key=lambda p: p.row)
            report.warnings.sort(key=lambda p: p.row)
            if report.rejected and not self.partial:
                report.imported = report.updated = 0
                transaction.set_rollback(True)
            elif self.dry_run:
                transaction.set_rollback(True)
            else:
                report.written = True
        return report

    def _is_bulk_load(self, path: Path) -> bool:
        """A file about as large as the ledger already held loads faster with indexes built afterwards."""
        if self.dry_run:
            return False
        estimated_rows = path.stat().st_size // BYTES_PER_ROW
        return estimated_rows >= BULK_MIN_ROWS and estimated_rows >= Resident.objects.count()

    def _load(self, ledger) -> None:
        """Stream, clean and write every row (inside the run's transaction)."""
        report = self.report
        chunk: list[_Row] = []
        for number, cells in ledger.rows:
            if is_blank(cells) or is_footer(cells):
                continue
            report.rows += 1
            row = self._clean_row(number, cells)
            if row is not None and not self._duplicate(row):
                chunk.append(row)
            if len(chunk) >= self.chunk_size:
                self._flush(chunk)
                chunk = []
            if self.progress is not None and report.rows % PROGRESS_EVERY == 0:
                self.progress(report.rows)
        self._flush(chunk)
        if self.writing:
            with connection.cursor() as cursor:
                if self.new_places:
                    cursor.executemany(self.place_sql, self.new_places)
            self._apply_grid_moves()
            self._apply_late_merges()
            self._flush_audit()

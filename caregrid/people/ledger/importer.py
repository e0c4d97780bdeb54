"""The ledger import engine: streams a file, validates every row with the shared validators, creates
the places it names, and upserts residents by ID number with bulk statements in one transaction.

Speed matters (a district is a million rows), so the hot loop works on tuples and dicts: validators
are memoised per distinct value, places are cached by (parent, kind, name) and created in bulk with
ids allocated up front (their materialised path needs the id), residents are looked up by ID number
one chunk at a time and written with wide multi-row INSERTs through Django's connection.

Large files run as a pipeline on two processes: a forked child reads the file and does the per-row
cleaning (`cleaning._Cleaner`), sending plain tuples back in chunks, while this process merges
duplicates and writes. Households are found or created where the place ids can be taken: in the
child on SQLite (this transaction holds the write lock, so ids are counted up), here on PostgreSQL
(its sequence). Small files are cleaned in-process by the same code, so every path gives the same
report. A file about as large as the ledger loads with its secondary indexes dropped and built
afterwards (people/bulk.py).
"""

import datetime as dt
import gc
import os
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import _request_context
from caregrid.accounts.models import AuditEvent
from caregrid.people.bulk import IdAllocator, RowInserter, analyze, indexes_deferred
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.people.validation import (
    CategoryIndex,
    FieldProblem,
    phone_tail,
)
from caregrid.places.models import Place, PlaceKind

from .cleaning import (
    GIVEN_CONTACT,
    GIVEN_EPHONE,
    GIVEN_NOTE,
    GIVEN_PHONE,
    R_CATEGORIES,
    R_GIVEN,
    R_HOUSEHOLD,
    R_KEY,
    R_NUMBER,
    R_PROBLEMS,
    R_VALUES,
    V_BIRTH,
    V_CONTACT,
    V_EPHONE,
    V_GENDER,
    V_ID,
    V_NAME,
    V_NOTE,
    V_PHONE,
    _cleaned_chunks,
    _Cleaner,
    _phone,
    _piped_chunks,
)
from .reader import open_ledger

CHUNK_SIZE = 5000
PROGRESS_EVERY = 5000
# Loads of at least this many rows (estimated from the file size) into a smaller ledger defer indexes.
BULK_MIN_ROWS = 50_000
BYTES_PER_ROW = 90
BULK_MODELS = (Place, Resident, ResidentCategory)
# Files of at least this many rows (estimated from the file size) are cleaned in a child process.
PIPELINE_MIN_ROWS = 20_000
PIPE_CHUNK_ROWS = 4000  # cleaned rows per message from the child
BULK_CACHE_KIB = 262_144  # SQLite page cache during a bulk load


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
# Fields an import may change on an existing resident.
UPDATABLE = ("name", "phone", "household_id", "emergency_contact", "emergency_phone", "note")


class _Row:
    """One accepted row on its way to the database."""

    __slots__ = ("number", "key", "rec", "categories", "household", "pk", "merged")

    def __init__(self, rec: tuple, household: tuple):
        self.number = rec[R_NUMBER]
        self.key = rec[R_KEY]
        self.rec = rec
        self.categories = rec[R_CATEGORIES]  # tuple of category ids, or None when the file says nothing
        self.household = household  # place tuple
        self.pk = None
        self.merged = None  # the values once a duplicate row was merged into this one

    @property
    def id_number(self) -> str:
        return self.rec[R_VALUES][V_ID]

    @property
    def values(self) -> dict:
        """The UPDATABLE fields given by the file (blank cells absent)."""
        if self.merged is not None:
            return self.merged
        given = self.rec[R_GIVEN]
        row = self.rec[R_VALUES]
        values = {"name": row[V_NAME]}
        if given & GIVEN_PHONE:
            values["phone"] = row[V_PHONE]
        if given & GIVEN_CONTACT:
            values["emergency_contact"] = row[V_CONTACT]
        if given & GIVEN_NOTE:
            values["note"] = row[V_NOTE]
        if given & GIVEN_EPHONE:
            values["emergency_phone"] = row[V_EPHONE]
        return values


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
        pipeline: bool | None = None,
    ):
        self.actor = actor
        self.into = into
        self.partial = partial
        self.dry_run = dry_run
        self.scope_paths = scope_paths
        self.progress = progress
        self.chunk_size = chunk_size
        self.pipeline = pipeline  # clean in a child process; None: when the file is large
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
        self.uppers: dict[tuple, tuple] = {}  # (compound, building, unit, grid name) → (grid, parent of households)
        self.households: dict[tuple, PlaceRec] = {}  # address → household (see _household_of)
        self.new_places: list = []  # the values of the places to insert, flat (see RowInserter)
        self.grid_moves: dict[int, PlaceRec] = {}  # existing household id → new grid
        # A ledger into an empty table needs no lookups of existing residents.
        self.table_empty = not Resident.objects.exists()
        self.seen: dict[int, object] = {}  # ID key → pending _Row, or packed (row << 33 | existed << 32 | pk)
        self.late_merges: list[tuple[int, _Row]] = []
        self.writing = True
        self.audit_rows: list[AuditEvent] = []
        self.place_insert = RowInserter(Place, PLACE_COLUMNS, 50)
        self.resident_insert = RowInserter(Resident, RESIDENT_COLUMNS, 50)
        # A new link is open-ended and plain: only the resident and the category vary.
        self.link_insert = RowInserter(
            ResidentCategory, LINK_COLUMNS, 200, constants={"since": "NULL", "until": "NULL", "note": "''"}
        )

    # -- places --

    def _place(self, parent: PlaceRec, kind: str, name: str, grid: PlaceRec | None) -> PlaceRec:
        key = (parent[0], kind, name)
        rec = self.places.get(key)
        if rec is not None:
            return rec
        pk = self.place_ids.take_one()
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
        self.new_places.extend(
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

    def _household(self, upper: tuple[str, str, str, str], room: str) -> PlaceRec:
        # Grids, compounds, buildings and units never change once found, so the household's parent is
        # cached by the whole (compound, building, unit, grid name).
        found = self.uppers.get(upper)
        if found is None:
            compound_name, building, unit, grid_name = upper
            grid = self._grid(grid_name) if grid_name else None
            compound = self._place(self.community_rec, PlaceKind.COMPOUND, compound_name, None)
            parent = self._place(compound, PlaceKind.BUILDING, building, grid)
            if unit:
                parent = self._place(parent, PlaceKind.UNIT, unit, grid)
            found = self.uppers[upper] = (grid, parent)
        grid, parent = found
        household = self._place(parent, PlaceKind.HOUSEHOLD, room, grid)
        if grid is not None and household[3] != grid[0]:
            # The file moves an existing household to another grid (a compound may span two).
            household = (household[0], household[1], household[2], grid[0], grid[1])
            self.places[(parent[0], PlaceKind.HOUSEHOLD, room)] = household
            self.grid_moves[household[0]] = household
        return household

    def _household_of(self, address: tuple) -> PlaceRec:
        """The household of an address ((compound, building, unit, grid name), room), found or
        created once. Once the file has moved a household to another grid, rows of one address may
        disagree about its grid; from then on every row settles its own (the last one wins)."""
        if not self.grid_moves:
            found = self.households.get(address)
            if found is not None:
                return found
        found = self.households[address] = self._household(*address)
        return found

    def _places_found(self) -> list:
        """In the reading child: the places created since the last call, flat, for the parent to write."""
        places, self.new_places = self.new_places, []
        return places

    def _places_summary(self) -> dict:
        """In the reading child, at the end: what the parent reports and applies of its places."""
        return {"places_created": self.report.places_created, "grid_moves": self.grid_moves}

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

    def _merge_into(self, first: _Row, later: _Row) -> None:
        values = first.values
        for f, v in later.values.items():
            values.setdefault(f, v)
        first.merged = values
        if later.categories:
            merged = list(first.categories or ())
            merged += [c for c in later.categories if c not in merged]
            first.categories = tuple(merged)

    def _duplicate_of(self, row: _Row, seen) -> None:
        """Merge a later row for an ID already seen into the first one."""
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

    # -- writing --

    def _existing(self, rows: list[_Row]) -> dict[str, tuple]:
        if self.table_empty:
            return {}
        numbers = [r.id_number for r in rows]
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
        seen = self.seen
        if not self.writing:
            for row in rows:
                seen[row.key] = (row.number << 33) | 0
            return
        with connection.cursor() as cursor:
            if self.new_places:
                self.place_insert.write(cursor, self.new_places)
                self.new_places = []
            existing = self._existing(rows)
            new_rows = [r for r in rows if r.id_number not in existing] if existing else rows
            pks = self.resident_ids.take(len(new_rows))
            inserts, links = [], []
            insert, link = inserts.extend, links.extend
            district_id = self.district_id
            for row, pk in zip(new_rows, pks, strict=True):
                row.pk = pk
                seen[row.key] = (row.number << 33) | pk
                h = row.household
                cats = row.categories
                insert((pk, district_id, h[0], h[1], h[4]))
                insert(row.rec[R_VALUES] if row.merged is None else self._merged_values(row))
                if cats:
                    for c in cats:
                        link((pk, c))
            if inserts:
                self.resident_insert.write(cursor, inserts)
                self.report.imported += len(new_rows)
            if existing:
                updated = [r for r in rows if r.id_number in existing]
                if updated:
                    self._update(cursor, updated, existing, links)
                    for row in updated:
                        seen[row.key] = (row.number << 33) | (1 << 32) | row.pk
            if links:
                self.link_insert.write(cursor, links)

    def _merged_values(self, row: _Row) -> tuple:
        """The resident's columns from id_number on for a row that duplicates merged into."""
        rec, v = row.rec[R_VALUES], row.merged
        phone = v.get("phone", "")
        valid = phone == "" or _phone(phone)[1]
        now = self.db_now
        return (
            rec[V_ID],
            v["name"],
            rec[V_GENDER],
            rec[V_BIRTH],
            phone,
            valid,
            phone_tail(phone, valid),
            v.get("emergency_contact", ""),
            v.get("emergency_phone", ""),
            v.get("note", ""),
            bool(row.categories),
            now,
            now,
            1,
        )

    def _update(self, cursor, rows: list[_Row], existing: dict, links: list) -> None:
        qn = connection.ops.quote_name
        updates, deletes = [], []
        for row in rows:
            pk, name, phone, household_id, e_contact, e_phone, note, place_path, phone_valid, cats = existing[
                row.id_number
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
                for c in new_cats:
                    if c not in cats:
                        links.extend((pk, c))
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
        report = self.report
        with transaction.atomic():
            self._prepare()
            bulk = self._is_bulk_load(Path(path))
            deferred = indexes_deferred(BULK_MODELS, unique=self.table_empty) if bulk else nullcontext()
            with deferred, self._large_cache(bulk):
                self._load(ledger, self._use_pipeline(Path(path)))
            if self.writing:
                # With the indexes back: these find their rows one by one.
                self._apply_grid_moves()
                self._apply_late_merges()
                self._flush_audit()
                if bulk:
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

    @contextmanager
    def _large_cache(self, bulk: bool):
        """SQLite's page cache sized for a bulk load: the unique indexes grow at random places, and
        once they outgrow the cache every insert reads pages back."""
        if not bulk or connection.vendor != "sqlite" or not BULK_CACHE_KIB:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (before,) = cursor.fetchone()
            cursor.execute(f"PRAGMA cache_size = -{int(BULK_CACHE_KIB)}")
            try:
                yield
            finally:
                cursor.execute(f"PRAGMA cache_size = {int(before)}")

    def _is_bulk_load(self, path: Path) -> bool:
        """A file about as large as the ledger already held loads faster with indexes built afterwards."""
        if self.dry_run:
            return False
        estimated_rows = path.stat().st_size // BYTES_PER_ROW
        return estimated_rows >= BULK_MIN_ROWS and estimated_rows >= Resident.objects.count()

    def _use_pipeline(self, path: Path) -> bool:
        """Large files are read and cleaned in a child process while this one writes; small ones are not
        worth the process start-up."""
        if self.pipeline is not None:
            return self.pipeline
        return hasattr(os, "fork") and path.stat().st_size // BYTES_PER_ROW >= PIPELINE_MIN_ROWS

    def _load(self, ledger, piped: bool = False) -> None:
        """Stream, clean and write every row (inside the run's transaction)."""
        if not piped:
            cleaner = _Cleaner(self.columns, self.categories, self.today, self.db_now, self._household_of)
            chunks = _cleaned_chunks(cleaner, ledger.rows, PIPE_CHUNK_ROWS)
        elif connection.vendor == "sqlite":
            # The run's transaction holds SQLite's write lock, so place ids are counted up from the
            # high-water mark: the reading child can find and create the households itself (a fair
            # share of the per-row work) and send the new places along with each chunk.
            self.place_ids.prime()
            cleaner = _Cleaner(self.columns, self.categories, self.today, self.db_now, self._household_of)
            chunks = _piped_chunks(
                cleaner, ledger.rows, PIPE_CHUNK_ROWS, attach=self._places_found, finish=self._places_summary
            )
        else:  # PostgreSQL hands out ids through its sequence, which only this process can reach
            cleaner = _Cleaner(self.columns, self.categories, self.today, self.db_now)
            chunks = _piped_chunks(cleaner, ledger.rows, PIPE_CHUNK_ROWS)
        # The loop keeps millions of small objects alive (places, seen IDs) and makes next to no
        # cycles; the cyclic collector would rescan them over and over as they pile up.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._load_rows(chunks)
        finally:
            chunks.close()
            if gc_was_enabled:
                gc.enable()

    def _load_rows(self, chunks) -> None:
        """Duplicates and writes for the cleaned rows, in file order."""
        report = self.report
        progress = self.progress
        seen = self.seen
        household_of = self._household_of
        chunk: list[_Row] = []
        for message in chunks:
            if type(message) is dict:  # the reading child's summary of the places (_places_summary)
                report.places_created = message["places_created"]
                self.grid_moves.update(message["grid_moves"])
                continue
            if type(message) is tuple:  # a chunk with the places the reading child created for it
                results, places = message
                self.new_places += places
            else:
                results = message
            for rec in results:
                if len(rec) == 2:  # rejected
                    for column_field, code, text in rec[R_PROBLEMS]:
                        self._reject(rec[R_NUMBER], column_field, None, code, text)
                    continue
                if rec[R_PROBLEMS] is not None:
                    for column_field, code, text in rec[R_PROBLEMS]:
                        self._warn(rec[R_NUMBER], column_field, code, text)
                household = rec[R_HOUSEHOLD]
                row = _Row(rec, household_of(household) if len(household) == 2 else household)
                first = seen.setdefault(row.key, row)
                if first is row:
                    chunk.append(row)
                    if len(chunk) >= self.chunk_size:
                        self._flush(chunk)
                        chunk = []
                else:
                    self._duplicate_of(row, first)
            before = report.rows
            report.rows += len(results)
            if progress is not None and report.rows // PROGRESS_EVERY > before // PROGRESS_EVERY:
                progress(report.rows)
        self._flush(chunk)
        if self.writing and self.new_places:
            with connection.cursor() as cursor:
                self.place_insert.write(cursor, self.new_places)
            self.new_places = []

"""The per-row stage of the ledger import: ID numbers, names, phones, categories and addresses
cleaned with the shared validators into plain tuples, in this process or in a forked child that
reads and cleans a large file while the importer writes (see importer.py). It touches no database:
where the importer lets it, it finds households through the importer's own place cache."""

import datetime as dt
import gc
import multiprocessing
import os
import pickle
import re
import signal
import traceback
from contextlib import suppress
from functools import lru_cache

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None

from django.db import connection
from django.utils.translation import gettext as _
from stdnum.cn.ric import calc_check_digit

from caregrid.people.validation import (
    CategoryIndex,
    FieldProblem,
    _region_known,
    clean_name,
    clean_phone,
    clean_text,
    parse_id_number,
    phone_problem,
    phone_tail,
)

from .reader import FOOTER_FIRST, HEADER_ALIASES, is_blank, is_footer

PIPE_POLL_SECONDS = 1.0
CHILD_STALL_SECONDS = 300  # a child that sends nothing for this long is taken to hang
HEADER_FIELDS = tuple(HEADER_ALIASES)


# --- memoised cleaning (same validators as the forms and API, run once per distinct value) ---


@lru_cache(maxsize=200_000)
def _name(value: str) -> str | FieldProblem:
    try:
        return clean_name(value)
    except FieldProblem as p:
        return p


def _is_plain_mobile(value) -> bool:
    """What clean_phone keeps as it is and calls valid, told without its regexes."""
    return (
        type(value) is str
        and len(value) == 11
        and value.isascii()
        and value.isdigit()
        and value[0] == "1"
        and value[1] in "3456789"
    )


def _phone(value) -> tuple[str, bool]:
    if _is_plain_mobile(value):
        return value, True
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


@lru_cache(maxsize=20_000)
def _compound_part(value: str) -> str:
    return _text(value)


@lru_cache(maxsize=20_000)
def _building_part(value: str) -> str:
    return building_name(_text(value).replace(" ", ""))


@lru_cache(maxsize=20_000)
def _unit_part(value: str) -> str:
    return unit_name(_text(value).replace(" ", ""))


@lru_cache(maxsize=50_000)
def _room_part(value: str) -> str:
    return room_name(_text(value).replace(" ", ""))


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


# A cleaned row as the cleaning stage hands it on (a plain tuple: cheap to build, pickle and index).
# Rejected rows are (number, rejects). Accepted rows carry at R_HOUSEHOLD either their address,
# ((compound, building, unit, grid name), room), or, when the cleaner was given the importer's
# `resolve`, the household place it names (see importer.PlaceRec). R_VALUES holds the resident's
# columns from id_number on, in insert order; `R_GIVEN` is a bit mask of the optional fields given.
R_NUMBER, R_PROBLEMS, R_KEY, R_HOUSEHOLD, R_CATEGORIES, R_GIVEN, R_VALUES = range(7)
V_ID, V_NAME, V_GENDER, V_BIRTH, V_PHONE, V_VALID, V_TAIL, V_CONTACT, V_EPHONE, V_NOTE = range(10)
GIVEN_PHONE, GIVEN_CONTACT, GIVEN_NOTE, GIVEN_EPHONE = 1, 2, 4, 8


def _tail(phone: str, valid: bool) -> str:
    if phone.isascii() and phone.isdigit():
        return phone[-4:] if valid and len(phone) >= 4 else ""
    return phone_tail(phone, valid)


_CELL_ABSENT = 1 << 30  # column index of a field the file lacks (never < len(cells))


class _Cleaner:
    """The per-row work that needs no database: ID numbers, names, phones, categories and addresses
    cleaned with the shared validators, so it may run in another process; its results are plain
    tuples (see R_*). Given `resolve` (the importer's place cache), it also names each household."""

    def __init__(self, columns: dict[str, int], categories: CategoryIndex, today: dt.date, now, resolve=None):
        self.columns = columns
        self.categories = categories
        self.today = today
        self.now = now  # created_at and updated_at of a new resident, as the database takes it
        self.resolve = resolve  # address → household place, where the places are at hand
        self.category_cache: dict[str, tuple] = {}
        self.uppers: dict[tuple, tuple] = {}
        self.adapt_date = connection.ops.adapt_datefield_value
        self.births: dict[str, object] = {}  # YYYYMMDD → birth date as the database takes it, or ""
        at = {f: columns.get(f, _CELL_ABSENT) for f in HEADER_FIELDS}
        self.at = at
        self.has_room = "room" in columns
        self.has_grid = "grid" in columns

    def clean(self, number: int, cells: list) -> tuple:
        at = self.at
        width = len(cells)
        rejects = []

        # ID number: the plain 18-character case checked inline, anything else by parse_id_number.
        i = at["id_number"]
        raw_id = cells[i] if i < width else None
        facts = None
        if type(raw_id) is str and len(raw_id) == 18 and raw_id.isascii() and raw_id[:17].isdigit():
            last = raw_id[17]
            if last == "x":
                raw_id = raw_id.upper()
                last = "X"
            if (last == "X" or last.isdigit()) and last == calc_check_digit(raw_id):
                birth = self.births.get(raw_id[6:14])
                if birth is None:
                    birth = self.births[raw_id[6:14]] = self._birth(raw_id)
                if birth and _region_known(raw_id[:6]):
                    facts = (raw_id, "M" if int(raw_id[16]) % 2 else "F", birth)
        if facts is None:
            try:
                f = parse_id_number(raw_id if type(raw_id) is str else _cell(raw_id), today=self.today)
                facts = (f.number, f.gender, self.adapt_date(f.birth_date))
            except FieldProblem as p:
                rejects.append(("id_number", p.code, p.message))

        i = at["name"]
        v = cells[i] if i < width else None
        name = _name(v.strip() if type(v) is str else _cell(v))
        if type(name) is not str:
            rejects.append(("name", name.code, name.message))

        # Address in columns: the common complete case from memoised parts.
        address = None
        if self.has_room:
            i = at["compound"]
            v = cells[i] if i < width else None
            compound = _compound_part(v.strip() if type(v) is str else _cell(v))
            i = at["building"]
            v = cells[i] if i < width else None
            building = _building_part(v.strip() if type(v) is str else _cell(v))
            i = at["room"]
            v = cells[i] if i < width else None
            room = _room_part(v.strip() if type(v) is str else _cell(v))
            if compound and building and room:
                i = at["unit"]
                v = cells[i] if i < width else None
                address = (compound, building, _unit_part(v.strip() if type(v) is str else _cell(v)), room)
        if address is None:
            address, problem = self._address(cells)
            if problem is not None:
                rejects.append(problem)
        if rejects:
            return (number, tuple(rejects))

        warnings = []
        given = 0
        phone, valid, tail = "", True, ""
        i = at["phone"]
        v = cells[i] if i < width else None
        if v not in (None, ""):
            if type(v) is str and len(v) == 11 and v.isascii() and v.isdigit() and v[0] == "1" and v[1] in "3456789":
                phone, tail = v, v[-4:]  # the usual plain mobile number (see _is_plain_mobile)
                given |= GIVEN_PHONE
            else:
                cleaned, cleaned_valid = clean_phone(v)
                if cleaned:
                    phone, valid = cleaned, cleaned_valid
                    tail = _tail(phone, valid)
                    given |= GIVEN_PHONE
                    if not valid:
                        p = phone_problem(cleaned)
                        warnings.append(("phone", p.code, p.message))
        contact = ""
        i = at["emergency_contact"]
        v = cells[i] if i < width else None
        if v is not None:
            v = v.strip() if type(v) is str else _cell(v)
            if v:
                contact = _text(v)[:50]
                given |= GIVEN_CONTACT
        note = ""
        i = at["note"]
        v = cells[i] if i < width else None
        if v is not None:
            v = v.strip() if type(v) is str else _cell(v)
            if v:
                note = v
                given |= GIVEN_NOTE
        e_phone = ""
        i = at["emergency_phone"]
        v = cells[i] if i < width else None
        if v not in (None, ""):
            cleaned, e_valid = _phone(v)
            if cleaned:
                e_phone = cleaned
                given |= GIVEN_EPHONE
                if not e_valid:
                    warnings.append(
                        (
                            "emergency_phone",
                            "phone_invalid",
                            _("紧急联系电话“%(value)s”无效，已原样保留") % {"value": cleaned},
                        )
                    )
        categories = None
        i = at["categories"]
        v = cells[i] if i < width else None
        if v is not None:
            raw_categories = v.strip() if type(v) is str else _cell(v)
            if raw_categories:
                cached = self.category_cache.get(raw_categories)
                found, unknown = cached if cached is not None else self._categories(raw_categories)
                for part in unknown:
                    warnings.append(
                        (
                            "categories",
                            "category_unknown",
                            _("人员类别“%(name)s”不在类别表中，已忽略；请核对或先在类别表中添加") % {"name": part},
                        )
                    )
                if found or not unknown:
                    categories = found
        if self.has_grid:
            i = at["grid"]
            v = cells[i] if i < width else None
            grid_name = _text(v.strip() if type(v) is str else _cell(v)) if v is not None else ""
        else:
            grid_name = ""
        upper = (address[0], address[1], address[2], grid_name)
        upper = self.uppers.setdefault(upper, upper)  # one shared tuple per unit (smaller to pickle)
        household = (upper, address[3]) if self.resolve is None else self.resolve((upper, address[3]))
        now = self.now
        id_number, gender, birth = facts
        key = int(id_number[:17]) * 11 + (10 if id_number[17] == "X" else int(id_number[17]))
        return (
            number,
            tuple(warnings) if warnings else None,
            key,
            household,
            categories,
            given,
            (
                id_number,
                name,
                gender,
                birth,
                phone,
                valid,
                tail,
                contact,
                e_phone,
                note,
                bool(categories),
                now,
                now,
                1,
            ),
        )

    def _birth(self, raw_id: str):
        """The birth date of an 18-digit ID as the database takes it, or "" when parse_id_number would
        refuse it (then it explains why); ID numbers share their dates, so each is worked out once."""
        try:
            birth = dt.date(int(raw_id[6:10]), int(raw_id[10:12]), int(raw_id[12:14]))
        except ValueError:
            return ""
        if birth > self.today or birth.year < 1890:
            return ""
        return self.adapt_date(birth)

    def _categories(self, raw: str) -> tuple[tuple[int, ...], list[str]]:
        cached = self.category_cache.get(raw)
        if cached is None:
            found, unknown = self.categories.resolve_all(raw)
            cached = (tuple(c.pk for c in found), unknown)
            self.category_cache[raw] = cached
        return cached

    def _address(self, cells: list) -> tuple[tuple[str, str, str, str] | None, tuple | None]:
        """(address, None) or (None, the reject as (field, code, message))."""
        width = len(cells)
        at = self.at

        def get(f):
            i = at[f]
            return cells[i] if i < width else None

        cols = self.columns
        if "room" in cols:
            compound = _text(_cell(get("compound")))
            building = _text(_cell(get("building"))).replace(" ", "")
            unit = _text(_cell(get("unit"))).replace(" ", "")
            room = _text(_cell(get("room"))).replace(" ", "")
            if compound and building and room:
                return (compound, building_name(building), unit_name(unit), room_name(room)), None
            if not room and "address" in cols and _cell(get("address")):
                pass  # fall through to the one-column address
            else:
                missing = next(f for f, v in (("compound", compound), ("building", building), ("room", room)) if not v)
                label = {"compound": _("小区"), "building": _("楼栋"), "room": _("房号")}[missing]
                return None, (missing, "address_missing", _("住址不完整：%(part)s不能为空") % {"part": label})
        text = _cell(get("address"))
        if not text:
            return None, ("address", "address_missing", _("住址不能为空"))
        parsed = parse_address(text)
        if parsed is None:
            return None, (
                "address",
                "address_invalid",
                _("无法识别住址“%(value)s”：应写成“小区+楼栋+单元+房号”，如“紫东花苑3幢2单元302室”")
                % {"value": text[:60]},
            )
        return parsed, None


def _cleaned_chunks(cleaner: _Cleaner, rows, size: int):
    """Clean the data rows (blank and footer rows left out), `size` results at a time."""
    clean = cleaner.clean
    batch = []
    for number, cells in rows:
        # is_blank and is_footer in one pass for the usual row, whose first cell is text (序号 or
        # the name): not blank, and a footer only if that text starts like one.
        first = cells[0] if cells else None
        usual = type(first) is str and first and first[0] not in FOOTER_FIRST and not first[0].isspace()
        if not usual and (is_blank(cells) or is_footer(cells)):
            continue
        batch.append(clean(number, cells))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _ChildFailed(RuntimeError):
    pass


PIPE_BYTES = 1 << 20


def _widen(connection_end) -> None:
    """Let the pipe hold more than one message, so that the child runs ahead while the parent writes
    (by default it holds 64 KiB and a chunk is several times that). Linux only; elsewhere as is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with suppress(OSError):  # capped by /proc/sys/fs/pipe-max-size
        fcntl.fcntl(connection_end.fileno(), set_size, PIPE_BYTES)


def _piped_chunks(cleaner: _Cleaner, rows, size: int, attach=None, finish=None):
    """The same chunks as `_cleaned_chunks`, read and cleaned by a forked child process so that the
    parent can spend its time on writes. The child never touches the database; it sends pickled
    chunks through a pipe, then an empty message; an exception in it is sent over and raised here,
    and a child that dies or stalls raises too. With `attach`, each chunk travels as (chunk,
    attach()); with `finish`, finish() is the last message. Both are called in the child."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    _widen(sender)
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        gc.disable()  # as in the parent's loop; the child ends with os._exit
        try:
            receiver.close()
            for batch in _cleaned_chunks(cleaner, rows, size):
                message = batch if attach is None else (batch, attach())
                sender.send_bytes(b"R" + pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
            if finish is not None:
                sender.send_bytes(b"R" + pickle.dumps(finish(), pickle.HIGHEST_PROTOCOL))
            sender.send_bytes(b"")
            code = 0
        except BaseException as e:  # noqa: BLE001 - every failure goes to the parent
            try:
                payload = pickle.dumps(e, pickle.HIGHEST_PROTOCOL)
                pickle.loads(payload)  # noqa: S301 - our own bytes
            except Exception:  # noqa: BLE001
                payload = pickle.dumps(_ChildFailed(traceback.format_exc()[-4000:]))
            with suppress(Exception):  # else the parent sees the pipe close
                sender.send_bytes(b"E" + payload)
        finally:
            os._exit(code)
    sender.close()
    exited = False
    try:
        while True:
            waited = 0.0
            while not receiver.poll(PIPE_POLL_SECONDS):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    exited = True
                    if receiver.poll(0):
                        break
                    raise _ChildFailed("the reading process ended without finishing the file")
                waited += PIPE_POLL_SECONDS
                if waited >= CHILD_STALL_SECONDS:
                    raise _ChildFailed(f"the reading process sent nothing for {CHILD_STALL_SECONDS} s")
            try:
                message = receiver.recv_bytes()
            except EOFError:
                raise _ChildFailed("the reading process ended without finishing the file") from None
            if not message:
                break
            if message[:1] == b"E":
                raise pickle.loads(memoryview(message)[1:])  # noqa: S301 - from our own child
            yield pickle.loads(memoryview(message)[1:])  # noqa: S301
    finally:
        receiver.close()
        if not exited and os.waitpid(pid, os.WNOHANG)[0] != pid:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

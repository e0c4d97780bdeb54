"""Bulk loading helpers shared by the ledger import and the synthetic district: ids taken before the
insert, wide multi-row INSERTs, secondary indexes built once after a large load instead of row by
row, sequences and planner statistics kept right."""

from contextlib import contextmanager
from typing import NamedTuple

from django.core.management.color import no_style
from django.db import connection


class IdAllocator:
    """Hands out primary keys before the insert (a place's path holds its id; links need the
    resident's). On SQLite the load's transaction holds the write lock, so counting up from the
    table's high-water mark is safe; PostgreSQL draws from the sequence in blocks."""

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

    def prime(self) -> None:
        """On SQLite, read the high-water mark now, so that taking ids needs the database no more."""
        if self.vendor != "postgresql" and self.next is None:
            self.next = self.take(1)[0]

    def take_one(self) -> int:
        if self.next is not None and self.vendor != "postgresql":
            self.next += 1
            return self.next - 1
        return self.take(1)[0]


class RowInserter:
    """Writes one table's rows, given as one flat list of values, with multi-row INSERT statements:
    each statement carries its own fixed cost (on SQLite the AUTOINCREMENT bookkeeping among it), so
    fewer, wider statements cost less per row.

    On SQLite the statements say OR FAIL: a multi-row INSERT that may abort keeps a statement journal
    of every page it touches, to undo its own earlier rows. For a bulk load a failed row fails the
    whole load (the error leaves its transaction, which rolls back), so that undo is never needed."""

    def __init__(self, model, columns: list[str], rows_per_statement: int, constants: dict[str, str] | None = None):
        qn = connection.ops.quote_name
        verb = "INSERT OR FAIL" if connection.vendor == "sqlite" else "INSERT"
        constants = constants or {}  # column → SQL literal, the same for every row (not among the values)
        self.width = len(columns) - len(constants)
        self.row = f"({', '.join(constants.get(c, '%s') for c in columns)})"
        self.head = f"{verb} INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) VALUES "
        self.rows_per_statement = rows_per_statement
        self.sql = self.head + ", ".join([self.row] * rows_per_statement)

    def write(self, cursor, values: list) -> None:
        step = self.rows_per_statement * self.width
        full = len(values) - len(values) % step
        if full:
            cursor.executemany(self.sql, [values[i : i + step] for i in range(0, full, step)])
        if full < len(values):
            rest = values[full:]
            cursor.execute(self.head + ", ".join([self.row] * (len(rest) // self.width)), rest)


class SecondaryIndex(NamedTuple):
    kind: str  # "index", or "constraint" for a PostgreSQL unique constraint
    table: str
    name: str
    definition: str  # the statement that builds it, as the database itself states it


def secondary_indexes(models, *, unique: bool = False) -> list[SecondaryIndex]:
    """The tables' indexes that can be dropped and built again from the database's own definition.

    Every index not part of a table's own definition qualifies: Meta.indexes, foreign-key indexes and,
    with `unique`, PostgreSQL's unique constraints (their lookups are lost meanwhile, so only a load
    that looks nothing up may drop them). SQLite keeps a unique constraint inside its CREATE TABLE (an
    automatic index nobody can drop), so there `unique` changes nothing."""
    tables = [model._meta.db_table for model in models]
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
                f"AND tbl_name IN ({', '.join(['%s'] * len(tables))}) ORDER BY tbl_name, name",
                tables,
            )
            found = [SecondaryIndex("index", *row) for row in cursor.fetchall()]
        elif connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT EXISTS ("
                    "  SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid"
                    ") ORDER BY i.relname",
                    [table],
                )
                found += [SecondaryIndex("index", table, name, sql) for name, sql in cursor.fetchall()]
                if unique:
                    cursor.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname",
                        [table],
                    )
                    qn = connection.ops.quote_name
                    found += [
                        SecondaryIndex(
                            "constraint", table, name, f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
                        )
                        for name, definition in cursor.fetchall()
                    ]
    return found


@contextmanager
def indexes_deferred(models, *, unique: bool = False):
    """Drop the models' secondary indexes (see `secondary_indexes`) and build them again on exit from
    the very definitions the database held, so the schema comes back identical. Use inside the load's
    transaction: DDL is transactional on SQLite and PostgreSQL, so a failed load leaves the indexes as
    they were."""
    saved = secondary_indexes(models, unique=unique)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if any(index.kind == "constraint" for index in saved):
            connection.check_constraints()  # PostgreSQL alters no table while deferred checks are pending
        for index in saved:
            if index.kind == "constraint":
                cursor.execute(f"ALTER TABLE {qn(index.table)} DROP CONSTRAINT {qn(index.name)}")
            else:
                cursor.execute(f"DROP INDEX {qn(index.name)}")
        yield
        if connection.vendor == "postgresql":
            connection.check_constraints()  # PostgreSQL builds no index while deferred checks are pending
        with sorting_in_runs(cursor):
            for index in saved:
                cursor.execute(index.definition)


SORT_CACHE_KIB = 2048


@contextmanager
def sorting_in_runs(cursor):
    """SQLite builds an index by sorting its keys. With temporary storage in memory it sorts them all
    as one list of separately allocated records; with temporary files it fills runs as large as the
    page cache in one block, sorts each and merges them. Runs of a couple of MiB stay in the
    processor's caches: the indexes of a large load build in about half the time. Both settings are
    put back afterwards. SQLite refuses to switch the temporary storage inside a transaction once
    the connection has opened its temporary database (a migration does); then it sorts as before."""
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA database_list")
    if any(name == "temp" for _seq, name, _file in cursor.fetchall()):
        yield
        return
    cursor.execute("PRAGMA temp_store")
    (temp_store,) = cursor.fetchone()
    cursor.execute("PRAGMA cache_size")
    (cache_size,) = cursor.fetchone()
    cursor.execute("PRAGMA temp_store = FILE")
    cursor.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        cursor.execute(f"PRAGMA temp_store = {int(temp_store)}")


def analyze(models) -> None:
    """Fresh planner statistics after a bulk load (SQLite samples, so this takes a moment only)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=2000")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def reset_sequences(models) -> None:
    """After inserting rows with ids chosen by the loader, move the id sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

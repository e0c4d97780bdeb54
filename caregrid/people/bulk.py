"""Bulk loading helpers shared by the ledger import and the synthetic district: build secondary
indexes once after a large load instead of row by row, keep sequences and planner statistics right."""

from contextlib import contextmanager
from typing import NamedTuple

from django.core.management.color import no_style
from django.db import connection


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
        with _sorting_in_runs(cursor):
            for index in saved:
                cursor.execute(index.definition)


SORT_CACHE_KIB = 2048


@contextmanager
def _sorting_in_runs(cursor):
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

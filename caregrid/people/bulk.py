"""Bulk loading helpers shared by the ledger import and the synthetic district: build secondary
indexes once after a large load instead of row by row, keep sequences and planner statistics right."""

from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import connection


@contextmanager
def indexes_deferred(models):
    """Drop the models' secondary indexes (Meta.indexes; unique constraints stay) and build them again
    on exit. Use inside the load's transaction: DDL is transactional on SQLite and PostgreSQL, so a
    failed load leaves the indexes as they were."""
    editor = connection.schema_editor(atomic=False)
    editor.deferred_sql = []  # only SQL text is asked of it; it is never entered
    indexes = [(model, index) for model in models for index in model._meta.indexes]
    with connection.cursor() as cursor:
        for model, index in indexes:
            cursor.execute(str(index.remove_sql(model, editor)))
        yield
        if connection.vendor == "postgresql":
            connection.check_constraints()  # PostgreSQL builds no index while deferred checks are pending
        for model, index in indexes:
            cursor.execute(str(index.create_sql(model, editor)))


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

"""Keeps the audit log append-only on SQLite: the triggers ask `caregrid_audit_locked()`, which
this module registers on every connection. Outside this process (the sqlite3 shell) the function
does not exist, so the triggers fail and rows stay untouched. Only `audit_maintenance()` opens the
gate, for whole-database maintenance such as resetting a test database."""

from contextlib import contextmanager

from django.db.backends.signals import connection_created

_maintenance = False


def _locked() -> int:
    return 0 if _maintenance else 1


@contextmanager
def audit_maintenance():
    global _maintenance
    _maintenance = True
    try:
        yield
    finally:
        _maintenance = False


def _register(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("caregrid_audit_locked", 0, _locked)


def install() -> None:
    connection_created.connect(_register, dispatch_uid="caregrid_audit_guard")

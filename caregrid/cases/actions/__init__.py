"""Every write to help requests: intake, triage corrections, the workflow, errands, links and the deadline
sweep. Each action is one transaction that writes the request's timeline event and its audit row.

common.py (errors, IntakeData, deadlines, recorded_at, shared helpers), intake.py, workflow.py, errands.py,
deadlines.py.
"""

from .common import (
    AUTO_PLACE_CONFIDENCE,
    DESCRIPTION_MAX,
    DUPLICATE_WINDOW,
    NOTE_MAX,
    CaseError,
    Conflict,
    IntakeData,
    deadlines_for,
    recorded_at,
)
from .deadlines import SweepResult, deadlines_set, sweep_deadlines
from .errands import task_add, task_done
from .intake import case_create, case_retriage, case_set_place, case_unmask, subcategory_create
from .workflow import (
    case_acknowledge,
    case_answer,
    case_cancel,
    case_close,
    case_contact,
    case_coordinate,
    case_dispatch,
    case_link,
    case_note,
    case_reopen,
    case_resolve,
)

__all__ = [
    "AUTO_PLACE_CONFIDENCE",
    "DESCRIPTION_MAX",
    "DUPLICATE_WINDOW",
    "NOTE_MAX",
    "CaseError",
    "Conflict",
    "IntakeData",
    "SweepResult",
    "case_acknowledge",
    "case_answer",
    "case_cancel",
    "case_close",
    "case_contact",
    "case_coordinate",
    "case_create",
    "case_dispatch",
    "case_link",
    "case_note",
    "case_reopen",
    "case_resolve",
    "case_retriage",
    "case_set_place",
    "case_unmask",
    "deadlines_for",
    "deadlines_set",
    "recorded_at",
    "subcategory_create",
    "sweep_deadlines",
    "task_add",
    "task_done",
]

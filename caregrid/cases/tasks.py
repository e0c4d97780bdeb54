"""Background jobs of help requests (run by `caregrid worker`): thin, they call an action."""

from django_tasks import task

from .actions import sweep_deadlines as sweep


@task()
def sweep_deadlines() -> dict:
    """Every minute: escalate requests whose first-contact or resolution deadline has passed."""
    result = sweep()
    return {"checked": result.checked, "escalated": result.escalated, "notified": result.notified}

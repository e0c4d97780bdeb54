"""Writes for contacts (一问一记录): recording a contact, idempotent by the id the phone made for it."""

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.care.models import CareAssignment, CarerRole, Contact, ContactChannel, Reached, Wellbeing
from caregrid.care.policies.daylist import refresh_residents
from caregrid.cases.actions import case_create, task_add
from caregrid.cases.actions.common import CaseError, IntakeData
from caregrid.cases.models import CaseTask, Channel, TaskKind, TaskStatus
from caregrid.cases.taxonomy import CaseCategory, Urgency
from caregrid.people.validation import clean_text

TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=5)
NOTE_MAX = 500


def _clean(*, client_id, at, channel, outcome, wellbeing, needs, temperature, note) -> dict:
    """The contact's values, cleaned, or a ValidationError naming each wrong field in Chinese."""
    errors: dict[str, str] = {}
    values: dict = {}
    try:
        values["client_id"] = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (TypeError, ValueError, AttributeError):
        errors["client_id"] = _("记录编号无效")
    if not isinstance(at, dt.datetime):
        errors["at"] = _("请填写联系时间")
    else:
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if at > timezone.now() + CLOCK_SKEW:
            errors["at"] = _("联系时间不能晚于现在")
        values["at"] = at
    if channel not in ContactChannel.values:
        errors["channel"] = _("联系方式无效")
    if outcome not in Reached.values:
        errors["outcome"] = _("联系结果无效")
    wellbeing = wellbeing or ""
    if wellbeing and wellbeing not in Wellbeing.values:
        errors["wellbeing"] = _("状况无效")
    needs = list(needs or [])
    wrong = [str(n) for n in needs if n not in CaseCategory.values]
    if wrong:
        errors["needs"] = _("需求类别“%(value)s”不存在") % {"value": "、".join(wrong)}
    needs = list(dict.fromkeys(n for n in needs if n in CaseCategory.values))
    if temperature in (None, ""):
        temperature = None
    else:
        try:
            temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
        except (InvalidOperation, ValueError):
            errors["temperature"] = _("体温须是数字")
            temperature = None
        else:
            if not TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX:
                errors["temperature"] = _("体温须在34.0至43.0℃之间")
    note = clean_text(note or "")
    if len(note) > NOTE_MAX:
        errors["note"] = _("备注不能超过%(n)s个字") % {"n": NOTE_MAX}
    if errors:
        raise ValidationError(errors)
    values.update(
        channel=channel, outcome=outcome, wellbeing=wellbeing, needs=needs, temperature=temperature, note=note
    )
    return values


def _stored(actor, client_id) -> Contact | None:
    contact = Contact.objects.filter(client_id=client_id).first()
    if contact is not None and contact.carer_id != actor.pk:
        raise ValidationError({"client_id": _("记录编号已被使用")})
    return contact


def _help_request(*, actor, resident, values: dict):
    """The help request a contact raises: for the first need found, or an urgent one when the resident is
    in urgent need (the category then comes from the note, as on the hotline)."""
    urgent = values["wellbeing"] == Wellbeing.URGENT
    if not values["needs"] and not urgent:
        return None
    labels = "、".join(str(CaseCategory(n).label) for n in values["needs"])
    parts = [_("关爱走访发现需求：%(needs)s") % {"needs": labels} if labels else _("关爱走访发现紧急情况")]
    if values["note"]:
        parts.append(values["note"])
    data = IntakeData(
        channel=Channel.GRID_REPORT,
        description="。".join(parts),
        category=values["needs"][0] if values["needs"] else "",
        urgency=Urgency.URGENT if urgent else "",
        resident=resident,
        caller_name=resident.name,
        caller_phone=resident.phone,
    )
    try:
        return case_create(actor=actor, data=data, district=resident.district)
    except CaseError as e:
        raise ValidationError({"note": e.message}) from e


def _missed_twice(contact: Contact) -> Contact | None:
    """The attempt before a not-reached contact when it was not reached either (any carer), and nobody has
    reached the resident since; None otherwise. A contact sent late from a phone's queue is placed by its time."""
    if contact.outcome != Reached.NOT_REACHED:
        return None
    others = Contact.objects.filter(resident_id=contact.resident_id).exclude(pk=contact.pk)
    before = others.filter(Q(at__lt=contact.at) | Q(at=contact.at, pk__lt=contact.pk)).order_by("-at", "-pk").first()
    if before is None or before.outcome != Reached.NOT_REACHED:
        return None
    if others.filter(at__gt=contact.at, outcome=Reached.REACHED).exists():
        return None
    return before


def _home_visit_open(resident) -> bool:
    """Whether a home visit raised by missed contacts is still open for the resident."""
    raised = Contact.objects.filter(resident=resident, outcome=Reached.NOT_REACHED, help_request__isnull=False).values(
        "help_request_id"
    )
    return CaseTask.objects.filter(request_id__in=raised, kind=TaskKind.HOME_VISIT, status=TaskStatus.OPEN).exists()


def _grid_worker_of(resident, fallback):
    """The resident's active grid-worker carer who has an account, else `fallback` (the contact's carer)."""
    now = timezone.now()
    assignment = (
        CareAssignment.objects.filter(
            resident=resident, role=CarerRole.GRID_WORKER, carer__isnull=False, carer__is_active=True, since__lte=now
        )
        .filter(Q(until__isnull=True) | Q(until__gt=now))
        .select_related("carer")
        .order_by("-since", "-id")
        .first()
    )
    return assignment.carer if assignment is not None else fallback


def _moment(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M")


def _home_visit_for_missed(*, actor, resident, contact: Contact) -> None:
    """Two failed attempts in a row: a help request (照料看护, high urgency) with a home-visit errand for the
    resident's grid worker, linked to the second failed contact. Nothing new while such a visit is open."""
    before = _missed_twice(contact)
    if before is None or _home_visit_open(resident):
        return
    assignee = _grid_worker_of(resident, actor)
    try:
        case = contact.help_request
        if case is None or not case.is_open:
            case = case_create(
                actor=actor,
                data=IntakeData(
                    channel=Channel.GRID_REPORT,
                    description=_("连续两次未联系上%(name)s（%(first)s、%(second)s），需上门查看")
                    % {"name": resident.name, "first": _moment(before.at), "second": _moment(contact.at)},
                    category=CaseCategory.CAREGIVING,
                    urgency=Urgency.HIGH,
                    resident=resident,
                    caller_name=resident.name,
                    caller_phone=resident.phone,
                ),
                district=resident.district,
            )
            contact.help_request = case
            contact.save(update_fields=["help_request"])
        task_add(
            actor=actor,
            case=case,
            kind=TaskKind.HOME_VISIT,
            assignee=assignee,
            detail=_("连续两次未联系上，请上门查看%(name)s的情况") % {"name": resident.name},
        )
    except CaseError as e:
        raise ValidationError({"note": e.message}) from e


def contact_record(
    *,
    actor,
    resident,
    client_id,
    at,
    channel,
    outcome,
    wellbeing="",
    needs=(),
    temperature=None,
    note="",
) -> tuple[Contact, bool]:
    """Record one contact with a resident; returns (contact, created). A resend of the same `client_id` returns
    the stored contact and writes nothing. A need found becomes a help request (网格上报) linked to the
    contact; an urgent wellbeing raises an urgent request.

    Two failed attempts in a row (this contact and the resident's previous one, by any carer, both not
    reached) raise a high-urgency request with a home-visit errand for the resident's grid worker (their
    active grid-worker carer with an account, else the contact's carer), linked to this contact; while that
    visit is open, further failures add nothing. A later reached contact does not close the errand: the
    worker closes it after the visit."""
    try:
        key = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (TypeError, ValueError, AttributeError):
        key = None
    if key is not None:
        stored = _stored(actor, key)
        if stored is not None:
            return stored, False
    values = _clean(
        client_id=client_id,
        at=at,
        channel=channel,
        outcome=outcome,
        wellbeing=wellbeing,
        needs=needs,
        temperature=temperature,
        note=note,
    )
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                **values,
                district_id=resident.district_id,
                resident=resident,
                carer=actor,
                place_path=resident.place_path,
                grid_path=resident.grid_path,
            )
            case = _help_request(actor=actor, resident=resident, values=values)
            if case is not None:
                contact.help_request = case
                contact.save(update_fields=["help_request"])
            audit_record(
                actor=actor,
                action="care.contact_record",
                obj=contact,
                place_path=resident.place_path,
                changes={
                    "resident": resident.pk,
                    "at": values["at"].isoformat(),
                    "channel": values["channel"],
                    "outcome": values["outcome"],
                    "wellbeing": values["wellbeing"],
                    "needs": values["needs"],
                    "temperature": str(values["temperature"]) if values["temperature"] is not None else None,
                    "help_request": case.pk if case is not None else None,
                },
            )
            _home_visit_for_missed(actor=actor, resident=resident, contact=contact)
            # The day's due list follows at once (a contact back-dated to an earlier day updates that day).
            refresh_residents([resident], timezone.localdate(values["at"]))
    except IntegrityError:
        # The same contact arrived twice at once: the other request stored it.
        stored = _stored(actor, values["client_id"])
        if stored is None:
            raise
        return stored, False
    return contact, True

"""Intake: a new request from any channel, triage corrections, its place, the caller's number, sub-categories."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.notify import notify
from caregrid.people.validation import clean_phone, clean_text, phone_tail
from caregrid.places.models import Place

from ..models import (
    Channel,
    EventKind,
    HelpRequest,
    Subcategory,
    TriageCorrection,
)
from ..taxonomy import CaseCategory, Urgency
from .common import (
    AUTO_PLACE_CONFIDENCE,
    DESCRIPTION_MAX,
    CaseError,
    IntakeData,
    _audit,
    _case_url,
    _command_centre,
    _district_root,
    _event,
    _locked,
    _next_number,
    _now,
    _save,
    deadlines_for,
)

# --- intake ---


def _suggest(text: str):
    from ..triage import classify

    return classify(text)


def _match_place(text: str, within: Place | None):
    from caregrid.places.address import match_address

    return match_address(text, within=within)


def case_create(*, actor, data: IntakeData, district: Place | None = None) -> HelpRequest:
    """Log a request from any channel. Category and urgency default to the classifier's suggestion
    (red flags raise the urgency); the place comes from the resident, the given place or the address.
    Classifying and matching only read, so they run before the write transaction opens (on SQLite the
    transaction holds the database's write lock)."""
    if data.channel not in Channel.values:
        raise CaseError("invalid_channel", _("来源渠道无效"), "channel")
    description = clean_text(data.description or "")
    if not description:
        raise CaseError("required", _("请填写诉求内容"), "description")
    if len(description) > DESCRIPTION_MAX:
        raise CaseError("too_long", _("诉求内容不能超过%(n)s个字") % {"n": DESCRIPTION_MAX}, "description")
    caller_name = clean_text(data.caller_name or "")
    if len(caller_name) > 50:
        raise CaseError("too_long", _("求助人姓名不能超过50个字"), "caller_name")
    phone, phone_valid = clean_phone(data.caller_phone)
    address_text = clean_text(data.address_text or "")
    if len(address_text) > 200:
        raise CaseError("too_long", _("地址不能超过200个字"), "address_text")
    if data.category and data.category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": data.category}, "category")
    if data.urgency and data.urgency not in Urgency.values:
        raise CaseError("invalid_urgency", _("紧急程度“%(value)s”无效") % {"value": data.urgency}, "urgency")

    suggestion = _suggest(description)
    category = data.category or suggestion.category
    urgency = data.urgency or suggestion.urgency
    if data.subcategory is not None and data.subcategory.category != category:
        raise CaseError("invalid_subcategory", _("子类与诉求类别不符"), "subcategory")

    root = district or _district_root()
    place = data.place
    if data.resident is not None:
        place = data.resident.household
    if place is None:
        match = _match_place(address_text or description, root)
        if match is not None and match.place is not None and match.confidence >= AUTO_PLACE_CONFIDENCE:
            place = match.place
    if place is None:
        place = root
    elif not place.path.startswith(root.path):
        raise CaseError("place_elsewhere", _("所选地点不在本区范围内"), "place")

    received = data.received_at or _now()
    first_due, resolve_due = deadlines_for(urgency)
    resolution_due = received + resolve_due
    if data.resolution_due is not None and data.resolution_due < resolution_due:
        resolution_due = max(data.resolution_due, received)  # an earlier deadline set by the referring platform
    with transaction.atomic():
        return _insert(
            actor=actor,
            data=data,
            suggestion=suggestion,
            fields={
                "district_id": place.district_id or root.pk,
                "channel": data.channel,
                "external_id": (data.external_id or "")[:64],
                "category": category,
                "subcategory": data.subcategory,
                "urgency": urgency,
                "description": description,
                "caller_name": caller_name,
                "caller_phone": phone,
                "caller_phone_tail": phone_tail(phone, phone_valid),
                "resident": data.resident,
                "address_text": address_text,
                "place": place,
                "received_at": received,
                "first_contact_due": min(received + first_due, resolution_due),
                "resolution_due": resolution_due,
            },
        )


def _insert(*, actor, data: IntakeData, suggestion, fields: dict) -> HelpRequest:
    received, place = fields["received_at"], fields["place"]
    description, category, urgency = fields["description"], fields["category"], fields["urgency"]
    case = HelpRequest.objects.create(
        **fields,
        number=_next_number(timezone.localdate(received)),
        suggested_category=suggestion.category,
        suggested_urgency=suggestion.urgency,
        suggestion_confidence=round(float(suggestion.confidence), 4),
        red_flags=[{"code": f.code, "label": str(f.label)} for f in suggestion.flags],
        place_path=place.path,
        grid_path=place.grid_path,
        email=data.email or "",
        lat=data.lat,
        long=data.long,
        source_ip=data.source_ip,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _event(case, actor=actor, kind=EventKind.CREATED, note="", data={"channel": case.channel})
    if (data.category and data.category != suggestion.category) or (
        data.urgency and data.urgency != suggestion.urgency
    ):
        TriageCorrection.objects.create(
            request=case,
            text=description,
            category=category,
            urgency=urgency,
            suggested_category=suggestion.category,
            suggested_urgency=suggestion.urgency,
            corrected_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    _audit(
        case,
        actor=actor,
        action="case.create",
        changes={"channel": case.channel, "category": category, "urgency": urgency, "place": place.pk},
    )
    if urgency == Urgency.URGENT:
        notify(
            _command_centre(case),
            kind="case_urgent",
            title=_("紧急诉求 %(number)s：%(category)s")
            % {"number": case.number, "category": case.get_category_display()},
            body=description[:200],
            url=_case_url(case),
            object_key=f"case:{case.pk}:urgent",
        )
    return case


@transaction.atomic
def case_unmask(*, actor, case: HelpRequest) -> dict:
    """The caller's full phone number (to call back), recorded in the audit log."""
    _audit(case, actor=actor, action="case.unmask", changes={"fields": ["caller_phone"]})
    return {"caller_phone": case.caller_phone}


@transaction.atomic
def case_retriage(
    *,
    actor,
    case: HelpRequest,
    category: str,
    urgency: str,
    subcategory: Subcategory | None = None,
    expected_version: int | None = None,
) -> HelpRequest:
    """Correct the category or urgency; deadlines follow a new urgency, and the correction is kept to retrain."""
    case = _locked(case, expected_version)
    if category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": category}, "category")
    if urgency not in Urgency.values:
        raise CaseError("invalid_urgency", _("紧急程度“%(value)s”无效") % {"value": urgency}, "urgency")
    if subcategory is not None and subcategory.category != category:
        raise CaseError("invalid_subcategory", _("子类与诉求类别不符"), "subcategory")
    before = {"category": case.category, "urgency": case.urgency, "subcategory": case.subcategory_id}
    after = {"category": category, "urgency": urgency, "subcategory": subcategory.pk if subcategory else None}
    if before == after:
        return case
    fields = ["category", "urgency", "subcategory"]
    case.category, case.urgency, case.subcategory = category, urgency, subcategory
    if before["urgency"] != urgency:
        first_due, resolve_due = deadlines_for(urgency)
        case.first_contact_due = case.received_at + first_due
        case.resolution_due = case.received_at + resolve_due
        fields += ["first_contact_due", "resolution_due"]
    _save(case, fields)
    TriageCorrection.objects.create(
        request=case,
        text=case.description,
        category=category,
        urgency=urgency,
        suggested_category=case.suggested_category,
        suggested_urgency=case.suggested_urgency,
        corrected_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    _event(case, actor=actor, kind=EventKind.TRIAGED, data=changes, public=False)
    _audit(case, actor=actor, action="case.retriage", changes=changes)
    return case


@transaction.atomic
def case_set_place(*, actor, case: HelpRequest, place: Place, expected_version: int | None = None) -> HelpRequest:
    """Confirm or correct where the request is (e.g. the operator picks a matched household)."""
    case = _locked(case, expected_version)
    if not place.path.startswith(Place.objects.get(pk=case.district_id).path):
        raise CaseError("place_elsewhere", _("所选地点不在本区范围内"), "place")
    before = case.place_id
    case.place = place
    handling = case.assigned_place
    # Scope follows the place, unless the request was dispatched to a place that does not contain it.
    case.place_path = place.path if handling is None or place.path.startswith(handling.path) else handling.path
    case.grid_path = place.grid_path
    _save(case, ["place", "place_path", "grid_path"])
    _event(case, actor=actor, kind=EventKind.NOTE, note=_("确认地点"), public=False, data={"place": place.pk})
    _audit(case, actor=actor, action="case.place", changes={"place": [before, place.pk]})
    return case


@transaction.atomic
def subcategory_create(*, actor, category: str, name: str, name_en: str = "") -> Subcategory:
    """A bureau's own sub-category under one of the fixed categories (also an Open311 service)."""
    import re

    from ..models import Subcategory as Model

    if category not in CaseCategory.values:
        raise CaseError("invalid_category", _("诉求类别“%(value)s”不存在") % {"value": category}, "category")
    name = clean_text(name)
    if not name:
        raise CaseError("required", _("请填写子类名称"), "name")
    if len(name) > 40:
        raise CaseError("too_long", _("子类名称不能超过40个字"), "name")
    if Model.objects.filter(category=category, name=name).exists():
        raise CaseError("duplicate", _("该类别下已有同名子类“%(name)s”") % {"name": name}, "name")
    base = re.sub(r"[^a-z0-9]+", "_", (name_en or "").lower()).strip("_")[:30] or "sub"
    code, n = f"{category}_{base}"[:40], 1
    while Model.objects.filter(code=code).exists():
        n += 1
        code = f"{category}_{base}"[:36] + f"_{n}"
    sub = Model.objects.create(category=category, code=code, name=name, name_en=clean_text(name_en)[:80])
    audit_record(actor=actor, action="case.subcategory_create", obj=sub, changes={"category": category, "name": name})
    return sub

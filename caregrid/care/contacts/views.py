"""The grid worker's phone page (今日走访) and the JSON endpoints it calls: record a contact, show a number."""

import datetime as dt
import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caregrid.accounts.masking import mask_phone
from caregrid.care.models import Contact, ContactChannel, Reached, Wellbeing
from caregrid.cases.taxonomy import CaseCategory
from caregrid.people.actions import resident_unmask

from . import actions, queries


def _error(message: str, fields: dict | None = None, status: int = 400, code: str = "invalid") -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "fields": fields or {}}, status=status)


def _contact_json(contact: Contact) -> dict:
    return {
        "id": contact.pk,
        "client_id": str(contact.client_id),
        "resident": contact.resident_id,
        "at": contact.at.isoformat(),
        "channel": contact.channel,
        "outcome": contact.outcome,
        "outcome_label": contact.get_outcome_display(),
        "wellbeing": contact.wellbeing,
        "needs": contact.needs,
        "temperature": str(contact.temperature) if contact.temperature is not None else None,
        "note": contact.note,
        "help_request": contact.help_request.number if contact.help_request_id else None,
    }


@login_required
@require_GET
def today(request):
    if not queries.keeps_a_round(request.user):
        raise PermissionDenied
    q = request.GET.get("q", "")[:50]
    residents = queries.round_today(request.user, q)
    members = queries.household_members(residents)
    for r in residents:
        r.phone_masked = mask_phone(r.phone) if r.phone else ""
        r.housemates = [m for m in members.get(r.household_id, []) if m.pk != r.pk]
    done = list(queries.contacts_today(request.user))
    response = render(
        request,
        "care/contacts/today.html",
        {
            "residents": residents,
            "done": done,
            "q": q,
            "channels": ContactChannel.choices,
            "outcomes": Reached.choices,
            "wellbeings": Wellbeing.choices,
            "needs": CaseCategory.choices,
        },
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def contact_create(request):
    """JSON in, JSON out: 201 for a new contact, 200 when the same client id was already stored."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(_("请求内容不是有效的JSON"))
    if not isinstance(body, dict):
        return _error(_("请求内容不是有效的JSON"))
    try:
        resident_pk = int(body.get("resident"))
    except (TypeError, ValueError):
        return _error(_("请填写要联系的居民"), {"resident": _("请填写要联系的居民")})
    resident = queries.resident_for_contact(request.user, resident_pk)
    at_text = body.get("at")
    at = parse_datetime(at_text) if isinstance(at_text, str) else None
    if at_text and at is None:
        return _error(_("联系时间格式无效"), {"at": _("联系时间格式无效")})
    needs = body.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    try:
        contact, created = actions.contact_record(
            actor=request.user,
            resident=resident,
            client_id=body.get("client_id"),
            at=at if isinstance(at, dt.datetime) else None,
            channel=body.get("channel") or "",
            outcome=body.get("outcome") or "",
            wellbeing=body.get("wellbeing") or "",
            needs=needs,
            temperature=body.get("temperature"),
            note=body.get("note") or "",
        )
    except ValidationError as e:
        fields = {k: " ".join(str(m) for m in v) for k, v in e.message_dict.items()}
        return _error(_("联系记录有误，请检查"), fields)
    return JsonResponse({"contact": _contact_json(contact), "created": created}, status=201 if created else 200)


@login_required
@require_POST
def resident_phone(request, pk: int):
    """The resident's full phone number for calling, each showing written to the audit log."""
    resident = queries.resident_for_contact(request.user, pk)
    if not queries.may_call(request.user, resident):
        return _error(_("无权查看完整号码"), status=403, code="forbidden")
    shown = resident_unmask(actor=request.user, resident=resident, fields=("phone",))
    response = JsonResponse({"phone": shown["phone"]})
    patch_cache_control(response, no_store=True, private=True)
    return response

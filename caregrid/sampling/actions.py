"""Writes of testing rounds: opening and closing a round, recording samplings and results (a positive result
notifies the community's staff), home sampling, outreach steps and exports. Each is one transaction with its
audit row.

A resident is sampled once per round: a second sampling is refused with the first one's time and place. When
the sample must be taken again (a broken tube, a mixed tube found positive) staff record a re-sample on the
same record, explicitly: the new time and tube replace the old ones, the result goes back to pending, the
re-sample count grows and the audit row keeps what was replaced.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.accounts.models import Role
from caregrid.accounts.notify import notify, staff_at
from caregrid.people.models import Resident
from caregrid.people.validation import clean_text
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import ids_from_path

from . import queries
from .models import (
    HomeRequestStatus,
    HomeSamplingRequest,
    OutreachOutcome,
    OutreachRung,
    OutreachStep,
    Population,
    Result,
    RoundStatus,
    SamplingRecord,
    SamplingRound,
    Source,
    Where,
)

ROOT_KINDS = (
    PlaceKind.DISTRICT,
    PlaceKind.SUBDISTRICT,
    PlaceKind.COMMUNITY,
    PlaceKind.GRID,
    PlaceKind.COMPOUND,
    PlaceKind.BUILDING,
)
NAME_MAX = 100
NOTE_MAX = 300
TUBE_MAX = 40
SITE_MAX = 100
REASON_MAX = 200
MAX_ROUND_DAYS = 31
# A phone's or a testing team's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=10)
POSITIVE_KIND = "sampling.positive"


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _require_open(round: SamplingRound) -> None:
    if round.status != RoundStatus.OPEN:
        raise ValidationError({"__all__": _("本轮检测已结束，不能再登记")})


def _require_included(round: SamplingRound, resident: Resident) -> None:
    if not queries.includes(round, resident):
        raise ValidationError({"resident": _("%(name)s不在本轮检测范围内") % {"name": resident.name}})


def sampled_at_problem(round: SamplingRound, moment: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """Why a sampling time cannot belong to the round ("" when it can)."""
    if moment is None:
        return _("请填写采样时间")
    now = now or timezone.now()
    if moment > now + CLOCK_SKEW:
        return _("采样时间不能晚于现在")
    day = _local_day(moment)
    if not round.start_date <= day <= round.end_date:
        return _("采样时间须在本轮检测日期（%(start)s至%(end)s）内") % {
            "start": round.start_date.isoformat(),
            "end": round.end_date.isoformat(),
        }
    return ""


# ---- rounds ------------------------------------------------------------------------------------------------------


@transaction.atomic
def round_create(
    *,
    actor,
    name: str,
    place: Place,
    start_date: dt.date,
    end_date: dt.date | None = None,
    population: str = Population.ALL,
    note: str = "",
) -> SamplingRound:
    """Open a round over a place's subtree (a grid: what it covers) for one or more days."""
    errors: dict[str, str] = {}
    name = clean_text(name)
    if not name:
        errors["name"] = _("请填写轮次名称")
    elif len(name) > NAME_MAX:
        errors["name"] = _("轮次名称不能超过%(n)s个字") % {"n": NAME_MAX}
    if place.kind not in ROOT_KINDS:
        errors["place"] = _("检测范围须是区、街道、社区、网格、小区或楼栋")
    end_date = end_date or start_date
    if end_date < start_date:
        errors["end_date"] = _("结束日期不能早于开始日期")
    elif (end_date - start_date).days >= MAX_ROUND_DAYS:
        errors["end_date"] = _("一轮检测不能超过%(n)s天") % {"n": MAX_ROUND_DAYS}
    if population not in Population.values:
        errors["population"] = _("检测对象无效")
    note = clean_text(note)
    if len(note) > NOTE_MAX:
        errors["note"] = _("说明不能超过%(n)s个字") % {"n": NOTE_MAX}
    if errors:
        raise ValidationError(errors)
    round = SamplingRound.objects.create(
        district_id=place.district_id,
        name=name,
        place=place,
        start_date=start_date,
        end_date=end_date,
        population=population,
        note=note,
        place_path=place.path,
        grid_path=place.path if place.kind == PlaceKind.GRID else place.grid_path,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="sampling.round_create",
        obj=round,
        changes={
            "name": name,
            "place": place.pk,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "population": population,
        },
    )
    return round


@transaction.atomic
def round_close(*, actor, round: SamplingRound) -> SamplingRound:
    locked = SamplingRound.objects.select_for_update().get(pk=round.pk)
    if locked.status == RoundStatus.CLOSED:
        return locked
    locked.status = RoundStatus.CLOSED
    locked.closed_at = timezone.now()
    locked.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="sampling.round_close", obj=locked, changes={"status": ["open", "closed"]})
    return locked


@transaction.atomic
def round_reopen(*, actor, round: SamplingRound) -> SamplingRound:
    locked = SamplingRound.objects.select_for_update().get(pk=round.pk)
    if locked.status == RoundStatus.OPEN:
        return locked
    locked.status = RoundStatus.OPEN
    locked.closed_at = None
    locked.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="sampling.round_reopen", obj=locked, changes={"status": ["closed", "open"]})
    return locked


# ---- samplings and results ---------------------------------------------------------------------------------------


def _clean_code(value: str, max_len: int, field: str, label: str, errors: dict) -> str:
    text = clean_text(value).replace(" ", "") if field == "tube_code" else clean_text(value)
    if len(text) > max_len:
        errors[field] = _("%(label)s不能超过%(n)s个字符") % {"label": label, "n": max_len}
    return text


def duplicate_message(record: SamplingRecord) -> str:
    where = record.site or record.get_where_display()
    return _("%(name)s本轮已于%(at)s在%(where)s采样，不能重复登记；如需重新采样，请在采样记录中登记复采") % {
        "name": record.resident.name,
        "at": timezone.localtime(record.sampled_at).strftime("%m-%d %H:%M"),
        "where": where,
    }


@transaction.atomic
def sampling_record(
    *,
    actor,
    round: SamplingRound,
    resident: Resident,
    sampled_at: dt.datetime | None = None,
    where: str = Where.SITE,
    site: str = "",
    tube_code: str = "",
    source: str = Source.MANUAL,
) -> SamplingRecord:
    """Record that a resident was sampled in the round. A second sampling of the same resident is refused."""
    _require_open(round)
    _require_included(round, resident)
    errors: dict[str, str] = {}
    sampled_at = sampled_at or timezone.now()
    if timezone.is_naive(sampled_at):
        sampled_at = timezone.make_aware(sampled_at)
    problem = sampled_at_problem(round, sampled_at)
    if problem:
        errors["sampled_at"] = problem
    if where not in Where.values:
        errors["where"] = _("采样方式无效")
    site = _clean_code(site, SITE_MAX, "site", _("采样点"), errors)
    tube_code = _clean_code(tube_code, TUBE_MAX, "tube_code", _("试管编码"), errors)
    if errors:
        raise ValidationError(errors)
    existing = SamplingRecord.objects.filter(round=round, resident=resident).select_related("resident").first()
    if existing is not None:
        raise ValidationError({"resident": duplicate_message(existing)})
    try:
        with transaction.atomic():
            record = SamplingRecord.objects.create(
                district_id=resident.district_id,
                round=round,
                resident=resident,
                where=where,
                site=site,
                sampled_at=sampled_at,
                tube_code=tube_code,
                source=source,
                recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
                place_path=resident.place_path,
                grid_path=resident.grid_path,
            )
    except IntegrityError:
        # Recorded at the same moment by someone else.
        existing = SamplingRecord.objects.select_related("resident").get(round=round, resident=resident)
        raise ValidationError({"resident": duplicate_message(existing)}) from None
    audit_record(
        actor=actor,
        action="sampling.record",
        obj=record,
        changes={
            "round": round.pk,
            "resident": resident.pk,
            "where": where,
            "site": site,
            "sampled_at": sampled_at.isoformat(),
            "tube_code": tube_code,
            "source": source,
        },
    )
    return record


@transaction.atomic
def sampling_resample(
    *, actor, record: SamplingRecord, reason: str, sampled_at: dt.datetime | None = None, tube_code: str = ""
) -> SamplingRecord:
    """Take the resident's sample again in the same round: the record's time and tube are replaced, the result
    goes back to pending, and the audit row keeps the previous values."""
    locked = SamplingRecord.objects.select_for_update().select_related("round", "resident").get(pk=record.pk)
    _require_open(locked.round)
    errors: dict[str, str] = {}
    reason = clean_text(reason)
    if not reason:
        errors["reason"] = _("请填写复采原因")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("原因不能超过%(n)s个字") % {"n": REASON_MAX}
    sampled_at = sampled_at or timezone.now()
    problem = sampled_at_problem(locked.round, sampled_at)
    if problem:
        errors["sampled_at"] = problem
    elif sampled_at <= locked.sampled_at:
        errors["sampled_at"] = _("复采时间须晚于上次采样时间")
    tube_code = _clean_code(tube_code, TUBE_MAX, "tube_code", _("试管编码"), errors)
    if errors:
        raise ValidationError(errors)
    before = {
        "sampled_at": locked.sampled_at.isoformat(),
        "tube_code": locked.tube_code,
        "result": locked.result,
    }
    locked.sampled_at = sampled_at
    locked.tube_code = tube_code
    locked.result = Result.PENDING
    locked.result_at = None
    locked.resamples += 1
    locked.recorded_by = actor
    locked.save()
    audit_record(
        actor=actor,
        action="sampling.resample",
        obj=locked,
        changes={"reason": reason, "before": before, "sampled_at": sampled_at.isoformat(), "tube_code": tube_code},
    )
    return locked


def _community_ids(paths: set[str]) -> list[int]:
    ids = {i for path in paths for i in ids_from_path(path)}
    return list(Place.objects.filter(pk__in=ids, kind=PlaceKind.COMMUNITY).values_list("pk", flat=True))


def notify_positive(records: list[SamplingRecord]) -> None:
    """Tell the staff of each positive resident's community, once per record and sample."""
    if not records:
        return
    communities = {r.pk: _community_ids({r.place_path}) for r in records}
    for record in records:
        users = staff_at(communities[record.pk], [Role.COMMUNITY_STAFF])
        if not users:
            continue
        notify(
            users,
            kind=POSITIVE_KIND,
            title=_("核酸阳性：%(name)s（%(round)s）") % {"name": record.resident.name, "round": record.round.name},
            body=_("%(name)s在%(round)s中检测结果为阳性，请立即按规定处置。")
            % {"name": record.resident.name, "round": record.round.name},
            url=reverse("sampling:records", args=[record.round_id]) + "?result=positive",
            object_key=f"sampling.record:{record.pk}:{record.resamples}",
        )


@transaction.atomic
def sampling_result_set(*, actor, record: SamplingRecord, result: str) -> SamplingRecord:
    """Enter one record's result by hand (the testing team phoned it through)."""
    if result not in Result.values:
        raise ValidationError({"result": _("检测结果无效")})
    locked = SamplingRecord.objects.select_for_update().select_related("round", "resident").get(pk=record.pk)
    if locked.result == result:
        return locked
    before = locked.result
    locked.result = result
    locked.result_at = None if result == Result.PENDING else timezone.now()
    locked.save(update_fields=["result", "result_at", "updated_at"])
    audit_record(actor=actor, action="sampling.result", obj=locked, changes={"result": [before, result]})
    if result == Result.POSITIVE:
        notify_positive([locked])
    return locked


# ---- home sampling -----------------------------------------------------------------------------------------------


@transaction.atomic
def home_request_add(*, actor, round: SamplingRound, resident: Resident, reason: str = "") -> HomeSamplingRequest:
    """Put a resident on the home-sampling list (again, after a cancellation)."""
    _require_open(round)
    _require_included(round, resident)
    reason = clean_text(reason)
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("原因不能超过%(n)s个字") % {"n": REASON_MAX}})
    if SamplingRecord.objects.filter(round=round, resident=resident).exists():
        raise ValidationError({"resident": _("%(name)s本轮已采样，无需上门") % {"name": resident.name}})
    if not reason:
        from caregrid.people.queries import with_categories

        loaded = with_categories(Resident.objects.filter(pk=resident.pk)).first()
        codes = queries.HOME_SAMPLING_CATEGORIES
        reason = "、".join(link.category.name for link in loaded.active_links if link.category.code in codes)
        reason = reason or _("行动不便")
    request = HomeSamplingRequest.objects.select_for_update().filter(round=round, resident=resident).first()
    if request is not None and request.status != HomeRequestStatus.CANCELLED:
        return request
    if request is None:
        request = HomeSamplingRequest.objects.create(
            round=round,
            resident=resident,
            reason=reason,
            requested_by=actor,
            place_path=resident.place_path,
            grid_path=resident.grid_path,
        )
    else:
        request.status = HomeRequestStatus.REQUESTED
        request.reason = reason
        request.requested_by = actor
        request.save(update_fields=["status", "reason", "requested_by", "updated_at"])
    audit_record(
        actor=actor,
        action="sampling.home_request",
        obj=request,
        changes={"round": round.pk, "resident": resident.pk, "reason": reason},
    )
    return request


@transaction.atomic
def home_request_cancel(*, actor, request: HomeSamplingRequest, reason: str = "") -> HomeSamplingRequest:
    """Take a resident off the home-sampling list (they went down after all, or are away)."""
    locked = HomeSamplingRequest.objects.select_for_update().select_related("round").get(pk=request.pk)
    _require_open(locked.round)
    if locked.status != HomeRequestStatus.REQUESTED:
        raise ValidationError({"__all__": _("只能取消待上门的采样")})
    locked.status = HomeRequestStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="sampling.home_cancel",
        obj=locked,
        changes={"status": ["requested", "cancelled"], "reason": clean_text(reason)[:REASON_MAX]},
    )
    return locked


@transaction.atomic
def home_request_sampled(
    *, actor, request: HomeSamplingRequest, sampled_at: dt.datetime | None = None, tube_code: str = ""
) -> SamplingRecord:
    """The team took the resident's sample at home: the sampling record (上门采样) is made in the same step."""
    locked = HomeSamplingRequest.objects.select_for_update().select_related("round", "resident").get(pk=request.pk)
    if locked.status == HomeRequestStatus.SAMPLED and locked.record_id:
        raise ValidationError({"__all__": _("%(name)s已上门采样") % {"name": locked.resident.name}})
    if locked.status == HomeRequestStatus.CANCELLED:
        raise ValidationError({"__all__": _("该上门采样已取消")})
    record = sampling_record(
        actor=actor,
        round=locked.round,
        resident=locked.resident,
        sampled_at=sampled_at,
        where=Where.HOME,
        tube_code=tube_code,
        source=Source.HOME,
    )
    locked.status = HomeRequestStatus.SAMPLED
    locked.record = record
    locked.save(update_fields=["status", "record", "updated_at"])
    audit_record(
        actor=actor,
        action="sampling.home_sampled",
        obj=locked,
        changes={"status": ["requested", "sampled"], "record": record.pk},
    )
    return record


# ---- outreach ----------------------------------------------------------------------------------------------------


@transaction.atomic
def outreach_record(
    *,
    actor,
    round: SamplingRound,
    resident: Resident,
    step: str,
    outcome: str = "",
    note: str = "",
    at: dt.datetime | None = None,
) -> OutreachStep:
    """Record one step of the ladder (group notice → phone call → home visit) for a resident not yet sampled."""
    _require_open(round)
    _require_included(round, resident)
    errors: dict[str, str] = {}
    if step not in OutreachRung.values:
        errors["step"] = _("动员方式无效")
    if outcome and outcome not in OutreachOutcome.values:
        errors["outcome"] = _("动员结果无效")
    note = clean_text(note)
    if len(note) > NOTE_MAX:
        errors["note"] = _("备注不能超过%(n)s个字") % {"n": NOTE_MAX}
    at = at or timezone.now()
    if at > timezone.now() + CLOCK_SKEW:
        errors["at"] = _("时间不能晚于现在")
    if errors:
        raise ValidationError(errors)
    if SamplingRecord.objects.filter(round=round, resident=resident).exists():
        raise ValidationError({"resident": _("%(name)s本轮已采样，无需动员") % {"name": resident.name}})
    entry = OutreachStep.objects.create(
        round=round,
        resident=resident,
        step=step,
        at=at,
        by=actor,
        outcome=outcome,
        note=note,
        place_path=resident.place_path,
        grid_path=resident.grid_path,
    )
    audit_record(
        actor=actor,
        action="sampling.outreach",
        obj=entry,
        changes={"round": round.pk, "resident": resident.pk, "step": step, "outcome": outcome, "note": note},
    )
    return entry


@transaction.atomic
def group_notice_send(*, actor, round: SamplingRound, grid: Place, residents, note: str = "") -> int:
    """Record a group notice (群内通知) for the given not-sampled residents of a grid (the caller passes them,
    scoped to the user); residents already noticed today are skipped, so a second click changes nothing.
    Returns how many were recorded."""
    _require_open(round)
    if grid.kind != PlaceKind.GRID:
        raise ValidationError({"grid": _("请选择网格")})
    note = clean_text(note)
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("备注不能超过%(n)s个字") % {"n": NOTE_MAX}})
    now = timezone.now()
    start_of_day = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time()))
    rows = list(residents.values_list("pk", "place_path", "grid_path"))
    noticed = set(
        OutreachStep.objects.filter(
            round=round, step=OutreachRung.GROUP_NOTICE, at__gte=start_of_day, grid_path__startswith=grid.path
        ).values_list("resident_id", flat=True)
    )
    steps = [
        OutreachStep(
            round=round,
            resident_id=pk,
            step=OutreachRung.GROUP_NOTICE,
            at=now,
            by=actor,
            outcome=OutreachOutcome.SENT,
            note=note,
            place_path=place_path,
            grid_path=grid_path,
        )
        for pk, place_path, grid_path in rows
        if pk not in noticed
    ]
    OutreachStep.objects.bulk_create(steps, batch_size=500)
    audit_record(
        actor=actor,
        action="sampling.group_notice",
        obj=round,
        place_path=grid.path,
        changes={"grid": grid.pk, "residents": len(steps), "skipped": len(rows) - len(steps), "note": note},
    )
    return len(steps)


# ---- exports -----------------------------------------------------------------------------------------------------


@transaction.atomic
def export_record(*, actor, round: SamplingRound, what: str, rows: int, full_numbers: bool, filters: dict) -> None:
    """Audit an export of the round; one with full ID numbers writes a second row of its own."""
    changes = {"what": what, "rows": rows, "full_numbers": full_numbers, "filters": filters}
    audit_record(actor=actor, action="sampling.export", obj=round, changes=changes)
    if full_numbers:
        audit_record(actor=actor, action="sampling.export_full_numbers", obj=round, changes=changes)

"""Writes to care teams (包联): assign a carer, end an assignment, hand over, apply a team template to a grid."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.accounts.audit import audit_record
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import in_scope, scoped
from caregrid.care.models import CareAssignment, CarerRole
from caregrid.care.policies.daylist import places_changed, refresh_residents
from caregrid.people.models import Category, Resident, ResidentCategory
from caregrid.people.queries import category_active_q
from caregrid.people.validation import FieldProblem, clean_name, clean_phone
from caregrid.places.models import Place, PlaceKind
from caregrid.places.queries import today
from caregrid.places.tree import under


@dataclass(frozen=True)
class Carer:
    """Who cares: a caregrid user, or a name and phone (a party-member household, an outside medic)."""

    user: object = None
    name: str = ""
    phone: str = ""

    def key(self) -> tuple:
        return ("user", self.user.pk) if self.user is not None else ("name", self.name, self.phone)


def assignment_key(assignment: CareAssignment) -> tuple:
    return (
        ("user", assignment.carer_id)
        if assignment.carer_id
        else ("name", assignment.carer_name, assignment.carer_phone)
    )


def carer_clean(carer: Carer) -> Carer:
    """The carer with name and phone cleaned; a named carer needs a valid phone to be reached by."""
    if carer.user is not None:
        return Carer(user=carer.user)
    try:
        name = clean_name(carer.name)
    except FieldProblem as e:
        raise ValidationError({"carer_name": e.message}) from e
    phone, valid = clean_phone(carer.phone)
    if not phone:
        raise ValidationError({"carer_phone": _("请填写包联人电话")})
    if not valid:
        raise ValidationError({"carer_phone": _("包联人电话“%(value)s”不是有效的手机或固话号码") % {"value": phone}})
    return Carer(name=name, phone=phone)


def _check_carer_reaches(carer: Carer, resident: Resident) -> None:
    """A carer who uses caregrid must be able to see the resident's care, or they could not do the work."""
    if carer.user is not None and not in_scope(carer.user, resident, Cap.VIEW_CARE):
        raise ValidationError(
            {"carer": _("%(name)s不负责该居民所在的网格或社区，不能包联") % {"name": str(carer.user)}}
        )


def _check_actor(actor, resident: Resident) -> None:
    if not in_scope(actor, resident, Cap.ASSIGN_CARERS):
        raise PermissionDenied


def _new(*, actor, resident: Resident, role: str, carer: Carer, since: dt.datetime) -> CareAssignment:
    return CareAssignment(
        resident=resident,
        role=role,
        carer=carer.user,
        carer_name="" if carer.user is not None else carer.name,
        carer_phone="" if carer.user is not None else carer.phone,
        since=since,
        place_path=resident.place_path,
        grid_path=resident.grid_path,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _describe(assignment: CareAssignment) -> dict:
    return {
        "resident": assignment.resident_id,
        "role": assignment.role,
        "carer": assignment.carer_id,
        "carer_name": assignment.carer_name,
        "carer_phone": assignment.carer_phone,
    }


def _assign(*, actor, resident: Resident, role: str, carer: Carer, at: dt.datetime) -> CareAssignment:
    if role not in CarerRole.values:
        raise ValidationError({"role": _("请选择包联角色")})
    carer = carer_clean(carer)
    _check_carer_reaches(carer, resident)
    current = CareAssignment.objects.select_for_update().filter(resident=resident, role=role, until__isnull=True)
    if any(assignment_key(a) == carer.key() for a in current):
        raise ValidationError({"carer": _("该包联人已在此角色中包联这位居民")})
    assignment = _new(actor=actor, resident=resident, role=role, carer=carer, since=at)
    assignment.save()
    audit_record(actor=actor, action="care.assign", obj=assignment, changes=_describe(assignment))
    return assignment


@transaction.atomic
def assignment_create(
    *, actor, resident: Resident, role: str, carer: Carer, at: dt.datetime | None = None
) -> CareAssignment:
    """Make someone one of a resident's carers in a role, from now (or `at`)."""
    _check_actor(actor, resident)
    assignment = _assign(actor=actor, resident=resident, role=role, carer=carer, at=at or timezone.now())
    refresh_residents([resident])
    return assignment


def _end(*, actor, assignment: CareAssignment, reason: str, at: dt.datetime, action: str) -> CareAssignment:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写结束原因")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("原因不能超过200个字")})
    locked = CareAssignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.until is not None:
        raise ValidationError(_("该包联关系已经结束"))
    locked.until = max(at, locked.since)
    locked.end_reason = reason
    locked.save(update_fields=["until", "end_reason"])
    audit_record(actor=actor, action=action, obj=locked, changes={**_describe(locked), "reason": reason})
    assignment.until, assignment.end_reason = locked.until, locked.end_reason
    return locked


@transaction.atomic
def assignment_end(*, actor, assignment: CareAssignment, reason: str, at: dt.datetime | None = None) -> CareAssignment:
    """End one carer's care of a resident, with a reason."""
    _check_actor(actor, assignment.resident)
    ended = _end(actor=actor, assignment=assignment, reason=reason, at=at or timezone.now(), action="care.end")
    refresh_residents([assignment.resident])
    return ended


@transaction.atomic
def assignment_handover(
    *, actor, assignment: CareAssignment, reason: str, carer: Carer, at: dt.datetime | None = None
) -> CareAssignment:
    """Hand a resident over from a carer who is ill or isolated to a replacement in the same role: both or
    neither. Returns the replacement's assignment."""
    resident = assignment.resident
    _check_actor(actor, resident)
    at = at or timezone.now()
    carer = carer_clean(carer)
    if carer.key() == assignment_key(assignment):
        raise ValidationError({"carer": _("接替人不能是原包联人")})
    old = _end(actor=actor, assignment=assignment, reason=reason, at=at, action="care.handover")
    new = _assign(actor=actor, resident=resident, role=old.role, carer=carer, at=at)
    audit_record(
        actor=actor,
        action="care.handover",
        obj=new,
        changes={**_describe(new), "replaces": old.pk, "reason": old.end_reason},
    )
    refresh_residents([resident])
    return new


# --- Team templates: 五包一 and 二对一, applied to a grid -----------------------------------------------------


@dataclass(frozen=True)
class Slot:
    key: str
    label: str
    role: str
    # May the slot be filled by a name and phone (people who do not use caregrid)?
    by_name: bool


@dataclass(frozen=True)
class TeamTemplate:
    code: str
    label: str
    description: str
    slots: tuple[Slot, ...]
    category_code: str = ""  # residents holding this category today; blank: every priority resident


FIVE_FOR_ONE = TeamTemplate(
    code="five_for_one",
    label=gettext_lazy("五包一"),
    description=gettext_lazy("居家健康监测人员：社区干部、社区工作者、网格员、医务人员、民警各一名"),
    slots=(
        Slot("cadre", gettext_lazy("社区干部"), CarerRole.CADRE, False),
        Slot("community_worker", gettext_lazy("社区工作者"), CarerRole.CADRE, False),
        Slot("grid_worker", gettext_lazy("网格员"), CarerRole.GRID_WORKER, False),
        Slot("medic", gettext_lazy("医务人员"), CarerRole.MEDIC, True),
        Slot("police", gettext_lazy("民警"), CarerRole.POLICE, True),
    ),
    category_code="home_monitoring",
)
TWO_FOR_ONE = TeamTemplate(
    code="two_for_one",
    label=gettext_lazy("二对一"),
    description=gettext_lazy("重点人员：网格员和党员户各一名"),
    slots=(
        Slot("grid_worker", gettext_lazy("网格员"), CarerRole.GRID_WORKER, False),
        Slot("party_member", gettext_lazy("党员户"), CarerRole.PARTY_MEMBER, True),
    ),
)
TEMPLATES = {t.code: t for t in (FIVE_FOR_ONE, TWO_FOR_ONE)}


@dataclass
class TemplateResult:
    residents: int = 0  # residents the template covers
    assigned: int = 0  # new assignments made
    skipped: int = 0  # slots left alone because the resident already had that role filled


def template_residents(actor, template: TeamTemplate, grid: Place, day: dt.date | None = None):
    """The residents of a grid a template covers, within what the actor may assign."""
    qs = scoped(actor, Resident.objects.filter(under(grid.path, "grid_path")), Cap.ASSIGN_CARERS)
    if template.category_code:
        links = ResidentCategory.objects.filter(
            category_active_q(day or today()),
            resident_id=OuterRef("pk"),
            category__code=template.category_code,
            category__is_active=True,
        )
        return qs.filter(Exists(links))
    return qs.filter(is_priority=True)


@transaction.atomic
def team_template_apply(
    *, actor, template: TeamTemplate, grid: Place, carers: dict[str, Carer], at: dt.datetime | None = None
) -> TemplateResult:
    """Give every resident of the grid the template covers the carers named for its slots. A slot is skipped
    for a resident who already has that carer in that role, or already as many carers in the role as the
    template asks for, so applying it again assigns nobody twice."""
    if grid.kind != PlaceKind.GRID:
        raise ValidationError({"grid": _("请选择网格")})
    if not in_scope(actor, grid, Cap.ASSIGN_CARERS):
        raise PermissionDenied
    if template.category_code and not Category.objects.filter(code=template.category_code).exists():
        raise ValidationError(_("人员类别“%(code)s”不存在") % {"code": template.category_code})
    at = at or timezone.now()
    filled: list[tuple[Slot, Carer]] = []
    for slot in template.slots:
        carer = carers.get(slot.key)
        if carer is None:
            continue
        if carer.user is None and not slot.by_name:
            raise ValidationError({slot.key: _("%(slot)s须选择系统用户") % {"slot": slot.label}})
        try:
            filled.append((slot, carer_clean(carer)))
        except ValidationError as e:
            raise ValidationError({slot.key: [m for ms in e.message_dict.values() for m in ms]}) from e
    if not filled:
        raise ValidationError(_("请至少填写一个包联角色"))
    wanted = defaultdict(int)
    for slot in template.slots:
        wanted[slot.role] += 1

    residents = list(template_residents(actor, template, grid, at.date()).order_by("place_path", "id"))
    if residents:
        # A grid's residents share its scope, so one check per carer covers them all.
        for _slot, carer in filled:
            _check_carer_reaches(carer, residents[0])
    current = defaultdict(list)
    for a in CareAssignment.objects.select_for_update().filter(
        resident__in=residents, role__in=list(wanted), until__isnull=True
    ):
        current[(a.resident_id, a.role)].append(assignment_key(a))

    result = TemplateResult(residents=len(residents))
    new: list[CareAssignment] = []
    for resident in residents:
        for slot, carer in filled:
            keys = current[(resident.pk, slot.role)]
            if carer.key() in keys or len(keys) >= wanted[slot.role]:
                result.skipped += 1
                continue
            keys.append(carer.key())
            new.append(_new(actor=actor, resident=resident, role=slot.role, carer=carer, since=at))
    CareAssignment.objects.bulk_create(new, batch_size=500)
    result.assigned = len(new)
    audit_record(
        actor=actor,
        action="care.template",
        obj=grid,
        changes={
            "template": template.code,
            "carers": {s.key: (c.user.pk if c.user is not None else f"{c.name} {c.phone}") for s, c in filled},
            "residents": result.residents,
            "assigned": result.assigned,
            "skipped": result.skipped,
        },
    )
    places_changed(grid)
    return result

"""Writes to the place tree, zones and mode. Each is one transaction with its audit row."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record

from . import signals
from .models import CHILD_KINDS, GRID_COVERED_KINDS, Mode, ModeChange, Place, PlaceKind, ZonePeriod, ZoneStatus
from .tree import child_path, descendants

ROOT_LEVELS = (PlaceKind.DISTRICT, PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY)


def _insert(*, parent: Place | None, kind: str, name: str, code: str = "", grid_type: str = "", grid=None) -> Place:
    place = Place.objects.create(
        parent=parent,
        kind=kind,
        name=name,
        code=code,
        grid_type=grid_type if kind == PlaceKind.GRID else "",
        grid=grid,
        grid_path=grid.path if grid else "",
        depth=(parent.depth + 1) if parent else 0,
    )
    place.path = child_path(parent, place.pk)
    Place.objects.filter(pk=place.pk).update(path=place.path)
    return place


def _validate_child(parent: Place | None, kind: str, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空")})
    if len(name) > 100:
        raise ValidationError({"name": _("名称不能超过100个字符")})
    if parent is None:
        if kind != PlaceKind.DISTRICT:
            raise ValidationError({"kind": _("最上级只能是区")})
    elif kind not in CHILD_KINDS[PlaceKind(parent.kind)]:
        raise ValidationError(
            {
                "kind": _("%(parent)s下不能直接建%(kind)s")
                % {"parent": parent.get_kind_display(), "kind": PlaceKind(kind).label}
            }
        )
    return name


@transaction.atomic
def place_create(
    *, actor, parent: Place | None, kind: str, name: str, code: str = "", grid_type: str = "", grid=None
) -> Place:
    name = _validate_child(parent, kind, name)
    if Place.objects.filter(parent=parent, kind=kind, name=name).exists():
        raise ValidationError({"name": _("同一上级下已有同名的%(kind)s") % {"kind": PlaceKind(kind).label}})
    if kind == PlaceKind.GRID and not grid_type:
        grid_type = "comprehensive"
    if grid is None and parent is not None and kind in GRID_COVERED_KINDS:
        grid = parent.grid
    place = _insert(parent=parent, kind=kind, name=name, code=code, grid_type=grid_type, grid=grid)
    audit_record(actor=actor, action="place.create", obj=place, changes={"kind": kind, "name": name})
    return place


def place_get_or_create(*, actor, parent: Place | None, kind: str, name: str, grid=None) -> tuple[Place, bool]:
    """The named child, created (and audited) if missing. Call inside a transaction."""
    name = _validate_child(parent, kind, name)
    existing = Place.objects.filter(parent=parent, kind=kind, name=name).first()
    if existing:
        return existing, False
    if grid is None and parent is not None and kind in GRID_COVERED_KINDS:
        grid = parent.grid
    place = _insert(parent=parent, kind=kind, name=name, grid=grid, grid_type="comprehensive" if kind == "grid" else "")
    audit_record(actor=actor, action="place.create", obj=place, changes={"kind": kind, "name": name})
    return place, True


@transaction.atomic
def place_ensure_names(*, actor, names: list[str]) -> Place:
    """Follow "区/街道/社区" from the root, creating missing levels (district, subdistrict, community)."""
    if not names:
        raise ValidationError({"into": _("请给出地点路径，如“城东区/紫东街道/紫东社区”")})
    if len(names) > len(ROOT_LEVELS):
        raise ValidationError({"into": _("地点路径最多三级：区/街道/社区")})
    parent = None
    for kind, name in zip(ROOT_LEVELS, names, strict=False):
        parent, _created = place_get_or_create(actor=actor, parent=parent, kind=kind, name=name)
    return parent


@transaction.atomic
def place_rename(*, actor, place: Place, name: str) -> Place:
    old = place.name
    name = _validate_child(place.parent, place.kind, name)
    if Place.objects.filter(parent=place.parent, kind=place.kind, name=name).exclude(pk=place.pk).exists():
        raise ValidationError({"name": _("同一上级下已有同名的%(kind)s") % {"kind": place.get_kind_display()}})
    place.name = name
    place.save(update_fields=["name"])
    audit_record(actor=actor, action="place.rename", obj=place, changes={"name": [old, name]})
    return place


def leader_candidates(grid: Place):
    """Who may lead a grid (网格长): active users holding a role at the grid itself or at its community."""
    from caregrid.accounts.models import RoleAssignment, User

    places = [grid.pk] + ([grid.parent_id] if grid.parent_id else [])
    holders = RoleAssignment.objects.filter(place_id__in=places).values("user_id")
    return User.objects.filter(pk__in=holders, is_active=True).order_by("username")


@transaction.atomic
def grid_leader_set(*, actor, grid: Place, leader) -> Place:
    """Name (or, with None, clear) a grid's leader, who is told first when the grid's care round falls behind."""
    if grid.kind != PlaceKind.GRID:
        raise ValidationError({"leader": _("只有网格可以设置网格长")})
    if leader is not None and not leader_candidates(grid).filter(pk=leader.pk).exists():
        raise ValidationError({"leader": _("网格长须是在本网格或所在社区任职的在岗用户")})
    old = str(grid.leader) if grid.leader_id else ""
    grid.leader = leader
    grid.save(update_fields=["leader"])
    audit_record(actor=actor, action="place.leader", obj=grid, changes={"leader": [old, str(leader) if leader else ""]})
    return grid


@transaction.atomic
def place_assign_grid(*, actor, place: Place, grid: Place | None) -> int:
    """Put a building, unit or household (and everything in it) under a grid; returns places changed."""
    from caregrid.people.models import Resident

    if place.kind not in GRID_COVERED_KINDS:
        raise ValidationError({"grid": _("只有楼栋、单元和户可以划入网格")})
    if grid is not None and grid.kind != PlaceKind.GRID:
        raise ValidationError({"grid": _("请选择一个网格")})
    old = place.grid.name if place.grid else ""
    grid_path = grid.path if grid else ""
    changed = descendants(place).filter(kind__in=list(GRID_COVERED_KINDS)).update(grid=grid, grid_path=grid_path)
    Resident.objects.filter(place_path__startswith=place.path).update(grid_path=grid_path)
    audit_record(actor=actor, action="place.assign_grid", obj=place, changes={"grid": [old, grid.name if grid else ""]})
    signals.grid_assigned.send(sender=Place, place=place)
    return changed


@transaction.atomic
def zone_set(
    *, actor, place: Place, status: str, start_date: dt.date, end_date: dt.date | None = None, reason: str
) -> ZonePeriod:
    """Set a place's zone from a date; the place's open period before it ends the day before."""
    errors = {}
    if status not in ZoneStatus.values:
        errors["status"] = _("未知的区域状态")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("请填写调整原因")
    if end_date and end_date < start_date:
        errors["end_date"] = _("截止日期不能早于生效日期")
    if errors:
        raise ValidationError(errors)
    later = ZonePeriod.objects.filter(place=place, start_date__gt=start_date).first()
    if later:
        raise ValidationError(
            {"start_date": _("该地点已有从%(day)s起的区域状态，请先处理该记录") % {"day": later.start_date}}
        )
    overlapping = ZonePeriod.objects.select_for_update().filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start_date), place=place, start_date__lte=start_date
    )
    for period in overlapping:
        # The period in force ends the day before; one set earlier the same day is superseded
        # (kept in history as an empty interval).
        period.end_date = start_date - dt.timedelta(days=1)
        period.save(update_fields=["end_date"])
    period = ZonePeriod.objects.create(
        place=place,
        place_path=place.path,
        depth=place.depth,
        status=status,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        set_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="zone.set",
        obj=place,
        changes={"status": status, "start_date": str(start_date), "end_date": str(end_date or ""), "reason": reason},
    )
    signals.zone_changed.send(sender=Place, place=place)
    return period


@transaction.atomic
def mode_set(*, actor, mode: str, reason: str, at: dt.datetime | None = None) -> ModeChange:
    """Switch the bureau's mode from now, or from `at` (a switch recorded late: not in the future, not before the
    last switch)."""
    if mode not in Mode.values:
        raise ValidationError({"mode": _("未知的模式")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写切换原因")})
    now = timezone.now()
    at = at or now
    if at > now:
        raise ValidationError({"at": _("切换时间不能晚于现在")})
    last = ModeChange.objects.order_by("-started_at").first()
    if last is not None and at < last.started_at:
        raise ValidationError(
            {"at": _("切换时间不能早于上一次切换（%(at)s）") % {"at": timezone.localtime(last.started_at)}}
        )
    change = ModeChange.objects.create(
        mode=mode,
        started_at=at,
        reason=reason,
        set_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="mode.set",
        obj=change,
        object_repr=change.get_mode_display(),
        changes={"mode": mode, "reason": reason, "started_at": at.isoformat()},
    )
    signals.mode_changed.send(sender=ModeChange, change=change)
    return change

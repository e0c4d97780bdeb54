"""Writes of door-knocking rounds: open and close a round, record a visit with what it found. Each is one
transaction and writes its own audit row; findings go to the ledger through the people actions."""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.people.actions import CategoryEntry, ResidentData, resident_create, resident_update
from caregrid.people.models import Category, Resident
from caregrid.places.models import Place, PlaceKind

from .models import DoorFinding, DoorHousehold, DoorRound, DoorVisit, FindingKind, RoundStatus, VisitOutcome
from .queries import household_in_round, round_totals


@dataclass
class NewResident:
    """A person found living in the household who is not in the ledger, as typed on the doorstep."""

    name: str
    id_number: str
    phone: str = ""
    categories: list[Category] = field(default_factory=list)
    note: str = ""


@dataclass
class NewCategory:
    """A category found to apply to a resident of the household already in the ledger."""

    resident: Resident
    category: Category


@transaction.atomic
def round_open(
    *, actor, name: str, place: Place, start_date: dt.date | None, end_date: dt.date | None, note: str = ""
) -> DoorRound:
    """Open a round over a place's households. Whether the actor may open it there is the caller's check."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("请填写行动名称")
    elif len(name) > 100:
        errors["name"] = _("行动名称不能超过100个字符")
    if start_date is None:
        errors["start_date"] = _("请填写开始日期")
    if end_date is None:
        errors["end_date"] = _("请填写结束日期")
    elif start_date is not None and end_date < start_date:
        errors["end_date"] = _("结束日期不能早于开始日期")
    if place is None:
        errors["place"] = _("请选择行动范围")
    elif place.kind == PlaceKind.HOUSEHOLD:
        errors["place"] = _("行动范围不能是单独一户，请选择楼栋或更大的范围")
    if errors:
        raise ValidationError(errors)
    door_round = DoorRound.objects.create(
        district_id=place.ancestor_ids[0],
        name=name,
        place=place,
        place_path=place.path,
        start_date=start_date,
        end_date=end_date,
        note=(note or "").strip(),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="doors.round_open",
        obj=door_round,
        changes={"name": name, "place": place.name, "start_date": str(start_date), "end_date": str(end_date)},
    )
    return door_round


@transaction.atomic
def round_close(*, actor, door_round: DoorRound, note: str = "") -> DoorRound:
    """Close a round: no more visits are recorded. The progress at closing is kept in the audit row."""
    locked = DoorRound.objects.select_for_update().get(pk=door_round.pk)
    if locked.status == RoundStatus.CLOSED:
        raise ValidationError({"__all__": _("该行动已结束")})
    locked.status = RoundStatus.CLOSED
    locked.closed_by = actor
    locked.closed_at = timezone.now()
    note = (note or "").strip()
    if note:
        locked.note = f"{locked.note}\n{note}".strip()
    locked.save(update_fields=["status", "closed_by", "closed_at", "note"])
    totals = round_totals(locked)
    audit_record(
        actor=actor,
        action="doors.round_close",
        obj=locked,
        changes={"status": [RoundStatus.OPEN, RoundStatus.CLOSED], "note": note, **totals},
    )
    return locked


def _add_resident(actor, household: Place, found: NewResident, day: dt.date, warnings: list[str]) -> Resident:
    data = ResidentData(
        id_number=found.id_number,
        name=found.name,
        household=household,
        phone=found.phone,
        note=found.note,
        categories=[CategoryEntry(c, since=day) for c in found.categories],
    )
    resident = resident_create(actor=actor, data=data)
    # Kept as typed, like the import does, and said so.
    warnings.extend(_("%(name)s：%(problem)s") % {"name": resident.name, "problem": w.message} for w in data.warnings)
    return resident


def _add_category(actor, found: NewCategory, day: dt.date) -> Resident:
    """The resident with the category added; the categories they hold are kept as they are."""
    resident = found.resident
    entries = [
        CategoryEntry(link.category, since=link.since, until=link.until, note=link.note)
        for link in resident.category_links.select_related("category")
    ]
    held = next((e for e in entries if e.category.pk == found.category.pk), None)
    if held is not None and (held.until is None or held.until >= day):
        raise ValidationError(
            {
                "categories": _("%(name)s已有类别“%(category)s”")
                % {"name": resident.name, "category": found.category.name}
            }
        )
    if held is not None:  # an expired category applies again from today
        held.since, held.until = day, None
    else:
        entries.append(CategoryEntry(found.category, since=day))
    return resident_update(
        actor=actor,
        resident=resident,
        data=ResidentData(
            id_number=resident.id_number,
            name=resident.name,
            household=resident.household,
            phone=resident.phone,
            emergency_contact=resident.emergency_contact,
            emergency_phone=resident.emergency_phone,
            note=resident.note,
            categories=entries,
        ),
    )


def _problems(error: ValidationError, prefix: str) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {f"{prefix}{name}": list(messages) for name, messages in error.message_dict.items()}
    return {f"{prefix}__all__": list(error.messages)}


@transaction.atomic
def visit_record(
    *,
    actor,
    door_round: DoorRound,
    household: Place,
    outcome: str,
    note: str = "",
    new_residents: list[NewResident] | tuple = (),
    new_categories: list[NewCategory] | tuple = (),
    at: dt.datetime | None = None,
) -> DoorVisit:
    """Record a knock on a household's door, with the residents and categories found there written to the
    ledger through the same validated actions as the import. All or nothing: one refused finding refuses the
    visit, with every problem keyed `new_residents-<i>-<field>` or `new_categories-<i>-<field>`. What the import
    would keep with a warning (an invalid phone number) is kept, and the warnings are on `visit.warnings`."""
    at = at or timezone.now()
    locked = DoorRound.objects.select_for_update().get(pk=door_round.pk)
    if locked.status != RoundStatus.OPEN:
        raise ValidationError({"__all__": _("该行动已结束，不能再登记走访")})
    day = timezone.localdate(at)
    if day < locked.start_date:
        raise ValidationError(
            {"__all__": _("该行动%(day)s才开始，不能提前登记走访") % {"day": locked.start_date.isoformat()}}
        )
    if not household_in_round(locked, household):
        raise ValidationError({"household": _("该户不在本次行动范围内")})
    if outcome not in VisitOutcome.values:
        raise ValidationError({"outcome": _("请选择走访结果")})
    if (new_residents or new_categories) and outcome != VisitOutcome.VISITED:
        raise ValidationError({"outcome": _("只有已走访（见到住户）时才能登记发现情况")})
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError({"note": _("备注不能超过500个字")})

    visit = DoorVisit.objects.create(
        round=locked,
        district_id=locked.district_id,
        household=household,
        visitor=actor,
        at=at,
        outcome=outcome,
        note=note,
        findings=len(new_residents) + len(new_categories),
        place_path=household.path,
        grid_path=household.grid_path,
    )
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    findings: list[DoorFinding] = []
    for i, found in enumerate(new_residents):
        try:
            resident = _add_resident(actor, household, found, day, warnings)
        except ValidationError as e:
            errors.update(_problems(e, f"new_residents-{i}-"))
        else:
            findings.append(
                DoorFinding(visit=visit, kind=FindingKind.NEW_RESIDENT, resident=resident, resident_name=resident.name)
            )
    for i, found in enumerate(new_categories):
        if found.resident.household_id != household.pk:
            errors[f"new_categories-{i}-resident"] = [_("%(name)s不住在该户") % {"name": found.resident.name}]
            continue
        try:
            resident = _add_category(actor, found, day)
        except ValidationError as e:
            errors.update(_problems(e, f"new_categories-{i}-"))
        else:
            findings.append(
                DoorFinding(
                    visit=visit,
                    kind=FindingKind.NEW_CATEGORY,
                    resident=resident,
                    resident_name=resident.name,
                    category=found.category,
                )
            )
    if errors:
        raise ValidationError(errors)
    DoorFinding.objects.bulk_create(findings)

    state = DoorHousehold.objects.select_for_update().filter(round=locked, household=household).first()
    if state is None:
        DoorHousehold.objects.create(
            round=locked, household=household, outcome=outcome, last_visit=visit, last_at=at, visits=1
        )
    else:
        state.visits += 1
        if at >= state.last_at:  # a visit entered late does not undo a later one
            state.outcome, state.last_visit, state.last_at = outcome, visit, at
        state.save(update_fields=["visits", "outcome", "last_visit", "last_at"])
    audit_record(
        actor=actor,
        action="doors.visit",
        obj=visit,
        changes={
            "round": locked.pk,
            "household": household.pk,
            "outcome": outcome,
            "findings": [
                {"kind": f.kind, "resident": f.resident_id, "category": f.category.code if f.category else ""}
                for f in findings
            ],
        },
    )
    visit.warnings = warnings
    return visit


@transaction.atomic
def round_export_record(*, actor, door_round: DoorRound, sizes: dict[str, int]) -> None:
    """Record that the actor took the round's results away in a workbook (rows per sheet)."""
    audit_record(actor=actor, action="doors.export", obj=door_round, changes={"rows": sizes})

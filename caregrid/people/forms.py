"""Forms of the ledger pages: list filters with the place picker, the household picker, the resident form."""

import re
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places, scoped
from caregrid.places.models import Place, PlaceKind, ZoneStatus
from caregrid.places.tree import ancestors

from .actions import CategoryEntry, ResidentData
from .models import Category, Resident
from .queries import ResidentFilters, categories_active
from .validation import CATEGORY_SEPARATORS, clean_text, to_simplified

# Zone filter of the list: the statuses that restrict people (lifted is the absence of restriction).
ZONE_FILTER_CHOICES = [(s.value, s.label) for s in (ZoneStatus.SEALED, ZoneStatus.CONTROLLED, ZoneStatus.PRECAUTION)]
PICKER_LIMIT = 300


def natural_key(text: str) -> list:
    """Sorts "2幢" before "10幢"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _sorted(places) -> list[Place]:
    return sorted(places, key=lambda p: (p.kind != PlaceKind.GRID, natural_key(p.name)))


def picker_children(user, place: Place, capability: str = Cap.VIEW_RESIDENTS) -> list[Place]:
    """The places one level finer than `place` that the user may pick (never households: too many)."""
    if place.kind == PlaceKind.GRID:
        qs = Place.objects.filter(parent=place, kind=PlaceKind.GRID) | Place.objects.filter(
            grid=place, kind=PlaceKind.BUILDING
        )
    elif place.kind in (PlaceKind.UNIT, PlaceKind.HOUSEHOLD):
        return []
    else:
        qs = Place.objects.filter(parent=place).exclude(kind=PlaceKind.HOUSEHOLD)
    return _sorted(scoped(user, qs, capability)[:PICKER_LIMIT])


@dataclass
class PickerOption:
    value: str
    label: str
    selected: bool = False


class ResidentFilterForm(forms.Form):
    """The list's GET filters; the place must lie in the user's scope."""

    place = forms.IntegerField(required=False, min_value=1)
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False, to_field_name="code")
    zone = forms.ChoiceField(choices=[("", "")] + ZONE_FILTER_CHOICES, required=False)
    q = forms.CharField(required=False, max_length=50)
    priority = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["category"].queryset = categories_active()
        self.fields["category"].error_messages["invalid_choice"] = _("没有这个人员类别")
        self.fields["zone"].error_messages["invalid_choice"] = _("没有这个区域状态")
        self.place_obj: Place | None = None

    def clean_place(self):
        place_id = self.cleaned_data.get("place")
        if place_id is None:
            return None
        place = scoped(self.user, Place.objects.filter(pk=place_id), Cap.VIEW_RESIDENTS).first()
        if place is None:
            raise ValidationError(_("所选地点不在您的管辖范围内"))
        self.place_obj = place
        return place

    def filters(self) -> ResidentFilters:
        data = self.cleaned_data
        return ResidentFilters(
            place=data.get("place"),
            category=data.get("category"),
            zone=data.get("zone") or "",
            q=data.get("q") or "",
            priority_only=bool(data.get("priority")),
        )

    @property
    def page_number(self) -> int:
        return (self.cleaned_data.get("page") if hasattr(self, "cleaned_data") else None) or 1

    def place_options(self) -> list[PickerOption]:
        """One select: "all", the chosen place's ancestors in scope, the place itself, then its children."""
        current = self.place_obj
        roots = scope_places(self.user, Cap.VIEW_RESIDENTS)
        options = [PickerOption("", _("全部（我的范围）"), current is None)]
        if current is None:
            if len(roots) == 1:
                options[0].label = _("全部：%(name)s") % {"name": roots[0].name}
                shown = picker_children(self.user, roots[0])
            else:
                shown = _sorted(roots)
            options += [PickerOption(str(p.pk), f"　{p.name} · {p.get_kind_display()}") for p in shown]
            return options
        chain_ids = [i for i in current.ancestor_ids if i != current.pk]
        chain = scoped(self.user, Place.objects.filter(pk__in=chain_ids), Cap.VIEW_RESIDENTS)
        chain = sorted(chain, key=lambda p: p.depth)
        for level, p in enumerate(chain):
            options.append(PickerOption(str(p.pk), "　" * (level + 1) + f"{p.name} · {p.get_kind_display()}"))
        level = len(chain) + 1
        options.append(
            PickerOption(str(current.pk), "　" * level + f"{current.name} · {current.get_kind_display()}", True)
        )
        options += [
            PickerOption(str(p.pk), "　" * (level + 1) + f"{p.name} · {p.get_kind_display()}")
            for p in picker_children(self.user, current)
        ]
        return options


class HouseholdPicker:
    """Compound → building → unit → household, each limited to where the user may edit residents.

    Built from submitted ids (or a resident's current household); an id that does not fit its parent
    or the user's scope is dropped, and the finer levels with it.
    """

    capability = Cap.EDIT_RESIDENTS

    def __init__(self, user, *, compound=None, building=None, unit=None, household=None):
        self.user = user
        self.compounds = self._compounds()
        self.compound = self._pick(self.compounds, compound)
        self.buildings = self._children(self.compound, PlaceKind.BUILDING)
        self.building = self._pick(self.buildings, building)
        self.units = self._children(self.building, PlaceKind.UNIT)
        self.unit = self._pick(self.units, unit)
        self.households = self._children(self.unit or self.building, PlaceKind.HOUSEHOLD)
        self.household = self._pick(self.households, household)

    @classmethod
    def from_data(cls, user, data) -> "HouseholdPicker":
        def number(name):
            value = (data.get(name) or "").strip()
            return int(value) if value.isdigit() else None

        return cls(
            user,
            compound=number("compound"),
            building=number("building"),
            unit=number("unit"),
            household=number("household"),
        )

    @classmethod
    def for_household(cls, user, household: Place | None) -> "HouseholdPicker":
        if household is None:
            return cls(user)
        ids = {p.kind: p.pk for p in ancestors(household)}
        return cls(
            user,
            compound=ids.get(PlaceKind.COMPOUND),
            building=ids.get(PlaceKind.BUILDING),
            unit=ids.get(PlaceKind.UNIT),
            household=household.pk,
        )

    def _compounds(self) -> list[Place]:
        # A grid's scope reaches buildings, not whole compounds: offer the compounds holding them.
        buildings = scoped(self.user, Place.objects.filter(kind=PlaceKind.BUILDING), self.capability)
        in_scope = scoped(self.user, Place.objects.filter(kind=PlaceKind.COMPOUND), self.capability)
        qs = Place.objects.filter(kind=PlaceKind.COMPOUND).filter(
            pk__in=buildings.values("parent_id")
        ) | Place.objects.filter(pk__in=in_scope.values("pk"))
        return sorted(qs.distinct()[:PICKER_LIMIT], key=lambda p: natural_key(p.name))

    def _children(self, parent: Place | None, kind: str) -> list[Place]:
        if parent is None:
            return []
        qs = scoped(self.user, Place.objects.filter(parent=parent, kind=kind), self.capability)
        return sorted(qs[: PICKER_LIMIT * 4], key=lambda p: natural_key(p.name))

    @staticmethod
    def _pick(options: list[Place], place_id) -> Place | None:
        return next((p for p in options if p.pk == place_id), None)

    @property
    def room_parent(self) -> Place | None:
        """Where a newly typed room number goes."""
        return self.unit or self.building


class ResidentForm(forms.Form):
    """Feeds ResidentData; the actions judge the ID number, name and household (one judge for all inputs)."""

    name = forms.CharField(label=gettext_lazy("姓名"), max_length=60, required=False)
    id_number = forms.CharField(label=gettext_lazy("身份证号"), max_length=40, required=False)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=40, required=False)
    emergency_contact = forms.CharField(label=gettext_lazy("紧急联系人"), max_length=50, required=False)
    emergency_phone = forms.CharField(label=gettext_lazy("紧急联系电话"), max_length=40, required=False)
    note = forms.CharField(label=gettext_lazy("备注"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    household = forms.CharField(required=False)  # the picker's own inputs carry the value; this holds its errors
    new_room = forms.CharField(label=gettext_lazy("新房号"), max_length=30, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, resident: Resident | None = None, **kwargs):
        self.user = user
        self.resident = resident
        held = {}
        if resident is not None:
            held = {link.category_id: link for link in resident.category_links.select_related("category")}
            kwargs.setdefault(
                "initial",
                {
                    "name": resident.name,
                    "id_number": resident.id_number,
                    "phone": resident.phone,
                    "emergency_contact": resident.emergency_contact,
                    "emergency_phone": resident.emergency_phone,
                    "note": resident.note,
                    "version": resident.version,
                },
            )
        super().__init__(*args, **kwargs)
        categories = list(categories_active())
        categories += [link.category for link in held.values() if link.category not in categories]
        self.categories = categories
        self.held = held
        for category in categories:
            link = held.get(category.pk)
            self.fields[f"cat_{category.pk}"] = forms.BooleanField(required=False, initial=link is not None)
            self.fields[f"since_{category.pk}"] = forms.DateField(
                required=False, initial=link.since if link else None, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[f"until_{category.pk}"] = forms.DateField(
                required=False, initial=link.until if link else None, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[f"note_{category.pk}"] = forms.CharField(
                required=False, max_length=200, initial=link.note if link else ""
            )
        if self.is_bound:
            self.picker = HouseholdPicker.from_data(user, self.data)
        else:
            self.picker = HouseholdPicker.for_household(user, resident.household if resident else None)

    def category_rows(self) -> list[dict]:
        return [
            {
                "category": c,
                "checked": self[f"cat_{c.pk}"],
                "since": self[f"since_{c.pk}"],
                "until": self[f"until_{c.pk}"],
                "note": self[f"note_{c.pk}"],
            }
            for c in self.categories
        ]

    def clean_new_room(self):
        room = clean_text(self.cleaned_data.get("new_room")).replace(" ", "")
        if room and self.picker.room_parent is None:
            raise ValidationError(_("请先选择楼栋（和单元），再填写新房号"))
        return room

    def room_to_create(self) -> tuple[Place, str] | None:
        """(building or unit, room number) when the user typed a room that is to be created."""
        room = self.cleaned_data.get("new_room")
        return (self.picker.room_parent, room) if room else None

    def resident_data(self, household: Place | None) -> ResidentData:
        data = self.cleaned_data
        entries = []
        for category in self.categories:
            if data.get(f"cat_{category.pk}"):
                entries.append(
                    CategoryEntry(
                        category,
                        since=data.get(f"since_{category.pk}"),
                        until=data.get(f"until_{category.pk}"),
                        note=clean_text(data.get(f"note_{category.pk}")),
                    )
                )
        return ResidentData(
            id_number=data.get("id_number") or "",
            name=data.get("name") or "",
            household=household,
            phone=data.get("phone") or "",
            emergency_contact=data.get("emergency_contact") or "",
            emergency_phone=data.get("emergency_phone") or "",
            note=to_simplified(data.get("note") or ""),
            categories=entries,
        )

    def add_action_errors(self, error: ValidationError) -> None:
        """Put an action's errors next to the fields they concern."""
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


class CategoryForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("代码（英文）"), max_length=48)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=50)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=80, required=False)
    synonyms = forms.CharField(label=gettext_lazy("同义词（用顿号或逗号分隔）"), max_length=500, required=False)

    def synonym_list(self) -> list[str]:
        return [s for s in CATEGORY_SEPARATORS.split(self.cleaned_data.get("synonyms") or "") if s]

    def add_action_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)

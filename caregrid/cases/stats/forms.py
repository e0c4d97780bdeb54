"""The statistics filters: a place of the user's tree and a period (a day, a week or two dates)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scope_places
from caregrid.people.forms import PickerOption, natural_key, picker_children
from caregrid.places.models import Place, PlaceKind

from .queries import MAX_PERIOD_DAYS, Period, local_today, stats_places

PERIOD_CHOICES = [
    ("day", gettext_lazy("按日")),
    ("week", gettext_lazy("按周")),
    ("custom", gettext_lazy("自定义")),
]


class StatsFilterForm(forms.Form):
    place = forms.IntegerField(required=False, min_value=1)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    date = forms.DateField(required=False)
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.place_obj: Place | None = None
        self.fields["period"].error_messages["invalid_choice"] = _("统计周期无效")
        for name in ("date", "start", "end"):
            self.fields[name].error_messages["invalid"] = _("请输入有效日期，如2026-01-31")

    def clean_place(self):
        place_id = self.cleaned_data.get("place")
        if place_id is None:
            return None
        place = stats_places(self.user).filter(pk=place_id).first()
        if place is None:
            raise ValidationError(_("所选地点不在您的管辖范围内"))
        self.place_obj = place
        return place

    def clean(self):
        data = super().clean()
        kind = data.get("period") or "day"
        if kind == "custom":
            start, end = data.get("start"), data.get("end")
            if self.has_error("start") or self.has_error("end"):
                return data
            if start is None or end is None:
                raise ValidationError(_("自定义统计周期请填写起始日期和截止日期"))
            if end < start:
                raise ValidationError(_("截止日期不能早于起始日期"))
            if (end - start).days + 1 > MAX_PERIOD_DAYS:
                raise ValidationError(_("统计周期不能超过%(n)s天") % {"n": MAX_PERIOD_DAYS})
            data["period_obj"] = Period.custom(start, end)
        else:
            day = data.get("date") or local_today()
            data["period_obj"] = Period.week(day) if kind == "week" else Period.day(day)
        return data

    @property
    def period_obj(self) -> Period:
        """The period asked for; today when the filters are missing or wrong."""
        data = getattr(self, "cleaned_data", None) or {}
        return data.get("period_obj") or Period.day(local_today())

    def place_options(self) -> list[PickerOption]:
        """One select: "all", the chosen place's ancestors in scope, the place itself, then its children."""
        current = self.place_obj
        roots = scope_places(self.user, Cap.VIEW_CASES)
        options = [PickerOption("", _("全部（我的范围）"), current is None)]
        if current is None:
            if len(roots) == 1:
                options[0].label = _("全部：%(name)s") % {"name": roots[0].name}
                shown = picker_children(self.user, roots[0], Cap.VIEW_CASES)
            else:
                shown = sorted(roots, key=lambda p: (p.kind != PlaceKind.GRID, natural_key(p.name)))
            options += [PickerOption(str(p.pk), f"　{p.name} · {p.get_kind_display()}") for p in shown]
            return options
        chain_ids = [i for i in current.ancestor_ids if i != current.pk]
        chain = sorted(stats_places(self.user).filter(pk__in=chain_ids), key=lambda p: p.depth)
        for level, p in enumerate(chain):
            options.append(PickerOption(str(p.pk), "　" * (level + 1) + f"{p.name} · {p.get_kind_display()}"))
        level = len(chain) + 1
        options.append(
            PickerOption(str(current.pk), "　" * level + f"{current.name} · {current.get_kind_display()}", True)
        )
        options += [
            PickerOption(str(p.pk), "　" * (level + 1) + f"{p.name} · {p.get_kind_display()}")
            for p in picker_children(self.user, current, Cap.VIEW_CASES)
        ]
        return options

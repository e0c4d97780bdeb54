"""Forms of the place pages: a zone change on a place, and the bureau's mode switch (平急转换)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Mode, ZoneStatus
from .queries import today

DATE_ERRORS = {"invalid": _("请输入有效日期，如2022-01-05")}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class ZoneForm(forms.Form):
    status = forms.ChoiceField(
        label=_("区域状态"), choices=ZoneStatus.choices, error_messages={"required": _("请选择区域状态")}
    )
    start_date = forms.DateField(
        label=_("生效日期"),
        widget=DateInput(),
        error_messages={"required": _("请填写生效日期"), **DATE_ERRORS},
    )
    end_date = forms.DateField(
        label=_("截止日期（可不填）"), required=False, widget=DateInput(), error_messages=DATE_ERRORS
    )
    reason = forms.CharField(
        label=_("调整原因"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请填写调整原因"), "max_length": _("原因不能超过500个字")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"start_date": today()})
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("截止日期不能早于生效日期"))
        return data


class ModeForm(forms.Form):
    mode = forms.ChoiceField(label=_("切换为"), choices=Mode.choices, error_messages={"required": _("请选择模式")})
    reason = forms.CharField(
        label=_("切换原因"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请填写切换原因"), "max_length": _("原因不能超过500个字")},
    )
    # Set by the confirmation page; the first submission only shows what will happen.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, current: str = Mode.PEACETIME, **kwargs):
        self.current = current
        kwargs.setdefault("initial", {"mode": Mode.EMERGENCY if current == Mode.PEACETIME else Mode.PEACETIME})
        super().__init__(*args, **kwargs)

    def clean_mode(self):
        mode = self.cleaned_data["mode"]
        if mode == self.current:
            raise forms.ValidationError(_("当前已是%(mode)s模式") % {"mode": Mode(mode).label})
        return mode


class GridLeaderForm(forms.Form):
    leader = forms.ModelChoiceField(label=_("网格长"), queryset=None, required=False, empty_label=_("（不设网格长）"))

    def __init__(self, *args, grid, **kwargs):
        super().__init__(*args, **kwargs)
        from .actions import leader_candidates

        self.fields["leader"].queryset = leader_candidates(grid)
        self.fields["leader"].error_messages["invalid_choice"] = _("请从列表中选择网格长")

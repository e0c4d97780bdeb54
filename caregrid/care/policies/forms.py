import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caregrid.people.models import Category
from caregrid.places.models import Mode, ZoneStatus

from ..models import ContactChannel, PeriodUnit


class PolicyForm(forms.Form):
    category = forms.ModelChoiceField(label=_("人员类别"), queryset=Category.objects.filter(is_active=True))
    mode = forms.ChoiceField(label=_("模式"), choices=Mode.choices)
    zone = forms.ChoiceField(
        label=_("区域状态"), choices=[("", _("任意区域"))] + list(ZoneStatus.choices), required=False
    )
    times = forms.IntegerField(label=_("次数"), min_value=1, max_value=24, initial=1)
    per = forms.ChoiceField(label=_("周期"), choices=PeriodUnit.choices)
    channel = forms.ChoiceField(
        label=_("方式"), choices=[("", _("任意方式"))] + list(ContactChannel.choices), required=False
    )
    temperature = forms.BooleanField(label=_("需测体温"), required=False)
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class EndPolicyForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class CoverageForm(forms.Form):
    place = forms.IntegerField(required=False, widget=forms.HiddenInput)
    date = forms.DateField(label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def day(self) -> dt.date:
        today = timezone.localdate()
        value = self.cleaned_data.get("date") if self.is_valid() else None
        return min(value, today) if value else today

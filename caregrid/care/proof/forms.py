"""The day's proof filters: place, day, grid, channel, outcome, order and page; a wrong value counts as none."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import ContactChannel, Reached

# Ids beyond this are not ids (and would overflow the database's integer).
MAX_ID = 2**62


class ProofForm(forms.Form):
    place = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    date = forms.DateField(label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    grid = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    channel = forms.ChoiceField(
        label=_("方式"), choices=[("", _("全部"))] + list(ContactChannel.choices), required=False
    )
    outcome = forms.ChoiceField(label=_("结果"), choices=[("", _("全部"))] + list(Reached.choices), required=False)
    sort = forms.ChoiceField(choices=[("at", "at"), ("-at", "-at")], required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def value(self, name: str):
        """A field's cleaned value; a wrong value is ignored like a missing one."""
        self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def day(self) -> dt.date:
        today = timezone.localdate()
        value = self.value("date")
        return min(value, today) if value else today

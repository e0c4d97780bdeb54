"""Forms of the account page and the audit search."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .audit import audit_record
from .queries import AuditFilters


class AuditedPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the change written to the audit log in the same transaction."""

    @transaction.atomic
    def save(self, commit=True):
        user = super().save(commit=commit)
        audit_record(actor=user, action="user.password_change", obj=user, object_repr=user.username)
        return user


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100, required=False)


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), max_length=150, required=False)
    action = forms.CharField(label=_("操作"), max_length=64, required=False)
    object_type = forms.CharField(label=_("对象类型"), max_length=64, required=False)
    object_id = forms.CharField(label=_("对象编号"), max_length=64, required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(label=_("关键词"), max_length=100, required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("截止日期不能早于起始日期"))
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=(data.get("actor") or "").strip(),
            action=(data.get("action") or "").strip(),
            object_type=(data.get("object_type") or "").strip(),
            object_id=(data.get("object_id") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            text=(data.get("text") or "").strip(),
        )

"""The public help form (no account) and the tracking-code lookup of the status page."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.people.validation import clean_phone, clean_text

from ..actions import DESCRIPTION_MAX, IntakeData
from ..models import Channel
from ..taxonomy import CaseCategory

# A tracking code as printed (letters and digits); spaces and dashes people add when copying are dropped.
_CODE_NOISE = re.compile(r"[\s\-_]")
_CODE = re.compile(r"[A-Z0-9]{6,16}")


def category_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("不清楚")), *CaseCategory.choices]


class HelpForm(forms.Form):
    description = forms.CharField(max_length=DESCRIPTION_MAX, widget=forms.Textarea)
    name = forms.CharField(required=False, max_length=50)
    phone = forms.CharField(max_length=40)
    address = forms.CharField(required=False, max_length=200)
    category = forms.ChoiceField(required=False, choices=category_choices)
    # A field people never see (hidden by the stylesheet); form-filling robots fill it in.
    website = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        f = self.fields
        self.bad_phone = _("请填写有效的手机或固定电话号码，如 13812345678 或 0513-85123456")
        f["description"].error_messages.update(
            required=_("请说明您需要什么帮助"),
            max_length=_("诉求内容不能超过%(n)s个字") % {"n": DESCRIPTION_MAX},
        )
        f["name"].error_messages.update(max_length=_("姓名不能超过50个字"))
        f["phone"].error_messages.update(required=_("请填写联系电话，方便工作人员联系您"), max_length=self.bad_phone)
        f["address"].error_messages.update(max_length=_("地址不能超过200个字"))
        f["category"].error_messages.update(invalid_choice=_("请选择列表中的类别"))

    def clean_description(self) -> str:
        text = clean_text(self.cleaned_data["description"])
        if not text:
            raise ValidationError(_("请说明您需要什么帮助"))
        return text

    def clean_phone(self) -> str:
        phone, valid = clean_phone(self.cleaned_data["phone"])
        if not phone or not valid:
            raise ValidationError(self.bad_phone)
        return phone

    @property
    def is_robot(self) -> bool:
        return bool(self.data.get("website", "").strip())

    def intake(self, *, source_ip: str | None) -> IntakeData:
        data = self.cleaned_data
        return IntakeData(
            channel=Channel.PUBLIC_FORM,
            description=data["description"],
            category=data["category"],
            caller_name=data["name"],
            caller_phone=data["phone"],
            address_text=data["address"],
            source_ip=source_ip,
        )


def normalise_code(text: str) -> str | None:
    """The tracking code in its stored form, or None when it cannot be one (no query is made for it)."""
    code = _CODE_NOISE.sub("", text or "").upper()
    return code if _CODE.fullmatch(code) else None

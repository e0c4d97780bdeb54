"""Forms of the care team pages: one carer, a handover, ending an assignment, a team template for a grid."""

from django import forms
from django.utils.translation import gettext_lazy as _

from caregrid.care.models import CarerRole

from .actions import Carer, TeamTemplate


class CarerFields(forms.Form):
    """A carer is a user picked from a list, or a name and phone for someone who does not use caregrid."""

    carer = forms.ModelChoiceField(
        queryset=None, label=_("系统用户"), required=False, empty_label=_("（填写姓名电话）")
    )
    carer_name = forms.CharField(label=_("包联人姓名"), max_length=50, required=False)
    carer_phone = forms.CharField(label=_("包联人电话"), max_length=40, required=False)

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carer"].queryset = users

    def clean(self):
        data = super().clean()
        if not data.get("carer") and not (data.get("carer_name") or "").strip():
            raise forms.ValidationError(_("请选择系统用户，或填写包联人姓名和电话"))
        return data

    def carer_value(self) -> Carer:
        data = self.cleaned_data
        if data.get("carer"):
            return Carer(user=data["carer"])
        return Carer(name=data.get("carer_name", ""), phone=data.get("carer_phone", ""))


class AssignForm(CarerFields):
    role = forms.ChoiceField(
        label=_("包联角色"), choices=CarerRole.choices, error_messages={"required": _("请选择包联角色")}
    )

    field_order = ["role", "carer", "carer_name", "carer_phone"]


class HandoverForm(CarerFields):
    reason = forms.CharField(
        label=_("交接原因"),
        max_length=200,
        help_text=_("如：包联人患病、被隔离"),
        error_messages={"required": _("请填写交接原因"), "max_length": _("原因不能超过200个字")},
    )

    field_order = ["reason", "carer", "carer_name", "carer_phone"]


class EndForm(forms.Form):
    reason = forms.CharField(
        label=_("结束原因"),
        max_length=200,
        error_messages={"required": _("请填写结束原因"), "max_length": _("原因不能超过200个字")},
    )


class TemplateForm(forms.Form):
    """One row per slot of the template: a user, or (where the slot allows it) a name and phone."""

    grid = forms.ModelChoiceField(queryset=None, label=_("网格"), error_messages={"required": _("请选择网格")})

    def __init__(self, *args, template: TeamTemplate, grids, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.fields["grid"].queryset = grids
        for slot in template.slots:
            self.fields[f"{slot.key}_user"] = forms.ModelChoiceField(
                queryset=users, label=slot.label, required=False, empty_label=_("（不指派）")
            )
            if slot.by_name:
                self.fields[f"{slot.key}_name"] = forms.CharField(label=_("姓名"), max_length=50, required=False)
                self.fields[f"{slot.key}_phone"] = forms.CharField(label=_("电话"), max_length=40, required=False)

    def slot_rows(self):
        for slot in self.template.slots:
            yield {
                "slot": slot,
                "user": self[f"{slot.key}_user"],
                "name": self[f"{slot.key}_name"] if slot.by_name else None,
                "phone": self[f"{slot.key}_phone"] if slot.by_name else None,
            }

    def clean(self):
        data = super().clean()
        for slot in self.template.slots:
            user = data.get(f"{slot.key}_user")
            name = (data.get(f"{slot.key}_name") or "").strip()
            if user and name:
                self.add_error(f"{slot.key}_user", _("请选择系统用户或填写姓名电话，二者择一"))
        return data

    def carers(self) -> dict[str, Carer]:
        result = {}
        for slot in self.template.slots:
            user = self.cleaned_data.get(f"{slot.key}_user")
            name = (self.cleaned_data.get(f"{slot.key}_name") or "").strip()
            if user:
                result[slot.key] = Carer(user=user)
            elif name:
                result[slot.key] = Carer(name=name, phone=self.cleaned_data.get(f"{slot.key}_phone", ""))
        return result

"""Forms of the door-knocking pages. They only read the request; the actions judge the values, the same way the
ledger import does, so a form never accepts what the import would refuse."""

from django import forms
from django.utils.translation import gettext_lazy as _

from caregrid.people.models import Category
from caregrid.places.models import Place

from .actions import NewResident


class RoundForm(forms.Form):
    name = forms.CharField(label=_("行动名称"), max_length=100)
    place = forms.ModelChoiceField(label=_("范围"), queryset=Place.objects.none())
    start_date = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, places=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["place"]
        field.queryset = Place.objects.filter(pk__in=[p.pk for p in places])
        field.choices = [("", "---------")] + [(p.pk, f"{p.get_kind_display()} · {p.label}") for p in places]


class CloseForm(forms.Form):
    note = forms.CharField(label=_("结束说明"), required=False, max_length=500)


class NewResidentForm(forms.Form):
    """One person found living in the household; a block left empty is no finding."""

    name = forms.CharField(label=_("姓名"), required=False, max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"), required=False, max_length=30, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("联系电话"), required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel"})
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("人员类别"),
        required=False,
        queryset=Category.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("备注"), required=False, max_length=500)

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any((data.get("name"), data.get("id_number"), data.get("phone"), data.get("categories")))

    def finding(self) -> NewResident:
        data = self.cleaned_data
        return NewResident(
            name=data["name"],
            id_number=data["id_number"],
            phone=data["phone"],
            categories=list(data["categories"]),
            note=data["note"],
        )

"""Forms of the help-request pages: the hotline intake, the queue filters, workflow steps, errands, deadlines."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.accounts.models import User
from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.people.models import Resident
from caregrid.places.models import Place, PlaceKind

from .models import Channel, Satisfaction, Status, Subcategory, TaskKind
from .queries import CaseFilters
from .taxonomy import CaseCategory, Urgency

BLANK = [("", gettext_lazy("采用系统建议"))]


class IntakeForm(forms.Form):
    """The hotline screen: who calls, what they need, how it is handled — one submit."""

    HANDLING = [
        ("", gettext_lazy("暂不处理（待分派）")),
        ("answer", gettext_lazy("即刻答复")),
        ("coordinate", gettext_lazy("协调解决")),
        ("dispatch", gettext_lazy("交办处置")),
    ]

    channel = forms.ChoiceField(label=gettext_lazy("来源渠道"), choices=Channel.choices, initial=Channel.HOTLINE)
    caller_phone = forms.CharField(label=gettext_lazy("来电号码"), max_length=40, required=False)
    caller_name = forms.CharField(label=gettext_lazy("求助人"), max_length=50, required=False)
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    description = forms.CharField(
        label=gettext_lazy("诉求内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    address_text = forms.CharField(label=gettext_lazy("地址"), max_length=200, required=False)
    place = forms.IntegerField(required=False, widget=forms.HiddenInput)
    category = forms.ChoiceField(label=gettext_lazy("诉求类别"), choices=BLANK + CaseCategory.choices, required=False)
    urgency = forms.ChoiceField(label=gettext_lazy("紧急程度"), choices=BLANK + Urgency.choices, required=False)
    handling = forms.ChoiceField(label=gettext_lazy("处理方式"), choices=HANDLING, required=False)
    answer = forms.CharField(
        label=gettext_lazy("答复内容"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    dispatch_to = forms.IntegerField(label=gettext_lazy("交办给"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.resident_obj: Resident | None = None
        self.place_obj: Place | None = None
        self.dispatch_obj: Place | None = None

    def clean_resident(self):
        pk = self.cleaned_data.get("resident")
        if pk:
            from caregrid.people.queries import residents_visible

            self.resident_obj = residents_visible(self.user).select_related("household").filter(pk=pk).first()
            if self.resident_obj is None:
                raise ValidationError(_("所选居民不在您的管辖范围内"))
        return pk

    def clean_place(self):
        pk = self.cleaned_data.get("place")
        if pk:
            self.place_obj = scoped(self.user, Place.objects.filter(pk=pk), Cap.TAKE_CASES).first()
            if self.place_obj is None:
                raise ValidationError(_("所选地点不在您的管辖范围内"))
        return pk

    def clean_dispatch_to(self):
        pk = self.cleaned_data.get("dispatch_to")
        if pk:
            place = Place.objects.filter(pk=pk).first()
            if place is None or place.kind not in (PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID):
                raise ValidationError(_("只能交办给街道、社区或网格"))
            self.dispatch_obj = scoped(self.user, Place.objects.filter(pk=pk), Cap.DISPATCH_CASES).first()
            if self.dispatch_obj is None:
                raise ValidationError(_("所选地点不在您的管辖范围内"))
        return pk

    def clean(self):
        data = super().clean()
        handling = data.get("handling")
        if handling == "answer" and not (data.get("answer") or "").strip():
            self.add_error("answer", _("即刻答复时请填写答复内容"))
        if handling == "dispatch" and not data.get("dispatch_to"):
            self.add_error("dispatch_to", _("交办时请选择承办单位"))
        return data


class QueueFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("open", gettext_lazy("未办结")),
        ("overdue", gettext_lazy("已超时")),
        ("unacknowledged", gettext_lazy("待签收")),
        ("done", gettext_lazy("已办结")),
        ("all", gettext_lazy("全部")),
        *Status.choices,
    ]
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    category = forms.ChoiceField(choices=[("", gettext_lazy("全部类别"))] + CaseCategory.choices, required=False)
    urgency = forms.ChoiceField(choices=[("", gettext_lazy("全部"))] + Urgency.choices, required=False)
    channel = forms.ChoiceField(choices=[("", gettext_lazy("全部渠道"))] + Channel.choices, required=False)
    mine = forms.BooleanField(required=False)
    q = forms.CharField(required=False, max_length=50)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name in ("status", "category", "urgency", "channel"):
            self.fields[name].error_messages["invalid_choice"] = _("筛选条件无效")

    def filters(self, assigned_to: Place | None = None) -> CaseFilters:
        d = self.cleaned_data
        status = d.get("status") or "open"
        return CaseFilters(
            status="" if status == "all" else status,
            category=d.get("category") or "",
            urgency=d.get("urgency") or "",
            channel=d.get("channel") or "",
            q=d.get("q") or "",
            assigned_to=assigned_to if d.get("mine") else None,
        )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class DispatchForm(NoteForm):
    place = forms.IntegerField(label=gettext_lazy("交办给"))


class CloseForm(NoteForm):
    satisfaction = forms.ChoiceField(label=gettext_lazy("回访满意度"), choices=Satisfaction.choices)


class RetriageForm(NoteForm):
    category = forms.ChoiceField(label=gettext_lazy("诉求类别"), choices=CaseCategory.choices)
    urgency = forms.ChoiceField(label=gettext_lazy("紧急程度"), choices=Urgency.choices)
    subcategory = forms.ModelChoiceField(
        label=gettext_lazy("子类"), queryset=Subcategory.objects.filter(is_active=True), required=False
    )


class LinkForm(NoteForm):
    primary = forms.IntegerField(label=gettext_lazy("关联到工单"))


class PlaceForm(NoteForm):
    place = forms.IntegerField(label=gettext_lazy("地点"))


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("任务类型"), choices=TaskKind.choices)
    assignee = forms.ModelChoiceField(label=gettext_lazy("承办人"), queryset=User.objects.none())
    detail = forms.CharField(label=gettext_lazy("任务说明"), max_length=300, required=False)

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["assignee"].error_messages["invalid_choice"] = _("承办人不在可选范围内")


class TaskDoneForm(forms.Form):
    result = forms.CharField(label=gettext_lazy("完成情况"), max_length=300, required=False)


class DeadlineForm(forms.Form):
    """Minutes to first contact and to resolution for each urgency."""

    def __init__(self, *args, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for urgency, label in Urgency.choices:
            first, resolve = current[urgency]
            self.fields[f"{urgency}_first"] = forms.IntegerField(
                label=_("%(urgency)s：首次联系（分钟）") % {"urgency": label}, min_value=1, initial=first
            )
            self.fields[f"{urgency}_resolve"] = forms.IntegerField(
                label=_("%(urgency)s：办结（分钟）") % {"urgency": label}, min_value=1, initial=resolve
            )

    def values(self) -> dict[str, tuple[int, int]]:
        d = self.cleaned_data
        return {u: (d[f"{u}_first"], d[f"{u}_resolve"]) for u in Urgency.values}


class SubcategoryForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("诉求类别"), choices=CaseCategory.choices)
    name = forms.CharField(label=gettext_lazy("子类名称"), max_length=40)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=80, required=False)

"""Forms of the testing-round pages; the checks that matter live in the actions, these only read the input."""

from pathlib import Path

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.people.ledger.reader import SUFFIXES

from .models import OutreachOutcome, OutreachRung, Population, Result, Where

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class RoundForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("轮次名称"),
        max_length=100,
        help_text=gettext_lazy("如：4月10日全员核酸检测"),
        error_messages={"required": gettext_lazy("请填写轮次名称")},
    )
    place = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("检测范围"), error_messages={"required": gettext_lazy("请选择检测范围")}
    )
    start_date = forms.DateField(
        label=gettext_lazy("开始日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": gettext_lazy("请填写开始日期"), "invalid": gettext_lazy("日期格式不正确")},
    )
    end_date = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        help_text=gettext_lazy("只检一天可不填"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式不正确")},
    )
    population = forms.ChoiceField(label=gettext_lazy("检测对象"), choices=Population.choices, initial=Population.ALL)
    note = forms.CharField(
        label=gettext_lazy("说明"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, places=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places
        self.fields["place"].label_from_instance = lambda p: f"{p.get_kind_display()} · {p.name}"
        self.fields["start_date"].initial = timezone.localdate()


class RecordForm(forms.Form):
    where = forms.ChoiceField(label=gettext_lazy("采样方式"), choices=Where.choices, initial=Where.SITE)
    site = forms.CharField(label=gettext_lazy("采样点"), max_length=100, required=False)
    tube_code = forms.CharField(label=gettext_lazy("试管编码"), max_length=40, required=False)


class ResampleForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("复采原因"),
        max_length=200,
        help_text=gettext_lazy("如：混管阳性、试管破损"),
        error_messages={"required": gettext_lazy("请填写复采原因")},
    )
    tube_code = forms.CharField(label=gettext_lazy("新试管编码"), max_length=40, required=False)


class ResultForm(forms.Form):
    result = forms.ChoiceField(label=gettext_lazy("检测结果"), choices=Result.choices)


class OutreachForm(forms.Form):
    step = forms.ChoiceField(label=gettext_lazy("动员方式"), choices=OutreachRung.choices)
    outcome = forms.ChoiceField(
        label=gettext_lazy("结果"), choices=[("", gettext_lazy("（不填）")), *OutreachOutcome.choices], required=False
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)


class GroupNoticeForm(forms.Form):
    grid = forms.ModelChoiceField(
        queryset=None,
        label=gettext_lazy("网格"),
        empty_label=gettext_lazy("请选择网格"),
        error_messages={"required": gettext_lazy("请选择网格")},
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)

    def __init__(self, *args, grids=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids


class HomeAddForm(forms.Form):
    residents = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": gettext_lazy("请勾选要上门采样的居民")}
    )
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200, required=False)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residents"].choices = choices


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("检测结果文件（xlsx、xls、ods或csv）"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in SUFFIXES:
            raise forms.ValidationError(
                _("不支持的文件类型“%(suffix)s”：请上传xlsx、xls、ods或csv文件") % {"suffix": suffix}
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件太大（超过20MB），请拆分后分批导入"))
        return upload


class ConfirmForm(forms.Form):
    partial = forms.BooleanField(required=False, label=gettext_lazy("只导入无误的行（有问题的行跳过）"))

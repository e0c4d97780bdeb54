"""The referral batch forms: the file to check, and the confirmation with the all-or-nothing choice."""

from pathlib import Path

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.people.ledger.reader import SUFFIXES

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PARTIAL_LABEL = gettext_lazy("只导入无误的行（有问题的行跳过）")


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("12345转办工单文件（xlsx、xls、ods或csv）"))

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
    partial = forms.BooleanField(required=False, label=PARTIAL_LABEL)

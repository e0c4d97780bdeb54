"""The upload form: a ledger file and the community it goes into (from the user's own scope)."""

from pathlib import Path

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caregrid.accounts.roles import Cap
from caregrid.accounts.scope import scoped
from caregrid.places.models import Place, PlaceKind
from caregrid.places.tree import ancestors, full_name

from .reader import SUFFIXES

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def import_targets(user):
    """The communities a user may import into."""
    return scoped(user, Place.objects.filter(kind=PlaceKind.COMMUNITY), Cap.IMPORT).order_by("path")


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return full_name(ancestors(obj))


class UploadForm(forms.Form):
    place = PlaceChoiceField(queryset=Place.objects.none(), label=gettext_lazy("导入到社区"))
    file = forms.FileField(label=gettext_lazy("台账文件（xlsx、xls、ods或csv）"))
    partial = forms.BooleanField(required=False, label=gettext_lazy("只导入无误的行（有问题的行跳过）"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = import_targets(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in SUFFIXES:
            raise forms.ValidationError(
                _("不支持的文件类型“%(suffix)s”：请上传xlsx、xls、ods或csv文件") % {"suffix": suffix}
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件太大（超过200MB），请拆分后分批导入"))
        return upload


class ConfirmForm(forms.Form):
    partial = forms.BooleanField(required=False, label=gettext_lazy("只导入无误的行（有问题的行跳过）"))

"""The form-encoded body of POST requests, under the spec's argument names."""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from caregrid.accounts.api import MAX_ID
from caregrid.places.models import Place, PlaceKind

SIX_PLACES = Decimal("0.000001")


def _messages(name: str, **extra: str) -> dict[str, str]:
    return {"required": _("缺少参数 %(name)s") % {"name": name}, **extra}


class ServiceRequestForm(forms.Form):
    """POST requests: what the client sends, cleaned; the service code is resolved by the view (404 if unknown)."""

    description = forms.CharField()
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    long = forms.FloatField(required=False, min_value=-180, max_value=180)
    address_string = forms.CharField(required=False)
    address_id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    email = forms.EmailField(required=False, max_length=254)
    first_name = forms.CharField(required=False)
    last_name = forms.CharField(required=False)
    phone = forms.CharField(required=False, max_length=40)
    media_url = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["description"].error_messages = _messages("description", required=_("请填写诉求内容（description）"))
        bad_lat = _("lat 须为 -90 到 90 之间的数字")
        bad_long = _("long 须为 -180 到 180 之间的数字")
        fields["lat"].error_messages = _messages("lat", invalid=bad_lat, min_value=bad_lat, max_value=bad_lat)
        fields["long"].error_messages = _messages("long", invalid=bad_long, min_value=bad_long, max_value=bad_long)
        bad_id = _("address_id 须为地址编号（正整数）")
        fields["address_id"].error_messages = _messages(
            "address_id", invalid=bad_id, min_value=bad_id, max_value=bad_id
        )
        bad_email = _("email 不是有效的邮箱地址")
        fields["email"].error_messages = _messages("email", invalid=bad_email, max_length=bad_email)
        fields["phone"].error_messages = _messages("phone", max_length=_("phone 不能超过40个字符"))
        fields["media_url"].error_messages = _messages("media_url", max_length=_("media_url 不能超过500个字符"))
        self.place: Place | None = None

    def clean_address_id(self):
        place_id = self.cleaned_data.get("address_id")
        if place_id is None:
            return None
        self.place = Place.objects.exclude(kind=PlaceKind.GRID).filter(pk=place_id).first()
        if self.place is None:
            raise ValidationError(_("地址编号 %(id)s 不存在") % {"id": place_id})
        return place_id

    def clean_media_url(self):
        url = self.cleaned_data.get("media_url", "").strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                raise ValidationError(_("media_url 须为 http 或 https 网址")) from None
        return url

    def clean(self):
        data = super().clean()
        has_lat, has_long = data.get("lat") is not None, data.get("long") is not None
        if "lat" in self.errors or "long" in self.errors:
            return data
        if has_lat != has_long:
            raise ValidationError(_("lat 与 long 须同时提供"))
        if not (
            has_lat or data.get("address_string", "").strip() or data.get("address_id") or "address_id" in self.errors
        ):
            raise ValidationError(_("请提供位置：lat 与 long、address_string 或 address_id 三者之一"))
        return data

    def error_list(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]

    @property
    def caller_name(self) -> str:
        first, last = self.cleaned_data.get("first_name", "").strip(), self.cleaned_data.get("last_name", "").strip()
        if first.isascii() and last.isascii():
            return f"{first} {last}".strip()
        return f"{last}{first}"  # Chinese names: family name first, no space

    def coordinate(self, name: str) -> Decimal | None:
        value = self.cleaned_data.get(name)
        return None if value is None else Decimal(str(value)).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)

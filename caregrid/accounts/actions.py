"""Writes to users, roles and API tokens, each audited."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .models import ApiToken, Role, RoleAssignment, User


@transaction.atomic
def user_create(
    *, actor, username: str, password: str, full_name: str = "", role: str, place, check_password=True
) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": _("用户名不能为空")})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("用户名“%(name)s”已被使用") % {"name": username}})
    if role not in Role.values:
        raise ValidationError({"role": _("未知角色“%(role)s”") % {"role": role}})
    user = User(username=username, full_name=full_name.strip())
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    RoleAssignment.objects.create(user=user, role=role, place=place)
    audit_record(
        actor=actor, action="user.create", obj=user, place_path=place.path, changes={"role": role, "place": place.name}
    )
    return user


@transaction.atomic
def role_grant(*, actor, user: User, role: str, place) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationError({"role": _("未知角色“%(role)s”") % {"role": role}})
    assignment, _created = RoleAssignment.objects.get_or_create(user=user, role=role, place=place)
    audit_record(
        actor=actor, action="role.grant", obj=user, place_path=place.path, changes={"role": role, "place": place.name}
    )
    return assignment


@transaction.atomic
def api_token_create(*, actor, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token and its key; the key is returned once and only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请为令牌起个名字，如“12345对接”")})
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[3:11], key_hash=ApiToken.hash_key(key))
    audit_record(actor=actor, action="api_token.create", obj=token, object_repr=name, changes={"user": user.username})
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token, object_repr=token.name)
    return token

"""Users, their role assignments (role × scope place), API tokens and the append-only audit log."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = models.CharField(_("手机号码"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    SUBDISTRICT_STAFF = "subdistrict_staff", _("街道工作人员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    GRID_WORKER = "grid_worker", _("网格员")
    HOTLINE_OPERATOR = "hotline_operator", _("热线接线员")
    VOLUNTEER_COORDINATOR = "volunteer_coordinator", _("志愿者协调员")
    AUDITOR = "auditor", _("审计员")


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="roles")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    place = models.ForeignKey("places.Place", models.PROTECT, related_name="+", verbose_name=_("管辖范围"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [models.UniqueConstraint(fields=["user", "role", "place"], name="role_unique_assignment")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.place}"


class ApiToken(models.Model):
    """A per-user API token; only its SHA-256 is stored, the key is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "cg_" + secrets.token_urlsafe(32)


class AuditEvent(models.Model):
    """Append-only: rows are never updated or deleted (database triggers enforce it)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    place_path = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=36, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
        ]

    # An event belongs to the place it concerns; scoping reads this field (see accounts.scope).
    SCOPE_PATH_FIELD = "place_path"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")


class Notification(models.Model):
    """An in-app message to one user (escalations, dispatches, tasks); also sent by email when the user has one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=32)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    # The object it concerns, so one event notifies each person once.
    object_key = models.CharField(max_length=80, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "at"], name="notification_inbox_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "object_key"],
                condition=~models.Q(object_key=""),
                name="notification_once_per_object",
            )
        ]

    def __str__(self) -> str:
        return self.title

"""Care rounds: who cares for each priority resident (包联), how often they must be reached (cadence policies
by category × zone × mode), and every contact made (一天一问一记录)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from caregrid.places.models import Mode, Place, ZoneStatus


class CarerRole(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    PARTY_MEMBER = "party_member", _("党员户")
    CADRE = "cadre", _("社区干部")
    MEDIC = "medic", _("医务人员")
    POLICE = "police", _("民警")
    VOLUNTEER = "volunteer", _("志愿者")


class CareAssignment(models.Model):
    """One carer of one resident for a period (包联). A carer is a user of caregrid or, for a party-member
    household or an outside medic, a name and a phone number."""

    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="carers", verbose_name=_("居民"))
    role = models.CharField(_("包联角色"), max_length=16, choices=CarerRole.choices)
    carer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="care_assignments",
        verbose_name=_("包联人"),
    )
    carer_name = models.CharField(_("包联人姓名"), max_length=50, blank=True)
    carer_phone = models.CharField(_("包联人电话"), max_length=40, blank=True)
    since = models.DateTimeField(_("开始时间"))
    until = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=200, blank=True)
    # Copies of the resident's paths, so scope and coverage filters need no join.
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("包联关系")
        verbose_name_plural = _("包联关系")
        indexes = [
            models.Index(fields=["resident", "until"], name="care_assign_resident_idx"),
            models.Index(fields=["carer", "until"], name="care_assign_carer_idx"),
            models.Index(
                fields=["place_path", "until"], name="care_assign_path_idx", opclasses=["varchar_pattern_ops", ""]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.carer or self.carer_name}"

    @property
    def carer_label(self) -> str:
        return str(self.carer) if self.carer_id else self.carer_name


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("电话")
    WECHAT = "wechat", _("微信")
    VIDEO = "video", _("视频")
    VISIT = "visit", _("上门走访")
    DOOR_KNOCK = "door_knock", _("敲门")


class PeriodUnit(models.TextChoices):
    DAY = "day", _("每天")
    WEEK = "week", _("每周")
    MONTH = "month", _("每月")


class CarePolicy(models.Model):
    """A cadence rule: residents of a category, in a zone (or any zone), in a mode, are due `times` contacts
    per period, by a channel. Rules are never edited: a change ends the rule and starts a new one."""

    category = models.ForeignKey("people.Category", models.PROTECT, related_name="+", verbose_name=_("人员类别"))
    zone = models.CharField(_("区域状态"), max_length=16, choices=ZoneStatus.choices, blank=True)  # blank: any
    mode = models.CharField(_("模式"), max_length=16, choices=Mode.choices)
    times = models.PositiveSmallIntegerField(_("次数"))
    per = models.CharField(_("周期"), max_length=8, choices=PeriodUnit.choices)
    channel = models.CharField(_("方式"), max_length=16, choices=ContactChannel.choices, blank=True)  # blank: any
    temperature = models.BooleanField(_("需测体温"), default=False)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("失效时间"), null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("关爱频次规则")
        verbose_name_plural = _("关爱频次规则")
        indexes = [models.Index(fields=["mode", "valid_until"], name="care_policy_mode_idx")]


class Reached(models.TextChoices):
    REACHED = "reached", _("已联系上")
    NOT_REACHED = "not_reached", _("未联系上")
    REFUSED = "refused", _("拒绝")


class Wellbeing(models.TextChoices):
    FINE = "fine", _("良好")
    NEEDS_HELP = "needs_help", _("需要帮助")
    URGENT = "urgent", _("紧急")


class Contact(models.Model):
    """One contact with a resident (一问一记录). `client_id` is made by the phone that logged it, so a resend
    after a lost connection never records it twice."""

    client_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="contacts", verbose_name=_("居民"))
    carer = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("联系人"))
    at = models.DateTimeField(_("联系时间"))
    channel = models.CharField(_("方式"), max_length=16, choices=ContactChannel.choices)
    outcome = models.CharField(_("结果"), max_length=16, choices=Reached.choices)
    wellbeing = models.CharField(_("状况"), max_length=16, choices=Wellbeing.choices, blank=True)
    needs = models.JSONField(_("发现的需求"), default=list, blank=True)  # help-request category codes
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1, null=True, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    help_request = models.ForeignKey(
        "cases.HelpRequest", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("生成的诉求")
    )
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("联系记录")
        verbose_name_plural = _("联系记录")
        indexes = [
            models.Index(fields=["resident", "at"], name="contact_resident_at_idx"),
            models.Index(
                fields=["place_path", "at"], name="contact_path_at_idx", opclasses=["varchar_pattern_ops", ""]
            ),
            models.Index(fields=["grid_path", "at"], name="contact_grid_at_idx", opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["carer", "at"], name="contact_carer_at_idx"),
        ]


class DueItem(models.Model):
    """One resident's contacts due on one day (当日应联系名单): worked out from the cadence rules in force (the
    resident's categories, the zone that day, the bureau's mode) and kept up to date as contacts are recorded
    and as categories, zones, rules or the mode change. Coverage, overdue lists and the cut-off escalation read
    it instead of working the rules out again for every resident. A row exists for every resident with a rule
    in force that day; `required` is 0 when a weekly or monthly quota is already met."""

    day = models.DateField()
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="+")
    district = models.ForeignKey(Place, models.CASCADE, related_name="+", db_index=False)
    place_path = models.CharField(max_length=255)
    grid_path = models.CharField(max_length=255, blank=True, default="")
    group_path = models.CharField(max_length=255)  # the summary group: the grid, or the community without one
    zone = models.CharField(max_length=16, choices=ZoneStatus.choices, blank=True, default="")
    # Ids of the categories whose rules ask for a contact that day, as ",3,17," (by-category counts).
    categories = models.CharField(max_length=255, blank=True, default="")
    # The carers in force, as ",u12,n王芳/13800000000," (see daylist.carer_token).
    carers = models.CharField(max_length=500, blank=True, default="")
    required = models.PositiveSmallIntegerField(default=0)
    done = models.PositiveSmallIntegerField(default=0)
    met = models.BooleanField(default=False)
    urgent = models.BooleanField(default=False)  # an urgent category (dialysis, pregnant, living alone…)
    missed = models.PositiveSmallIntegerField(default=0)  # not-reached attempts in a row, up to that day
    last_contact_at = models.DateTimeField(null=True, blank=True)  # last reached contact up to that day
    escalated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "resident"], name="care_dueitem_day_resident")]
        indexes = [
            models.Index(
                fields=["day", "place_path"], name="care_due_day_path_idx", opclasses=["", "varchar_pattern_ops"]
            ),
            models.Index(
                fields=["day", "grid_path"], name="care_due_day_grid_idx", opclasses=["", "varchar_pattern_ops"]
            ),
            models.Index(fields=["day", "group_path"], name="care_due_day_group_idx"),
        ]

    @property
    def is_due(self) -> bool:
        return self.required > 0


class DueDay(models.Model):
    """When a day's due list was built, and whether something changed since that it could not follow at once
    (a mode switch, a rule change, a large import or zone change): the worker rebuilds a stale day."""

    day = models.DateField(unique=True)
    built_at = models.DateTimeField(null=True, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    summarized_at = models.DateTimeField(null=True, blank=True)


class DueSummary(models.Model):
    """A day's coverage per grid (or per community for residents without a grid), in total, by category and by
    carer, kept current with the due items: a district's coverage and 30-day trend read a few thousand of these
    rather than hundreds of thousands of due items."""

    day = models.DateField()
    group_path = models.CharField(max_length=255)  # the grid's path, or the community's
    dim = models.CharField(max_length=8, blank=True, default="")  # "" (the group), "category" or "carer"
    key = models.CharField(max_length=200, blank=True, default="")  # category id or carer token
    due = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    missed_twice = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "group_path", "dim", "key"], name="care_duesummary_day_group")
        ]
        indexes = [
            models.Index(
                fields=["day", "dim", "group_path"],
                name="care_duesum_path_idx",
                opclasses=["", "", "varchar_pattern_ops"],
            )
        ]

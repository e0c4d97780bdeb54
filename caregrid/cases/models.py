"""Help requests (诉求 / 工单): the request, its timeline of events, errand tasks, deadlines by urgency,
operators' corrections of the classifier, and 12345 referral batches."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caregrid.places.models import Place

from .taxonomy import CaseCategory, Urgency


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("热线来电")
    PUBLIC_FORM = "public_form", _("网上求助")
    GRID_REPORT = "grid_report", _("网格上报")
    REFERRAL_12345 = "referral_12345", _("12345转办")
    API = "api", _("接口")
    OPEN311 = "open311", _("Open311")
    WECHAT = "wechat", _("微信")
    WALK_IN = "walk_in", _("来访")


class Status(models.TextChoices):
    RECEIVED = "received", _("已受理")
    ANSWERED = "answered", _("即刻答复")
    COORDINATING = "coordinating", _("协调解决")
    DISPATCHED = "dispatched", _("交办处置")
    IN_PROGRESS = "in_progress", _("处理中")
    RESOLVED = "resolved", _("已办结")
    CLOSED = "closed", _("已回访")
    CANCELLED = "cancelled", _("已撤销")


# Statuses in which the request still needs someone's work (the clocks run).
OPEN_STATUSES = (Status.RECEIVED, Status.COORDINATING, Status.DISPATCHED, Status.IN_PROGRESS)
# Statuses in which the request's need is met (resolution clock stopped).
DONE_STATUSES = (Status.ANSWERED, Status.RESOLVED, Status.CLOSED)


class Disposition(models.TextChoices):
    """How the request was first handled — the three numbers of the bureau's standard line."""

    ANSWERED = "answered", _("即刻答复")
    COORDINATED = "coordinated", _("协调解决")
    DISPATCHED = "dispatched", _("交办处置")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    UNREACHABLE = "unreachable", _("未能回访")


class Subcategory(models.Model):
    """A bureau's own finer category under one of the fixed ones (e.g. 血透 under 就医)."""

    category = models.CharField(_("诉求类别"), max_length=20, choices=CaseCategory.choices)
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("诉求子类")
        verbose_name_plural = _("诉求子类")
        ordering = ["category", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="case_subcategory_unique_name")]

    def __str__(self) -> str:
        return self.name


class DeadlinePolicy(models.Model):
    """Deadlines by urgency: minutes to first contact and to resolution (one row per urgency)."""

    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, unique=True)
    first_contact_minutes = models.PositiveIntegerField(_("首次联系时限（分钟）"))
    resolution_minutes = models.PositiveIntegerField(_("办结时限（分钟）"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")

    def __str__(self) -> str:
        return self.get_urgency_display()


DEFAULT_DEADLINES = {
    Urgency.URGENT: (30, 120),
    Urgency.HIGH: (120, 720),
    Urgency.NORMAL: (1440, 4320),
}


def new_tracking_code() -> str:
    """The caller's key to the public status page: unguessable, short enough to read out on the phone."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class HelpRequest(models.Model):
    """One request for help, from any channel, followed to the end."""

    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    number = models.CharField(_("工单号"), max_length=20, unique=True)
    tracking_code = models.CharField(max_length=16, unique=True, default=new_tracking_code, editable=False)
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices)
    external_id = models.CharField(_("外部编号"), max_length=64, blank=True)
    category = models.CharField(_("诉求类别"), max_length=20, choices=CaseCategory.choices)
    subcategory = models.ForeignKey(
        Subcategory, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("子类")
    )
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices)
    description = models.TextField(_("诉求内容"))
    # What the classifier suggested, kept to measure it and to learn from corrections.
    suggested_category = models.CharField(max_length=20, blank=True)
    suggested_urgency = models.CharField(max_length=10, blank=True)
    suggestion_confidence = models.FloatField(null=True, blank=True)
    red_flags = models.JSONField(default=list, blank=True)
    # The caller and, when known, the resident and household concerned.
    caller_name = models.CharField(_("求助人"), max_length=50, blank=True)
    caller_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    caller_phone_tail = models.CharField(max_length=4, blank=True, editable=False)
    resident = models.ForeignKey(
        "people.Resident", models.SET_NULL, null=True, blank=True, related_name="help_requests", verbose_name=_("居民")
    )
    address_text = models.CharField(_("地址"), max_length=200, blank=True)
    place = models.ForeignKey(Place, models.PROTECT, related_name="help_requests", verbose_name=_("所在地点"))
    # Scope: the request's place path (moved to the handling place when dispatched outside it) and grid path.
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    # Handling.
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    disposition = models.CharField(_("处理方式"), max_length=16, choices=Disposition.choices, blank=True)
    assigned_place = models.ForeignKey(
        Place, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("承办单位")
    )
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("受理时间"), db_index=True)
    first_contact_due = models.DateTimeField(_("首次联系时限"))
    resolution_due = models.DateTimeField(_("办结时限"))
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    outcome = models.TextField(_("办理结果"), blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=16, choices=Satisfaction.choices, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("督办次数"), default=0)
    duplicate_of = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="linked", verbose_name=_("关联工单")
    )
    # Open311 extras.
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    email = models.EmailField(blank=True)
    # The client address of an anonymous submission (public form, Open311), for rate limiting.
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("求助工单")
        verbose_name_plural = _("求助工单")
        indexes = [
            models.Index(
                fields=["place_path", "received_at"], name="case_path_idx", opclasses=["varchar_pattern_ops", ""]
            ),
            models.Index(
                fields=["grid_path", "received_at"], name="case_grid_idx", opclasses=["varchar_pattern_ops", ""]
            ),
            models.Index(fields=["status", "first_contact_due"], name="case_status_contact_idx"),
            models.Index(fields=["status", "resolution_due"], name="case_status_due_idx"),
            models.Index(fields=["caller_phone_tail", "received_at"], name="case_phone_tail_idx"),
            models.Index(fields=["channel", "external_id"], name="case_external_idx"),
            models.Index(fields=["source_ip", "received_at"], name="case_source_ip_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def needs_first_contact(self) -> bool:
        return self.first_contact_at is None and self.status in OPEN_STATUSES

    def clock_due(self):
        """The deadline that is running now: first contact until made, then resolution; None when done."""
        if self.status not in OPEN_STATUSES:
            return None
        return self.first_contact_due if self.first_contact_at is None else self.resolution_due


class EventKind(models.TextChoices):
    CREATED = "created", _("受理")
    TRIAGED = "triaged", _("分类修正")
    ANSWERED = "answered", _("即刻答复")
    COORDINATING = "coordinating", _("协调解决")
    DISPATCHED = "dispatched", _("交办")
    ACKNOWLEDGED = "acknowledged", _("签收")
    CONTACTED = "contacted", _("联系求助人")
    NOTE = "note", _("办理记录")
    TASK_ADDED = "task_added", _("派发任务")
    TASK_DONE = "task_done", _("任务完成")
    RESOLVED = "resolved", _("办结")
    CLOSED = "closed", _("回访")
    REOPENED = "reopened", _("重新办理")
    CANCELLED = "cancelled", _("撤销")
    ESCALATED = "escalated", _("超时督办")
    LINKED = "linked", _("关联重复工单")


class CaseEvent(models.Model):
    """One step on a request's timeline (who, when, what, note). Never edited."""

    request = models.ForeignKey(HelpRequest, models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    # Shown on the public status page (no names, numbers or notes of others).
    public = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]


class TaskKind(models.TextChoices):
    BUY_MEDICINE = "buy_medicine", _("代购药品")
    DELIVER_SUPPLIES = "deliver_supplies", _("配送物资")
    ESCORT_HOSPITAL = "escort_hospital", _("陪同就医")
    HOME_SAMPLING = "home_sampling", _("上门采样")
    HOME_VISIT = "home_visit", _("上门查看")
    OTHER = "other", _("其他")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待完成")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class CaseTask(models.Model):
    """An errand spawned from a request and assigned to a person."""

    request = models.ForeignKey(HelpRequest, models.CASCADE, related_name="tasks")
    kind = models.CharField(_("任务类型"), max_length=20, choices=TaskKind.choices)
    detail = models.CharField(_("任务说明"), max_length=300, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="case_tasks", verbose_name=_("承办人")
    )
    status = models.CharField(_("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField(_("完成时限"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    result = models.CharField(_("完成情况"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["assignee", "status"], name="casetask_assignee_idx")]

    def __str__(self) -> str:
        return self.get_kind_display()


class TriageCorrection(models.Model):
    """An operator's correction of the classifier's suggestion; `caregrid triage --retrain` learns from them."""

    request = models.ForeignKey(HelpRequest, models.SET_NULL, null=True, blank=True, related_name="+")
    text = models.TextField()
    category = models.CharField(max_length=20, choices=CaseCategory.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    suggested_category = models.CharField(max_length=20, blank=True)
    suggested_urgency = models.CharField(max_length=10, blank=True)
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("分类修正")
        verbose_name_plural = _("分类修正")


class CaseCounter(models.Model):
    """The last request number given out on a day (numbers restart at 1 each day)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

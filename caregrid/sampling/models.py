"""Testing rounds (核酸检测): a round over a place subtree and dates, one sampling record per resident, home
sampling for residents who cannot go down, and the outreach ladder for those not yet sampled (应检尽检)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from caregrid.places.models import Place


class RoundStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Population(models.TextChoices):
    """Who must be tested in a round."""

    ALL = "all", _("辖区全体居民（应检尽检）")
    PRIORITY = "priority", _("仅重点人员")


class SamplingRound(models.Model):
    """One testing round over a place's subtree (a grid's when the place is a grid) and a range of dates."""

    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    name = models.CharField(_("轮次名称"), max_length=100)
    place = models.ForeignKey(Place, models.PROTECT, related_name="sampling_rounds", verbose_name=_("检测范围"))
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    population = models.CharField(_("检测对象"), max_length=16, choices=Population.choices, default=Population.ALL)
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    # Copies of the root place's paths, so scope filters need no join.
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("核酸检测轮次")
        verbose_name_plural = _("核酸检测轮次")
        ordering = ["-start_date", "-id"]
        indexes = [
            models.Index(
                fields=["place_path", "start_date"],
                name="sampling_round_path_idx",
                opclasses=["varchar_pattern_ops", ""],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN

    @property
    def by_grid(self) -> bool:
        """A round rooted at a grid finds its residents through grid_path."""
        return self.place_path != "" and self.grid_path == self.place_path


class Where(models.TextChoices):
    SITE = "site", _("采样点")
    HOME = "home", _("上门采样")


class Result(models.TextChoices):
    PENDING = "pending", _("待检")
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")


class Source(models.TextChoices):
    MANUAL = "manual", _("现场登记")
    IMPORT = "import", _("结果导入")
    HOME = "home", _("上门采样登记")


class SamplingRecord(models.Model):
    """One resident sampled in one round. There is at most one per resident and round: a second sampling is
    refused, and a re-sample (a broken tube, a mixed tube found positive) is recorded explicitly on this row."""

    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    round = models.ForeignKey(SamplingRound, models.CASCADE, related_name="records", db_index=False)
    resident = models.ForeignKey(
        "people.Resident", models.CASCADE, related_name="sampling_records", verbose_name=_("居民")
    )
    where = models.CharField(_("采样方式"), max_length=8, choices=Where.choices, default=Where.SITE)
    site = models.CharField(_("采样点"), max_length=100, blank=True)
    sampled_at = models.DateTimeField(_("采样时间"))
    tube_code = models.CharField(_("试管编码"), max_length=40, blank=True)
    result = models.CharField(_("检测结果"), max_length=16, choices=Result.choices, default=Result.PENDING)
    result_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)
    resamples = models.PositiveSmallIntegerField(_("复采次数"), default=0)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("采样记录")
        verbose_name_plural = _("采样记录")
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="sampling_record_once_per_round")]
        indexes = [
            models.Index(
                fields=["round", "place_path"],
                name="sampling_rec_round_path_idx",
                opclasses=["", "varchar_pattern_ops"],
            ),
            models.Index(fields=["round", "result"], name="sampling_rec_round_result_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.round} {self.resident}"


class HomeRequestStatus(models.TextChoices):
    REQUESTED = "requested", _("待上门")
    SAMPLED = "sampled", _("已采样")
    CANCELLED = "cancelled", _("已取消")


class HomeSamplingRequest(models.Model):
    """A resident who cannot go down to the site, on the home-sampling team's route for one round."""

    round = models.ForeignKey(SamplingRound, models.CASCADE, related_name="home_requests", db_index=False)
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="+", verbose_name=_("居民"))
    reason = models.CharField(_("原因"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=HomeRequestStatus.choices, default=HomeRequestStatus.REQUESTED
    )
    record = models.OneToOneField(
        SamplingRecord, models.SET_NULL, null=True, blank=True, related_name="home_request", verbose_name=_("采样记录")
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("上门采样")
        verbose_name_plural = _("上门采样")
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="sampling_home_once_per_round")]
        indexes = [
            models.Index(fields=["round", "status", "place_path"], name="sampling_home_round_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.round} {self.resident}"


class OutreachRung(models.TextChoices):
    """The outreach ladder for residents not yet sampled, in the order it is climbed."""

    GROUP_NOTICE = "group_notice", _("群内通知")
    PHONE_CALL = "phone_call", _("电话提醒")
    HOME_VISIT = "home_visit", _("上门动员")


RUNG_ORDER = {rung: i for i, rung in enumerate(OutreachRung.values, start=1)}


class OutreachOutcome(models.TextChoices):
    SENT = "sent", _("已通知")
    WILL_GO = "will_go", _("答应去采样")
    NOT_REACHED = "not_reached", _("未联系上")
    AWAY = "away", _("不在本地")
    REFUSED = "refused", _("拒绝采样")


class OutreachStep(models.Model):
    """One step of the ladder taken for one resident in one round."""

    round = models.ForeignKey(SamplingRound, models.CASCADE, related_name="outreach_steps", db_index=False)
    resident = models.ForeignKey("people.Resident", models.CASCADE, related_name="+", verbose_name=_("居民"))
    step = models.CharField(_("动员方式"), max_length=16, choices=OutreachRung.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("经办人"))
    outcome = models.CharField(_("结果"), max_length=16, choices=OutreachOutcome.choices, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("动员记录")
        verbose_name_plural = _("动员记录")
        indexes = [models.Index(fields=["round", "resident", "at"], name="sampling_outreach_idx")]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {self.resident}"

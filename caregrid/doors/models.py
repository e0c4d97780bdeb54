"""Door-knocking rounds (敲门行动 / 扫楼): a round over a place subtree, the visits to its households (append-only),
each household's state in the round as its latest visit left it, and what was found on the doorstep (主动发现)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from caregrid.places.models import Place


class RoundStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class DoorRound(models.Model):
    """A round: every household under `place` (or covered by it, when it is a grid) is to be visited once."""

    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    name = models.CharField(_("行动名称"), max_length=100)
    place = models.ForeignKey(Place, models.PROTECT, related_name="door_rounds", verbose_name=_("范围"))
    place_path = models.CharField(max_length=255, editable=False)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PATH_FIELD = "place_path"

    class Meta:
        verbose_name = _("敲门行动")
        verbose_name_plural = _("敲门行动")
        indexes = [
            models.Index(fields=["place_path"], name="door_round_path_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class VisitOutcome(models.TextChoices):
    VISITED = "visited", _("已走访")
    NOBODY_HOME = "nobody_home", _("无人在家")
    REFUSED = "refused", _("拒绝")


class DoorVisit(models.Model):
    """One knock on one door. Never changed: a revisit is another row, and the latest one decides."""

    round = models.ForeignKey(DoorRound, models.PROTECT, related_name="visits", verbose_name=_("敲门行动"))
    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    household = models.ForeignKey(Place, models.PROTECT, related_name="door_visits", verbose_name=_("住户"))
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("走访人"))
    at = models.DateTimeField(_("走访时间"))
    outcome = models.CharField(_("结果"), max_length=16, choices=VisitOutcome.choices)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    findings = models.PositiveSmallIntegerField(_("发现情况"), default=0)
    # Copies of the household's paths at the time of the visit, so scope filters need no join.
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        indexes = [
            models.Index(fields=["round", "household", "at"], name="door_visit_household_idx"),
            models.Index(fields=["round", "at"], name="door_visit_round_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("door visits are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("door visits are append-only")


class DoorHousehold(models.Model):
    """A household's state in a round, kept in step with its visits in the visit's transaction: the outcome
    of its latest visit and how many visits it had. Households never visited have no row."""

    round = models.ForeignKey(DoorRound, models.PROTECT, related_name="households", db_index=False)
    household = models.ForeignKey(Place, models.PROTECT, related_name="door_states")
    outcome = models.CharField(max_length=16, choices=VisitOutcome.choices)
    last_visit = models.ForeignKey(DoorVisit, models.PROTECT, related_name="+")
    last_at = models.DateTimeField()
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "household"], name="door_household_unique"),
        ]


class FindingKind(models.TextChoices):
    NEW_RESIDENT = "new_resident", _("新登记居民")
    NEW_CATEGORY = "new_category", _("新增人员类别")


class DoorFinding(models.Model):
    """What a visit found (主动发现) and wrote to the ledger: a resident added, or a category added to one."""

    visit = models.ForeignKey(DoorVisit, models.PROTECT, related_name="found", verbose_name=_("走访记录"))
    kind = models.CharField(_("发现类型"), max_length=16, choices=FindingKind.choices)
    resident = models.ForeignKey(
        "people.Resident", models.SET_NULL, null=True, related_name="+", verbose_name=_("居民")
    )
    resident_name = models.CharField(_("姓名"), max_length=50)
    category = models.ForeignKey(
        "people.Category", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("人员类别")
    )

    class Meta:
        verbose_name = _("走访发现")
        verbose_name_plural = _("走访发现")

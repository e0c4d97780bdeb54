"""The place tree (district → household, plus grids), zone status history and the bureau's mode."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    DISTRICT = "district", _("区")
    SUBDISTRICT = "subdistrict", _("街道/镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")
    COMPOUND = "compound", _("小区")
    BUILDING = "building", _("楼栋")
    UNIT = "unit", _("单元")
    HOUSEHOLD = "household", _("户")


# The physical nesting; grids hang under a community (micro-grids under a grid) and are
# linked to the buildings, units and households they cover through Place.grid.
CHILD_KINDS = {
    PlaceKind.DISTRICT: [PlaceKind.SUBDISTRICT],
    PlaceKind.SUBDISTRICT: [PlaceKind.COMMUNITY],
    PlaceKind.COMMUNITY: [PlaceKind.COMPOUND, PlaceKind.GRID],
    PlaceKind.GRID: [PlaceKind.GRID],
    PlaceKind.COMPOUND: [PlaceKind.BUILDING],
    PlaceKind.BUILDING: [PlaceKind.UNIT, PlaceKind.HOUSEHOLD],
    PlaceKind.UNIT: [PlaceKind.HOUSEHOLD],
    PlaceKind.HOUSEHOLD: [],
}
GRID_COVERED_KINDS = {PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.HOUSEHOLD}


class GridType(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("综合网格")
    DEDICATED = "dedicated", _("专属网格")
    MICRO = "micro", _("微网格")


class Place(models.Model):
    kind = models.CharField(_("类型"), max_length=16, choices=PlaceKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=32, blank=True)
    # Served by the unique (parent, kind, name) constraint's index.
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children", db_index=False)
    # Materialised path of ids, e.g. "1.4.27.": everything under X is path LIKE 'X.path%'.
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    grid_type = models.CharField(_("网格类型"), max_length=16, choices=GridType.choices, blank=True)
    # The grid responsible for a building, unit or household (the finest one, micro-grid if any).
    grid = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="covered",
        limit_choices_to={"kind": PlaceKind.GRID},
        verbose_name=_("所属网格"),
    )
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    # A grid's leader (网格长): told first when the grid's care round falls behind.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("网格长"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("地点")
        verbose_name_plural = _("地点")
        constraints = [
            models.UniqueConstraint(fields=["parent", "kind", "name"], name="place_unique_name_in_parent"),
        ]
        indexes = [
            models.Index(fields=["path"], name="place_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["grid_path"], name="place_grid_path_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this place, read off the path (no query)."""
        return [int(p) for p in self.path.split(".") if p]

    @property
    def district_id(self) -> int | None:
        ids = self.ancestor_ids
        return ids[0] if ids else None


class ZoneStatus(models.TextChoices):
    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    PRECAUTION = "precaution", _("防范区")
    LIFTED = "lifted", _("已解封")


class ZonePeriod(models.Model):
    """One interval of a zone status on a place; the deepest place's interval in force wins."""

    place = models.ForeignKey(Place, models.PROTECT, related_name="zone_periods", verbose_name=_("地点"))
    place_path = models.CharField(max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False)
    status = models.CharField(_("区域状态"), max_length=16, choices=ZoneStatus.choices)
    start_date = models.DateField(_("生效日期"))
    end_date = models.DateField(_("截止日期"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=500)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("区域状态")
        verbose_name_plural = _("区域状态")
        indexes = [
            models.Index(fields=["place", "start_date"], name="zone_place_start_idx"),
            models.Index(fields=["status", "start_date", "end_date"], name="zone_status_dates_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.get_status_display()} {self.start_date}–{self.end_date or ''}"


class Mode(models.TextChoices):
    PEACETIME = "peacetime", _("平时")
    EMERGENCY = "emergency", _("应急")


class ModeChange(models.Model):
    """The bureau-wide mode (平急转换); the latest row is the mode in force."""

    mode = models.CharField(_("模式"), max_length=16, choices=Mode.choices)
    started_at = models.DateTimeField(_("开始时间"))
    reason = models.CharField(_("原因"), max_length=500)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("平急模式")
        verbose_name_plural = _("平急模式")
        ordering = ["-started_at", "-id"]


Place.SCOPE_PATH_FIELD = "path"
Place.SCOPE_GRID_FIELD = "grid_path"
ZonePeriod.SCOPE_PATH_FIELD = "place_path"

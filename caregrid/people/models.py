"""Residents (the ledger, 台账), their categories and the category vocabulary."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from caregrid.places.models import Place


class Category(models.Model):
    """A kind of priority resident (独居老人, 低保, 血透…). Data, so the bureau can add more."""

    code = models.SlugField(_("代码"), max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    synonyms = models.JSONField(_("同义词"), default=list, blank=True)
    group = models.CharField(_("分组"), max_length=20, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("人员类别")
        verbose_name_plural = _("人员类别")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name to show: the English name on English pages when the bureau gave one."""
        if self.name_en and get_language() == "en":
            return self.name_en
        return self.name


def age_on(birth, day) -> int:
    """Whole years of age on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Resident(models.Model):
    """One person in the ledger; the ID number is the natural key."""

    # Leading key for partitioning at province scale (see docs/architecture.md).
    district = models.ForeignKey(Place, models.PROTECT, related_name="+", db_index=False)
    household = models.ForeignKey(Place, models.PROTECT, related_name="residents", verbose_name=_("住户"))
    # Copies of the household's tree path and grid path, so scope and subtree filters need no join.
    place_path = models.CharField(max_length=255, editable=False)
    grid_path = models.CharField(max_length=255, blank=True, default="", editable=False)
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"))
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    phone_valid = models.BooleanField(default=True)
    phone_tail = models.CharField(max_length=4, blank=True, editable=False)
    emergency_contact = models.CharField(_("紧急联系人"), max_length=50, blank=True)
    emergency_phone = models.CharField(_("紧急联系电话"), max_length=40, blank=True)
    note = models.TextField(_("备注"), blank=True)
    is_priority = models.BooleanField(_("重点人员"), default=False, editable=False)
    categories = models.ManyToManyField(Category, through="ResidentCategory", related_name="residents")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    SCOPE_PATH_FIELD = "place_path"
    SCOPE_GRID_FIELD = "grid_path"

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        indexes = [
            models.Index(fields=["place_path", "id"], name="resident_path_idx", opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["grid_path", "id"], name="resident_grid_idx", opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["phone_tail"], name="resident_phone_tail_idx"),
            models.Index(fields=["name"], name="resident_name_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day) -> int:
        return age_on(self.birth_date, day)


class ResidentCategory(models.Model):
    # Both foreign keys are served by the composite indexes below (unique (resident, category) and
    # (category, resident)), so they carry no single-column index of their own.
    resident = models.ForeignKey(Resident, models.CASCADE, related_name="category_links", db_index=False)
    category = models.ForeignKey(Category, models.PROTECT, related_name="+", verbose_name=_("类别"), db_index=False)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("截止日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("人员类别")
        verbose_name_plural = _("人员类别")
        constraints = [
            models.UniqueConstraint(fields=["resident", "category"], name="resident_category_unique"),
        ]
        indexes = [models.Index(fields=["category", "resident"], name="rescat_category_idx")]


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("已上传")
    PREVIEWING = "previewing", _("正在检查")
    PREVIEWED = "previewed", _("待确认")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("正在导入")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    """One uploaded ledger file on its way from preview to import; the page polls its progress."""

    created_by = models.ForeignKey("accounts.User", models.PROTECT, related_name="+", verbose_name=_("导入人"))
    place = models.ForeignKey(Place, models.PROTECT, related_name="+", verbose_name=_("导入到"))
    file_name = models.CharField(_("文件名"), max_length=255)
    stored_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    partial = models.BooleanField(_("只导入无误的行"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    preview = models.JSONField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def is_working(self) -> bool:
        return self.status in (ImportStatus.PREVIEWING, ImportStatus.QUEUED, ImportStatus.RUNNING)

"""The fixed help-request taxonomy: category codes with Chinese and English labels, urgencies, channels and
statuses. Codes are stable (they travel in the API, Open311 service codes and the classifier's corpus);
a bureau adds sub-categories under a category as data (`Subcategory`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseCategory(models.TextChoices):
    MEDICAL = "medical", _("就医")
    MEDICINE = "medicine", _("购药")
    SUPPLIES = "supplies", _("生活物资")
    TESTING = "testing", _("核酸检测")
    MENTAL_HEALTH = "mental_health", _("心理疏导")
    FINANCIAL_AID = "financial_aid", _("困难救助")
    TRAVEL = "travel", _("出行通行")
    CAREGIVING = "caregiving", _("照料看护")
    UTILITIES = "utilities", _("水电维修")
    COMPLAINT = "complaint", _("投诉举报")
    POLICY = "policy", _("政策咨询")
    OTHER = "other", _("其他")


CATEGORY_DESCRIPTIONS = {
    "medical": _("看病、急诊、血透、产检、就医通行与陪同"),
    "medicine": _("买药、配药、慢性病用药、代购药品"),
    "supplies": _("米面油、蔬菜、饮用水、婴儿奶粉等生活物资"),
    "testing": _("核酸采样、上门采样、检测结果与抗原"),
    "mental_health": _("焦虑、失眠、情绪低落等心理疏导"),
    "financial_aid": _("生活困难、临时救助、无收入、滞留无钱"),
    "travel": _("出行证明、通行、返乡、滞留人员"),
    "caregiving": _("独居老人、失能人员、儿童的照料看护"),
    "utilities": _("停水停电、燃气、网络、房屋维修"),
    "complaint": _("投诉、举报、对服务的意见"),
    "policy": _("防控政策、救助政策、办事流程咨询"),
    "other": _("以上都不是的诉求"),
}


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    HIGH = "high", _("较急")
    NORMAL = "normal", _("一般")


URGENCY_RANK = {"normal": 0, "high": 1, "urgent": 2}


def raise_urgency(current: str, floor: str) -> str:
    """The higher of two urgencies: red flags may raise an urgency, never lower it."""
    return floor if URGENCY_RANK[floor] > URGENCY_RANK[current] else current

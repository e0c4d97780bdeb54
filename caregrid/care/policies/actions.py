"""Writes of cadence rules. A rule is never edited: setting one ends the rule in force for the same category,
zone, mode and channel and starts a new one, so what was due on any past day can still be worked out."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from caregrid.accounts.audit import audit_record
from caregrid.places.models import Mode, ZoneStatus

from ..models import CarePolicy, ContactChannel, PeriodUnit
from . import daylist


def _describe(policy: CarePolicy) -> dict:
    return {
        "category": policy.category.code,
        "zone": policy.zone,
        "mode": policy.mode,
        "times": policy.times,
        "per": policy.per,
        "channel": policy.channel,
        "temperature": policy.temperature,
    }


def _end(policy: CarePolicy, *, at) -> None:
    policy.valid_until = at
    policy.save(update_fields=["valid_until"])


@transaction.atomic
def policy_set(
    *,
    actor,
    category,
    zone: str,
    mode: str,
    times: int,
    per: str,
    channel: str = "",
    temperature: bool = False,
    reason: str = "",
) -> CarePolicy:
    """Start a rule now; the rule in force for the same category, zone, mode and channel ends at this moment."""
    errors = {}
    if zone and zone not in ZoneStatus.values:
        errors["zone"] = _("未知的区域状态")
    if mode not in Mode.values:
        errors["mode"] = _("未知的模式")
    if per not in PeriodUnit.values:
        errors["per"] = _("未知的周期")
    if channel and channel not in ContactChannel.values:
        errors["channel"] = _("未知的联系方式")
    if not isinstance(times, int) or not 1 <= times <= 24:
        errors["times"] = _("次数应在1到24之间")
    if errors:
        raise ValidationError(errors)
    reason = (reason or "").strip()
    now = timezone.now()
    previous = (
        CarePolicy.objects.select_for_update()
        .filter(category=category, zone=zone, mode=mode, channel=channel, valid_until__isnull=True)
        .select_related("category")
        .first()
    )
    if previous is not None:
        _end(previous, at=now)
    policy = CarePolicy.objects.create(
        category=category,
        zone=zone,
        mode=mode,
        times=times,
        per=per,
        channel=channel,
        temperature=temperature,
        valid_from=now,
        set_by=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action="care.policy_set",
        obj=policy,
        object_repr=f"{category.name} {policy.get_mode_display()}",
        changes={"new": _describe(policy), "replaces": previous.pk if previous else None, "reason": reason},
    )
    daylist.rules_changed()
    return policy


@transaction.atomic
def policy_end(*, actor, policy: CarePolicy, reason: str = "") -> CarePolicy:
    """End a rule now without a successor: the category is no longer due contacts under it."""
    policy = CarePolicy.objects.select_for_update().select_related("category").get(pk=policy.pk)
    if policy.valid_until is not None:
        raise ValidationError(_("该规则已失效"))
    reason = (reason or "").strip()
    _end(policy, at=timezone.now())
    audit_record(
        actor=actor,
        action="care.policy_end",
        obj=policy,
        object_repr=f"{policy.category.name} {policy.get_mode_display()}",
        changes={"ended": _describe(policy), "reason": reason},
    )
    daylist.rules_changed()
    return policy

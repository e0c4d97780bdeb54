"""The one notification writer: in-app messages, also emailed through Django's email backend."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.db import IntegrityError, transaction

from .models import Notification, RoleAssignment

log = logging.getLogger(__name__)


def notify(users, *, kind: str, title: str, body: str = "", url: str = "", object_key: str = "") -> list[Notification]:
    """Notify each user once per (kind, object_key); email goes out after the transaction commits."""
    made = []
    for user in {u.pk: u for u in users}.values():
        try:
            with transaction.atomic():
                made.append(
                    Notification.objects.create(
                        user=user, kind=kind, title=title[:200], body=body, url=url, object_key=object_key
                    )
                )
        except IntegrityError:
            continue  # already told about this object
    recipients = [n.user.email for n in made if n.user.email]
    if recipients:
        link = f"{settings.CAREGRID_BASE_URL}{url}" if url else ""
        message = "\n\n".join(part for part in (body, link) if part)

        def send():
            try:
                send_mail(title, message, None, recipients, fail_silently=False)
            except OSError:
                log.exception("could not email notification %s", kind)

        transaction.on_commit(send)
    return made


@dataclass(frozen=True)
class Message:
    users: list
    title: str
    body: str = ""
    url: str = ""
    object_key: str = ""


def notify_many(messages: list[Message], *, kind: str) -> int:
    """Many notifications of one kind at once (a sweep telling thousands of places): each user is told once per
    object key, as with `notify`, in a few statements instead of one per notification; returns how many were
    made. Emails go out together after the transaction commits."""
    wanted: dict[tuple[int, str], tuple] = {}
    for m in messages:
        for user in m.users:
            wanted.setdefault((user.pk, m.object_key), (user, m))
    keys = sorted({key for _pk, key in wanted if key})
    told = set()
    for start in range(0, len(keys), 2_000):
        told |= set(
            Notification.objects.filter(kind=kind, object_key__in=keys[start : start + 2_000]).values_list(
                "user_id", "object_key"
            )
        )
    new = [(user, m) for (pk, key), (user, m) in wanted.items() if not key or (pk, key) not in told]
    Notification.objects.bulk_create(
        [
            Notification(user=user, kind=kind, title=m.title[:200], body=m.body, url=m.url, object_key=m.object_key)
            for user, m in new
        ],
        batch_size=1_000,
        ignore_conflicts=True,  # told meanwhile by another sweep
    )
    mails = []
    for user, m in new:
        if user.email:
            link = f"{settings.CAREGRID_BASE_URL}{m.url}" if m.url else ""
            mails.append((m.title, "\n\n".join(part for part in (m.body, link) if part), None, [user.email]))
    if mails:

        def send():
            try:
                send_mass_mail(mails, fail_silently=False)
            except OSError:
                log.exception("could not email %s notifications %s", len(mails), kind)

        transaction.on_commit(send)
    return len(new)


def staff_at(place_ids, roles) -> list:
    """Active users holding one of the roles exactly at one of the places."""
    assigned = RoleAssignment.objects.filter(place_id__in=list(place_ids), role__in=list(roles), user__is_active=True)
    return [a.user for a in assigned.select_related("user")]


UNREAD_SHOWN = 99


def unread_count(user) -> str:
    """How many unread notifications the top bar shows ("99+" past that): reads at most 100 index
    entries instead of counting an inbox that nobody has opened for weeks."""
    n = len(
        Notification.objects.filter(user=user, read_at__isnull=True).values_list("pk", flat=True)[: UNREAD_SHOWN + 1]
    )
    return f"{UNREAD_SHOWN}+" if n > UNREAD_SHOWN else (str(n) if n else "")

"""Own account (roles, password, API tokens) and the auditor's log search."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from caregrid.places.tree import ancestors, full_name

from . import actions
from .forms import ApiTokenForm, AuditedPasswordChangeForm, AuditSearchForm
from .models import ApiToken, Notification
from .queries import audit_search, with_change_rows
from .roles import Cap
from .scope import assignments, can


def _account_page(request, *, password_form=None, token_form=None, new_key=None, new_token=None):
    user = request.user
    roles = [{"assignment": a, "scope": full_name(ancestors(a.place))} for a in assignments(user)]
    response = render(
        request,
        "accounts/account.html",
        {
            "roles": roles,
            "password_form": password_form or AuditedPasswordChangeForm(user),
            "token_form": token_form or ApiTokenForm(),
            "tokens": ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at"),
            "new_key": new_key,
            "new_token": new_token,
        },
    )
    # The page may carry a freshly made key: never keep it in any cache.
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_GET
def account(request):
    return _account_page(request)


@login_required
@require_POST
def password_change(request):
    form = AuditedPasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改"))
        return redirect("account")
    return _account_page(request, password_form=form)


@login_required
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = actions.api_token_create(actor=request.user, user=request.user, name=form.cleaned_data["name"])
        except ValidationError as e:
            for field, errors in e.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _account_page(request, new_key=key, new_token=token)
    return _account_page(request, token_form=form)


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    actions.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("令牌“%(name)s”已停用") % {"name": token.name})
    return redirect("account")


@login_required
@require_GET
def audit_log(request):
    if not can(request.user, Cap.VIEW_AUDIT):
        raise PermissionDenied
    form = AuditSearchForm(request.GET)
    events, has_next, page = [], False, 1
    if form.is_valid():
        page = form.cleaned_data.get("page") or 1
        size = settings.PAGE_SIZE
        # One row more than a page says whether there is a next page; the log is never counted.
        found = list(audit_search(request.user, form.filters())[(page - 1) * size : page * size + 1])
        has_next = len(found) > size
        events = with_change_rows(found[:size])
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {
            "form": form,
            "events": events,
            "page": page,
            "has_next": has_next,
            "filters_query": params.urlencode(),
        },
    )


@login_required
@require_GET
def notifications(request):
    """My notifications, newest first (escalations, dispatches, errands)."""
    items = list(Notification.objects.filter(user=request.user)[:200])
    return render(request, "accounts/notifications.html", {"items": items})


@login_required
@require_POST
def notifications_read(request):
    """Mark one notification (``id``) or all of mine as read, then go where it points."""
    mine = Notification.objects.filter(user=request.user, read_at__isnull=True)
    pk = request.POST.get("id", "")
    if pk.isdigit():
        item = Notification.objects.filter(user=request.user, pk=int(pk)).first()
        mine.filter(pk=int(pk)).update(read_at=timezone.now())
        if item is not None and item.url.startswith("/"):
            return redirect(item.url)
    else:
        mine.update(read_at=timezone.now())
    return redirect("notifications")

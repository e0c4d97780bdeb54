"""Own account (roles, API tokens) and the auditor's log search."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .scope import assignments


@login_required
def account(request):
    return render(request, "accounts/home.html", {"assignments": assignments(request.user)})


@login_required
def audit_log(request):
    return render(request, "accounts/home.html", {"assignments": assignments(request.user)})

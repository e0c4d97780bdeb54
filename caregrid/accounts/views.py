"""Sign-in landing page, own account, audit log search."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from caregrid.places.queries import current_mode

from .scope import assignments


@login_required
def home(request):
    return render(request, "accounts/home.html", {"mode": current_mode(), "assignments": assignments(request.user)})


@login_required
def account(request):
    return render(request, "accounts/home.html", {"mode": current_mode(), "assignments": assignments(request.user)})


@login_required
def audit_log(request):
    return render(request, "accounts/home.html", {"mode": current_mode(), "assignments": assignments(request.user)})

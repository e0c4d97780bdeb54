"""Place tree pages and the home dashboard."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from caregrid.accounts.scope import assignments
from caregrid.places.queries import current_mode


@login_required
def home(request):
    return render(request, "accounts/home.html", {"mode": current_mode(), "assignments": assignments(request.user)})

"""URL map: pages per app, the JSON API under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("caregrid.accounts.urls")),
    path("places/", include("caregrid.places.urls")),
    path("residents/", include("caregrid.people.urls")),
    path("ledger/", include("caregrid.people.ledger.urls")),
    path("cases/stats/", include("caregrid.cases.stats.urls")),
    path("cases/referrals/", include("caregrid.cases.referrals.urls")),
    path("cases/", include("caregrid.cases.urls")),
    path("care/teams/", include("caregrid.care.teams.urls")),
    path("care/policies/", include("caregrid.care.policies.urls")),
    path("care/doors/", include("caregrid.doors.urls")),
    path("care/sampling/", include("caregrid.sampling.urls")),
    path("care/proof/", include("caregrid.care.proof.urls")),
    path("care/", include("caregrid.care.contacts.urls")),
    path("help/", include("caregrid.cases.public.urls")),
    path("open311/v2/", include("caregrid.cases.open311.urls")),
]

from caregrid.api import api  # noqa: E402

urlpatterns += [path("api/v1/", api.urls)]

"""The one scoping function: every queryset that reaches a user passes through `scoped`.

A scoped model names its tree-path field(s) in ``SCOPE_PATH_FIELD`` (and, when grids cover it,
``SCOPE_GRID_FIELD``). A role on an ordinary place reaches everything whose path starts with that
place's path; a role on a grid reaches everything the grid (or its micro-grids) covers.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from caregrid.places.models import PlaceKind

from .models import RoleAssignment
from .roles import role_has


def assignments(user) -> list[RoleAssignment]:
    """The user's role assignments, loaded once per user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_caregrid_roles", None)
    if cached is None:
        cached = list(RoleAssignment.objects.filter(user=user).select_related("place"))
        user._caregrid_roles = cached
    return cached


def can(user, capability: str) -> bool:
    """Does any of the user's roles grant this capability (somewhere)?"""
    return any(role_has(a.role, capability) for a in assignments(user))


def require(user, capability: str) -> None:
    """403 unless some role of the user grants the capability (scope is checked separately)."""
    if not can(user, capability):
        raise PermissionDenied


def scope_places(user, capability: str):
    """The places at which the user holds the capability."""
    return [a.place for a in assignments(user) if role_has(a.role, capability)]


def scope_q(model: type[Model], user, capability: str) -> Q | None:
    """The filter limiting `model` to the user's scope, or None when the user has no such scope."""
    path_field = model.SCOPE_PATH_FIELD
    grid_field = getattr(model, "SCOPE_GRID_FIELD", None)
    q = None
    for place in scope_places(user, capability):
        if place.kind == PlaceKind.GRID and grid_field:
            part = Q(**{f"{grid_field}__startswith": place.path}) | Q(**{f"{path_field}__startswith": place.path})
        else:
            part = Q(**{f"{path_field}__startswith": place.path})
        q = part if q is None else q | part
    return q


def scoped(user, qs: QuerySet, capability: str) -> QuerySet:
    """Limit a queryset to what the user may see for this capability (empty if nothing)."""
    q = scope_q(qs.model, user, capability)
    return qs.none() if q is None else qs.filter(q)


def in_scope(user, obj: Model, capability: str) -> bool:
    return scoped(user, type(obj)._default_manager.filter(pk=obj.pk), capability).exists()


def get_scoped(user, qs: QuerySet, capability: str, **lookup) -> Model:
    """The object, if the user may reach it; 404 when it is outside scope (we do not confirm it exists)."""
    if not can(user, capability):
        raise PermissionDenied
    obj = scoped(user, qs, capability).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj

"""Template access to the signed-in user's capabilities."""

from .notify import unread_count
from .roles import Cap
from .scope import assignments, can


class _Caps:
    def __init__(self, user):
        self._user = user

    def __getattr__(self, name: str) -> bool:
        capability = getattr(Cap, name.upper(), None)
        return bool(capability) and can(self._user, capability)


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"caps": _Caps(user), "my_roles": assignments(user), "unread_notifications": lambda: unread_count(user)}

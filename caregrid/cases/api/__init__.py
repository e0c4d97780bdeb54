"""The help-request routes of /api/v1/ (see views.py)."""

from .views import router

__all__ = ["router"]

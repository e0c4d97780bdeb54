"""The JSON API under /api/v1/ (Django Ninja)."""

from ninja import NinjaAPI

api = NinjaAPI(title="caregrid API", version="1", urls_namespace="api")

"""Puts the client address and a request id where the audit writer can find them."""

import uuid

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from .audit import RequestContext, reset_request_context, set_request_context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-Id", "")[:36] or str(uuid.uuid4())
        token = set_request_context(RequestContext(ip=request.META.get("REMOTE_ADDR"), request_id=request.request_id))
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-Id"] = request.request_id
        return response


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Simplified Chinese unless the user chose another language (the switch sets a cookie).

    The browser's Accept-Language is not consulted: bureau staff work in Chinese whatever language
    their machine's browser was installed in."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

"""Middleware of the site's own."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInUsers:
    """Every page and file a signed-in user receives may hold people's health and care details
    (special category data), so no browser or proxy may keep a copy: `Cache-Control: no-store`
    on all of them (Django's never-cache headers). Static files are served before this runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response

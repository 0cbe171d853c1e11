"""Middleware of the site's own."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
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


class IdleSessionTimeout:
    """Ends a session after SESSION_IDLE_MINUTES without a request, while writing the session
    row only when something changed: the time of the last request is kept in the session
    (`seen`) and rewritten at most once every SESSION_ACTIVITY_WRITE_SECONDS, so a busy user's
    requests do not each write and commit the session row. The check itself is exact: a request
    that comes more than the idle time after `seen` is logged out (and LoginRequiredMiddleware,
    after this one, sends it to the login page). The session row's own expiry is the idle time
    plus that write interval (SESSION_COOKIE_AGE), so it never ends a session this check keeps.
    """

    KEY = "seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(self.KEY)
            if seen is not None and now - seen > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
            elif seen is None or now - seen >= settings.SESSION_ACTIVITY_WRITE_SECONDS:
                request.session[self.KEY] = now
        return self.get_response(request)


def login_is_activity(sender, request, user, **kwargs):
    """user_logged_in receiver: signing in is activity (see IdleSessionTimeout)."""
    if request is not None and hasattr(request, "session"):
        request.session[IdleSessionTimeout.KEY] = int(time.time())

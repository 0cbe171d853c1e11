from django.conf import settings
from django.core.cache import cache
from django.utils.functional import cached_property

from panels.home import waiting_count


def service(request):
    """Names shown in every page's header and title."""
    return {"COUNCIL_NAME": settings.COUNCIL_NAME, "SERVICE_NAME": settings.SERVICE_NAME}


def waiting_cache_key(user) -> str:
    return f"my-work-waiting:{user.pk}"


class _Waiting:
    """The menu's count of what waits for the user, worked out (one query) only if a page
    shows it, and once however often it does. Kept for MY_WORK_COUNT_SECONDS in the cache
    (each process's own memory by default): the count costs a query across the user's team's
    work, and most pages need not pay it. My work itself always counts afresh (and the e-mails
    go at once), so the badge lags a change by at most that long."""

    def __init__(self, user, *, fresh: bool = False):
        self._user = user
        self._fresh = fresh

    @cached_property
    def count(self) -> int:
        key = waiting_cache_key(self._user)
        count = None if self._fresh else cache.get(key)
        if count is None:
            count = waiting_count(self._user)
            cache.set(key, count, settings.MY_WORK_COUNT_SECONDS)
        return count


def waiting(request):
    """MY_WORK_WAITING.count: how many things wait for the user ("My work" in the menu)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    fresh = request.resolver_match is not None and request.resolver_match.view_name == (
        "panels:my_work"
    )
    return {"MY_WORK_WAITING": _Waiting(user, fresh=fresh)}

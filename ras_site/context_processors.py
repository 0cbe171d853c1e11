from django.conf import settings
from django.utils.functional import cached_property

from panels.home import waiting_count


def service(request):
    """Names shown in every page's header and title."""
    return {"COUNCIL_NAME": settings.COUNCIL_NAME, "SERVICE_NAME": settings.SERVICE_NAME}


class _Waiting:
    """The menu's count of what waits for the user, worked out (one query) only if a page
    shows it, and once however often it does."""

    def __init__(self, user):
        self._user = user

    @cached_property
    def count(self) -> int:
        return waiting_count(self._user)


def waiting(request):
    """MY_WORK_WAITING.count: how many things wait for the user ("My work" in the menu)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"MY_WORK_WAITING": _Waiting(user)}

"""Failed-login throttling on top of django-axes: per username and address, and per address.

Axes applies one failure limit to every lockout parameter. A team's office shares one address,
so locking the address after five typos would lock the whole office out; but password spraying
(one password tried against many usernames from one address) never trips a per-username limit.
So the address has its own, higher limit (AXES_ADDRESS_FAILURE_LIMIT), and a successful login
clears only its own username's failures, never the address's count, so one valid account cannot
be used to wipe a spraying run's trail.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

# AccessAttempt.username holds at most this many characters; a longer username typed into the
# login form is a failed login like any other, recorded under its first 255 characters.
_STORED_USERNAME_LENGTH = AccessAttempt._meta.get_field("username").max_length


def username_for_throttle(request, credentials=None) -> str | None:
    """The username axes records, cut to what its table stores (AXES_USERNAME_CALLABLE)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return username[:_STORED_USERNAME_LENGTH] if isinstance(username, str) else username


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class AddressAwareHandler(AxesDatabaseHandler):
    """Locks a username at one address after AXES_FAILURE_LIMIT failures, and the address
    itself after AXES_ADDRESS_FAILURE_LIMIT failures across all usernames.

    Needs AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]: axes then
    hands back the recent attempts for the pair first and for the address second."""

    def get_failures(self, request, credentials=None) -> int:
        pair, address = (_failures(a) for a in self.get_user_attempts(request, credentials))
        if address >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(pair, get_failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request, credentials=None) -> int:
        pair = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair.delete()
        return count

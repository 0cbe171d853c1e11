"""PostgreSQL limits the service sets for itself, rather than leaving them to the server's
defaults (which have none).

Pages (the web process: gunicorn, or `runserver`, through ras_site.wsgi) run each statement
under `statement_timeout` (PAGE_STATEMENT_TIMEOUT_SECONDS, 20 s, below gunicorn's 30 s worker
timeout) and end a transaction left idle for `idle_in_transaction_session_timeout`
(PAGE_IDLE_TRANSACTION_SECONDS). A runaway query is cancelled, its worker freed and its row
locks released; the person sees "This took too long" (StatementTimeoutPage), not a killed
worker's bad gateway. Both are set once as each connection opens, so a request pays nothing.

Background jobs and commands (`db_worker`, `migrate`, `backup`) do not load ras_site.wsgi and
keep no page limit; each long transaction sets what it needs itself, with SET LOCAL (re-pricing:
allocations.services.repricing).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import OperationalError
from django.db.backends.signals import connection_created
from django.shortcuts import render

logger = logging.getLogger(__name__)

_DISPATCH_UID = "ras-page-database-limits"


def page_limits_apply(connection) -> None:
    """Set the page limits on a freshly opened PostgreSQL connection."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), "
            "set_config('idle_in_transaction_session_timeout', %s, false)",
            [
                f"{settings.PAGE_STATEMENT_TIMEOUT_SECONDS * 1000}",
                f"{settings.PAGE_IDLE_TRANSACTION_SECONDS * 1000}",
            ],
        )


def _on_connection_created(sender, connection, **kwargs) -> None:
    page_limits_apply(connection)


def page_limits_install() -> None:
    """Every connection this process opens from now on gets the page limits (ras_site.wsgi
    calls this: the web process only)."""
    connection_created.connect(_on_connection_created, dispatch_uid=_DISPATCH_UID)


def _timed_out(exception: BaseException) -> bool:
    # psycopg2 raises QueryCanceled (SQLSTATE 57014) for statement_timeout; Django wraps it.
    cause = exception.__cause__
    return isinstance(exception, OperationalError) and getattr(cause, "pgcode", None) == "57014"


class StatementTimeoutPage:
    """A page whose query ran past the page limit answers 503 with a page saying so (and
    suggesting a narrower choice), instead of the generic server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _timed_out(exception):
            return None
        logger.warning(
            "Page cancelled after %ss: %s", settings.PAGE_STATEMENT_TIMEOUT_SECONDS, request.path
        )
        return render(
            request,
            "statement_timeout.html",
            {"seconds": settings.PAGE_STATEMENT_TIMEOUT_SECONDS},
            status=503,
        )

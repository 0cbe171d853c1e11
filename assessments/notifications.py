"""E-mails that tell staff something waits for them: a plan to authorise, a referral on an
agenda, a decision made, a lower figure to decide, a draft to approve, reviews coming due.

Every app calls `notify` from the service that brings the waiting item into being (the
dependencies still run one way: callers pass in the permission and the link, this module names
no higher app). An e-mail carries no personal data: no person's name, reference, NHS number
or amount, only a neutral sentence saying what kind of thing waits and an absolute link to it
(the reader logs in to see the rest). It goes only to active users with an e-mail address who
have not turned e-mails off (`User.email_notifications`), never to the person whose action
made the item, and only once the transaction commits: a change rolled back sends nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse

from assessments.models import SentNotification, User

logger = logging.getLogger(__name__)

# Django's ModelBackend answers "who holds this permission" (several backends are installed,
# and User.objects.with_perm must be told which one to ask).
_PERMISSION_BACKEND = "assessments.auth.AccountBackend"

FOOTER = (
    "You receive this e-mail because you use {service} at {council}. It does not say who the "
    "item is about: log in to see it. To stop these e-mails, change your e-mail settings: "
    "{settings_url}"
)

_paused: ContextVar[bool] = ContextVar("notifications_paused", default=False)


@contextlib.contextmanager
def notifications_paused() -> Iterator[None]:
    """Within this block `notify` sends nothing (seed_demo loads months of work at once)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def absolute_url(path: str) -> str:
    """`path` (from reverse()) on the site's address, settings.SITE_URL."""
    return settings.SITE_URL.rstrip("/") + path


def permission_holders(permission: str, *, team_id: int | None = None) -> QuerySet[User]:
    """Active users whose role grants `permission` ("app.codename"), of one team if given.
    Superusers are left out: they administer the system and do not hold casework."""
    users = User.objects.with_perm(
        permission, is_active=True, include_superusers=False, backend=_PERMISSION_BACKEND
    )
    return users.filter(team_id=team_id) if team_id is not None else users


def recipients(users: Iterable[User], *, actor: User | None = None) -> list[User]:
    """Who of `users` (users or a queryset) gets an e-mail, as the database has them now:
    active, with an address, e-mails not turned off, not the actor; each once, by id. One
    query (a queryset is read inside it, as a subquery, not fetched first)."""
    if isinstance(users, QuerySet):
        ids = users.values("pk")
    else:
        ids = {user.pk for user in users if user is not None}
        if not ids - {getattr(actor, "pk", None)}:
            return []
    chosen = User.objects.filter(pk__in=ids, is_active=True, email_notifications=True)
    if actor is not None:
        chosen = chosen.exclude(pk=actor.pk)
    return list(chosen.exclude(email="").order_by("pk"))


def notification_body(*, reason: str, link: str) -> str:
    return "\n\n".join(
        [
            "Hello,",
            reason,
            f"Open it here: {link}",
            FOOTER.format(
                service=settings.SERVICE_NAME,
                council=settings.COUNCIL_NAME,
                settings_url=absolute_url(reverse("email_settings")),
            ),
        ]
    )


def notify(
    users: Iterable[User],
    *,
    subject: str,
    link_path: str,
    reason: str,
    actor: User | None = None,
) -> list[User]:
    """E-mail each of `users` who should hear (see `recipients`) that something waits: the
    `subject` and `reason` are fixed sentences naming the kind of thing ("A support plan is
    waiting for your authorisation."), never a person, and `link_path` is the page it waits
    on. Sent after the current transaction commits (at once outside one); a failure to send is
    logged, not raised, since the change itself has already been saved. Returns the users
    who will be e-mailed. Nothing is sent inside `notifications_paused()`."""
    if _paused.get():
        return []
    chosen = recipients(users, actor=actor)
    if not chosen:
        return []
    subject = f"{settings.SERVICE_NAME}: {subject}"
    body = notification_body(reason=reason, link=absolute_url(link_path))
    # One message per person: nobody sees who else was told.
    messages = [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [u.email]) for u in chosen]

    def send() -> None:
        try:
            get_connection().send_messages(messages)
        except Exception:  # the mail server is down: the work is saved, say so in the log
            logger.exception("Could not send %d notification e-mail(s): %s", len(messages), subject)

    transaction.on_commit(send)
    return chosen


def notification_claim(key: str) -> bool:
    """Record that the notification named `key` (e.g. "review_due:12:2027-01-31") is sent:
    True the first time, False when it already was. Inside the caller's transaction: a second
    caller at the same moment waits on the unique key until the first commits, then gets
    False (or True, if the first rolled back), so two runs never send the same one twice."""
    try:
        with transaction.atomic():
            SentNotification.objects.create(key=key)
    except IntegrityError:
        return False
    return True

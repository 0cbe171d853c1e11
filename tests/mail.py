"""Shorthand for the tests of the e-mails about waiting work (assessments/notifications.py)."""

from __future__ import annotations

import re

from assessments.models import User
from assessments.services.accounts import user_email_notifications_set

SITE = "http://127.0.0.1:8000"


def with_email(*users: User) -> None:
    """The shared cast has no e-mail addresses: give these users one each."""
    for user in users:
        user.email = f"{user.username}@example.org"
        user.save()


def opted_out(user: User) -> User:
    with_email(user)
    return user_email_notifications_set(actor=user, user=user, enabled=False)


def sent_to(outbox) -> list[str]:
    return sorted(address for message in outbox for address in message.to)


def assert_no_personal_data(outbox, *people) -> None:
    """Neither subject nor body names anyone (staff or the person), gives a reference or an
    amount; the body has one link, to this site."""
    for message in outbox:
        text = f"{message.subject}\n{message.body}"
        for who in people:
            for attribute in (
                "first_name",
                "last_name",
                "username",
                "given_name",
                "family_name",
                "reference",
                "nhs_number",
            ):
                value = getattr(who, attribute, "")
                if value:
                    assert str(value).lower() not in text.lower(), (attribute, value, text)
        assert "£" not in text and not re.search(r"\d+\.\d\d", text), text
        assert f"{SITE}/" in message.body

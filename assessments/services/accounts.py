"""Writes for a member of staff's own account settings: whether they are e-mailed when
something waits for them (assessments/notifications.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from assessments.models import User
from assessments.services.history import save_as

OWN_SETTINGS_ONLY = "You can only change your own e-mail settings."
EMAILS_ON = "e-mail notifications turned on"
EMAILS_OFF = "e-mail notifications turned off"


@transaction.atomic
def user_email_notifications_set(*, actor: User, user: User, enabled: bool) -> User:
    """Turn `user`'s e-mails about waiting work on or off. Each user changes only their own
    (PermissionDenied(OWN_SETTINGS_ONLY) otherwise). The history row records who and when,
    with EMAILS_ON or EMAILS_OFF as the reason; setting what is already set writes nothing."""
    if actor.pk != user.pk:
        raise PermissionDenied(OWN_SETTINGS_ONLY)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email_notifications == enabled:
        return user
    user.email_notifications = enabled
    return save_as(user, actor, reason=EMAILS_ON if enabled else EMAILS_OFF)

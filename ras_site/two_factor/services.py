"""Two-step sign-in: setting up an authenticator app, checking its codes, recovery codes,
turning it off. The devices are django-otp's: a TOTPDevice (the app's shared secret) and a
StaticDevice holding the unused recovery codes.

Every change to someone's two-step sign-in is kept in their account's history (the User's
django-simple-history rows, shown on the account's History page in the admin): who, when and
what. The secret and the codes themselves are never written there.

A wrong code counts against the device it was checked on: django-otp's throttling then refuses
every code, right or wrong, for 1, 2, 4, 8 … seconds after each successive failure, and a right
code resets the count.
"""

from __future__ import annotations

import logging
import math
import re
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device, VerifyNotAllowed
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from assessments.models import User
from assessments.services.history import save_as

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"

CODE_REFUSED = (
    "That code is not right. Check the code your authenticator app shows now and try again, "
    "or use one of your recovery codes."
)
CODE_FORMAT = "Enter the 6-digit code from your authenticator app, or a recovery code."
SETUP_CODE_REFUSED = (
    "That code is not right. Check that you added this account to your app, then enter the code "
    "it shows now."
)
TOO_MANY_ATTEMPTS = "Too many wrong codes. Wait {wait}, then try again."
ALREADY_SET_UP = "Two-step sign-in is already on for your account."
NOT_SET_UP = "Two-step sign-in is not on for your account."

REASON_ENROLLED = "Two-step sign-in turned on"
REASON_RECOVERY_CODES = "New recovery codes made; the old ones no longer work"
REASON_TURNED_OFF = "Two-step sign-in turned off (confirmed with a code)"
REASON_RESET = "Two-step sign-in reset by an administrator"

_SIX_DIGITS = re.compile(r"^[0-9]{6}$")
# StaticToken.random_token(): 8 characters of lower-case base 32.
_RECOVERY_CODE = re.compile(r"^[a-z2-7]{8}$")


class CodeRefused(Exception):
    """The code was wrong (or not a code at all); `message` says so to the user."""

    def __init__(self, message: str = CODE_REFUSED):
        super().__init__(message)
        self.message = message


def _duration(seconds: int) -> str:
    """ "1 second", "45 seconds", "3 minutes" (rounded up)."""
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{math.ceil(seconds / 60)} minutes"


class TooManyAttempts(CodeRefused):
    """Throttled after recent wrong codes: no code is checked for `seconds` more seconds."""

    def __init__(self, seconds: int):
        super().__init__(TOO_MANY_ATTEMPTS.format(wait=_duration(seconds)))
        self.seconds = seconds


class TwoFactorStateError(Exception):
    """Turning on what is on already, or off what is off."""


@dataclass(frozen=True)
class Setup:
    """What a person needs to add the account to their authenticator app."""

    key: str  # hex, as TOTPDevice.key stores it
    secret: str  # base 32, for typing into the app by hand
    config_url: str  # otpauth:// address the QR code carries


def normalise_code(text: str) -> str:
    """A code as typed, without spaces and hyphens, in lower case ("ABCD-efgh" → "abcdefgh")."""
    return re.sub(r"[\s-]+", "", text or "").lower()


def is_code(text: str) -> bool:
    """Whether `text` (normalised) looks like an app code or a recovery code."""
    return bool(_SIX_DIGITS.match(text) or _RECOVERY_CODE.match(text))


def format_recovery_code(code: str) -> str:
    """ "abcdefgh" → "abcd-efgh", easier to copy by hand."""
    return f"{code[:4]}-{code[4:]}"


def setup_new(*, user: User, key: str | None = None) -> Setup:
    """A fresh secret (or the given hex `key`) for `user`, not yet saved anywhere: the device is
    saved only when a code from the app proves it was added (`two_factor_enrol`)."""
    key = key or random_hex(20)
    device = TOTPDevice(user=user, key=key, name=APP_DEVICE_NAME)
    return Setup(
        key=key,
        secret=b32encode(unhexlify(key)).decode("ascii").rstrip("="),
        config_url=device.config_url,
    )


def app_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.devices_for_user(user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    """Whether `user` must give a code after their password (a confirmed device of any kind)."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticDevice.objects.filter(user=user, confirmed=True).exists()
    )


def _new_recovery_codes(device: StaticDevice) -> list[str]:
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _lock_user(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


@transaction.atomic
def two_factor_enrol(*, user: User, key: str, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn on two-step sign-in for `user` with the secret `key` (hex, from `setup_new`) once
    `code` shows their app has it. Returns the app's device and RECOVERY_CODE_COUNT new
    recovery codes (shown to the user once; they are not shown again).

    Raises CodeRefused(SETUP_CODE_REFUSED) for a wrong code and TwoFactorStateError when the
    account already has an app. Writes a history row on the account naming `user`."""
    user = _lock_user(user)
    if app_device(user) is not None:
        raise TwoFactorStateError(ALREADY_SET_UP)
    code = normalise_code(code)
    totp = TOTP(unhexlify(key))
    if not (_SIX_DIGITS.match(code) and totp.verify(int(code), tolerance=1)):
        raise CodeRefused(SETUP_CODE_REFUSED)
    # The code just used may not be used again to sign in (django-otp checks t > last_t).
    device = TOTPDevice.objects.create(
        user=user, key=key, name=APP_DEVICE_NAME, confirmed=True, last_t=totp.t()
    )
    # Recovery codes of an earlier app (an administrator's reset leaves none) are replaced.
    StaticDevice.objects.filter(user=user).delete()
    recovery = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = _new_recovery_codes(recovery)
    save_as(user, user, reason=REASON_ENROLLED)
    return device, codes


def _check_allowed(device: Device) -> None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return
    if data and data.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        wait = (data["locked_until"] - timezone.now()).total_seconds()
        raise TooManyAttempts(max(1, math.ceil(wait)))
    raise CodeRefused()


def _verify(user: User, code: str) -> Device:
    """The device of `user` that accepts `code` (a recovery code is used up), inside the
    caller's transaction with the device row locked; CodeRefused / TooManyAttempts otherwise."""
    code = normalise_code(code)
    if not is_code(code):
        raise CodeRefused(CODE_FORMAT)
    model = TOTPDevice if _SIX_DIGITS.match(code) else StaticDevice
    device = (
        model.objects.devices_for_user(user, confirmed=True).select_for_update().order_by("pk")
    ).first()
    if device is None:
        raise CodeRefused()
    _check_allowed(device)
    if not device.verify_token(code):
        logger.warning("Two-step sign-in: wrong %s for user %s", device.name, user.pk)
        raise CodeRefused()
    return device


def two_factor_verify(*, user: User, code: str) -> Device:
    """The device that accepts `code` from `user`: a 6-digit code from the app (not one already
    used) or an unused recovery code, which is then used up. A wrong code is counted for
    throttling (committed, so it counts even though this raises).

    Raises CodeRefused (CODE_FORMAT for something that is not a code, CODE_REFUSED otherwise)
    or TooManyAttempts while throttled."""
    refused: CodeRefused | None = None
    with transaction.atomic():
        try:
            device = _verify(user, code)
        except CodeRefused as error:
            refused = error
    if refused is not None:
        raise refused
    return device


def recovery_codes_left(user: User) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


@transaction.atomic
def recovery_codes_replace(*, user: User) -> list[str]:
    """RECOVERY_CODE_COUNT new recovery codes for `user`; the old ones stop working.
    Raises TwoFactorStateError when two-step sign-in is off. Writes a history row."""
    user = _lock_user(user)
    if app_device(user) is None:
        raise TwoFactorStateError(NOT_SET_UP)
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME, "confirmed": True}
    )
    codes = _new_recovery_codes(device)
    save_as(user, user, reason=REASON_RECOVERY_CODES)
    return codes


def _remove_devices(user: User) -> None:
    # The secret and the codes are destroyed, not kept: a retired secret that still existed
    # could still make valid codes. The history row records that it happened.
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def two_factor_turn_off(*, user: User, code: str) -> None:
    """Turn off two-step sign-in for `user`, who proves it is them with a current code from
    their app or a recovery code. Raises CodeRefused / TooManyAttempts (the wrong code counts
    for throttling) or TwoFactorStateError when it is off already. Writes a history row."""
    refused: CodeRefused | None = None
    with transaction.atomic():
        user = _lock_user(user)
        if not has_two_factor(user):
            raise TwoFactorStateError(NOT_SET_UP)
        try:
            _verify(user, code)
        except CodeRefused as error:
            refused = error
        else:
            _remove_devices(user)
            save_as(user, user, reason=REASON_TURNED_OFF)
    if refused is not None:
        raise refused


@transaction.atomic
def two_factor_reset(*, user: User, actor: User) -> bool:
    """An administrator (`actor`) turns off two-step sign-in for `user`, who lost their phone
    and their recovery codes; they set it up again at their next sign-in when it is required.
    Returns False (and records nothing) when it was off. Writes a history row naming `actor`."""
    user = _lock_user(user)
    if not has_two_factor(user):
        return False
    _remove_devices(user)
    save_as(user, actor, reason=REASON_RESET)
    return True

"""The two-step sign-in pages: the code asked for after the password, and "Two-step sign-in"
(setting up an app, the recovery codes, turning it off)."""

from __future__ import annotations

import base64
import logging
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from ras_site.two_factor.forms import CodeForm
from ras_site.two_factor.middleware import (
    OWES_CODE,
    OWES_SETUP,
    owes_code,
    owes_setup,
    remember_two_factor,
    two_factor_step,
)
from ras_site.two_factor.services import (
    RECOVERY_CODE_COUNT,
    CodeRefused,
    TwoFactorStateError,
    app_device,
    format_recovery_code,
    has_two_factor,
    recovery_codes_left,
    recovery_codes_replace,
    setup_new,
    two_factor_enrol,
    two_factor_turn_off,
    two_factor_verify,
)

logger = logging.getLogger(__name__)

# The secret being set up, kept in the session until a code proves the app has it.
SETUP_KEY = "two_factor_setup_key"
# Recovery codes just made, shown once by recovery_codes_view and then forgotten.
NEW_CODES = "two_factor_new_codes"

RECOVERY_CODES_SHOWN = (
    "Recovery codes are shown only once. If you did not keep them, make new ones: the old ones "
    "then stop working."
)
TURNED_ON = "Two-step sign-in is on."
TURNED_OFF = "Two-step sign-in is off."
SETUP_EXPIRED = "Setting up took too long. Add the account to your app again with this new code."


def _next_url(request) -> str:
    """Where the person was going before the two-step pages (a page of this site only)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _signed_in_with(request, device) -> None:
    """The session now counts as signed in: it gave a code from `device`."""
    otp_login(request, device)
    # A new session key for the fully signed-in session (as Django's login does).
    request.session.cycle_key()


def _qr_svg_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _grouped(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


@never_cache
@two_factor_step(OWES_CODE)
@require_http_methods(["GET", "POST"])
def verify_view(request):
    """After the password: the code from the app or a recovery code."""
    next_url = _next_url(request)
    if owes_code(request) and not has_two_factor(request.user):
        # Reset by an administrator since this session signed in: no code to ask for.
        remember_two_factor(request, False)
    if not owes_code(request):
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    form = CodeForm(request.POST or None, autofocus=True)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except CodeRefused as refused:
            form.add_error("code", refused.message)
        else:
            _signed_in_with(request, device)
            if isinstance(device, StaticDevice):
                logger.info("Two-step sign-in: user %s used a recovery code", request.user.pk)
                left = recovery_codes_left(request.user)
                messages.warning(
                    request,
                    f"You used a recovery code. You have {left} left: make new ones on the "
                    "Two-step sign-in page.",
                )
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(
        request,
        "registration/two_factor_verify.html",
        # Half signed in (the menu's pages would only send them back here).
        {"form": form, "next": next_url, "two_factor_pending": True},
    )


@never_cache
@two_factor_step(OWES_SETUP)
@require_http_methods(["GET"])
def manage_view(request):
    """Two-step sign-in: set it up (a QR code and the secret as text), or see it is on, make
    new recovery codes and turn it off."""
    return _manage_page(request)


def _manage_page(request, *, form=None, turn_off_form=None):
    device = app_device(request.user)
    context = {
        "device": device,
        "required": settings.TWO_FACTOR_REQUIRED,
        "next": _next_url(request),
        # Half signed in (the menu's pages would only send them back here).
        "two_factor_pending": owes_setup(request),
    }
    if device is not None:
        remember_two_factor(request, True)
        context["codes_left"] = recovery_codes_left(request.user)
        context["code_count"] = RECOVERY_CODE_COUNT
        context["turn_off_form"] = turn_off_form or CodeForm()
    else:
        key = request.session.get(SETUP_KEY)
        setup = setup_new(user=request.user, key=key)
        request.session[SETUP_KEY] = setup.key
        context["secret"] = _grouped(setup.secret)
        context["qr_code"] = _qr_svg_data_uri(setup.config_url)
        context["form"] = form or CodeForm(recovery=False)
    return render(request, "registration/two_factor_manage.html", context)


@two_factor_step(OWES_SETUP)
@require_POST
def enrol_view(request):
    key = request.session.get(SETUP_KEY)
    if not key:
        messages.error(request, SETUP_EXPIRED)
        return redirect("two_factor:manage")
    form = CodeForm(request.POST, recovery=False, autofocus=True)
    if form.is_valid():
        try:
            device, codes = two_factor_enrol(
                user=request.user, key=key, code=form.cleaned_data["code"]
            )
        except CodeRefused as refused:
            form.add_error("code", refused.message)
        except TwoFactorStateError as error:
            messages.info(request, str(error))
            return redirect("two_factor:manage")
        else:
            del request.session[SETUP_KEY]
            remember_two_factor(request, True)
            _signed_in_with(request, device)
            request.session[NEW_CODES] = codes
            messages.success(request, TURNED_ON)
            return redirect(_with_next(reverse("two_factor:recovery_codes"), request))
    return _manage_page(request, form=form)


def _with_next(url: str, request) -> str:
    next_url = _next_url(request)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@never_cache
@require_http_methods(["GET"])
def recovery_codes_view(request):
    """The recovery codes just made, once; a reload shows them no more."""
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        messages.info(request, RECOVERY_CODES_SHOWN)
        return redirect("two_factor:manage")
    return render(
        request,
        "registration/two_factor_recovery_codes.html",
        {
            "codes": [format_recovery_code(code) for code in codes],
            "next": _next_url(request) or resolve_url(settings.LOGIN_REDIRECT_URL),
        },
    )


@require_POST
def recovery_codes_new_view(request):
    try:
        codes = recovery_codes_replace(user=request.user)
    except TwoFactorStateError as error:
        messages.info(request, str(error))
        return redirect("two_factor:manage")
    request.session[NEW_CODES] = codes
    return redirect("two_factor:recovery_codes")


@require_POST
def turn_off_view(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            two_factor_turn_off(user=request.user, code=form.cleaned_data["code"])
        except CodeRefused as refused:
            form.add_error("code", refused.message)
        except TwoFactorStateError as error:
            messages.info(request, str(error))
            return redirect("two_factor:manage")
        else:
            remember_two_factor(request, False)
            messages.success(request, TURNED_OFF)
            return redirect("two_factor:manage")
    return _manage_page(request, turn_off_form=form)

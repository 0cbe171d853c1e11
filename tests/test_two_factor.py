"""Two-step sign-in: setting up an app, signing in with its code or a recovery code, the gate
that keeps a half-signed-in session out of everything else, throttling, turning it off, the
administrator's reset, and TWO_FACTOR_REQUIRED."""

from __future__ import annotations

import time
from binascii import unhexlify

import pytest
import time_machine
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from assessments.models import PersonAccess
from ras_site.two_factor.forms import APP_CODE_FORMAT
from ras_site.two_factor.services import (
    CODE_REFUSED,
    REASON_ENROLLED,
    REASON_RECOVERY_CODES,
    REASON_RESET,
    REASON_TURNED_OFF,
    RECOVERY_CODE_COUNT,
    SETUP_CODE_REFUSED,
    setup_new,
    two_factor_enrol,
    two_factor_reset,
)
from ras_site.two_factor.views import RECOVERY_CODES_SHOWN, SETUP_KEY, TURNED_OFF
from tests.factories import TEST_PASSWORD, make_user
from tests.test_settings import PRODUCTION, manage

pytestmark = pytest.mark.django_db

MANAGE = reverse("two_factor:manage")
VERIFY = reverse("two_factor:verify")


def _step() -> int:
    return int(time.time()) // 30


def code_for_key(key: str, step: int | None = None) -> str:
    """What an authenticator app holding the hex `key` shows now (or at time step `step`)."""
    return f"{hotp(unhexlify(key), _step() if step is None else step):06d}"


def next_code(user) -> str:
    """The app's next code that the service has not yet accepted (a code works once)."""
    device = TOTPDevice.objects.get(user=user)
    return code_for_key(device.key, max(device.last_t + 1, _step()))


def enrolled(user) -> list[str]:
    """Turn on two-step sign-in for `user`; their recovery codes."""
    setup = setup_new(user=user)
    _, codes = two_factor_enrol(user=user, key=setup.key, code=code_for_key(setup.key))
    return codes


def log_in_with_password(client, username="worker.a"):
    return client.post(
        reverse("login"), {"username": username, "password": TEST_PASSWORD}, follow=True
    )


def history_reasons(user) -> list[tuple[str, str]]:
    return [
        (row.history_change_reason, row.history_user.username)
        for row in user.history.order_by("history_id")
        if row.history_change_reason
    ]


# --- Setting it up ------------------------------------------------------------------------


def test_anyone_can_set_up_two_step_sign_in(client, worker_a):
    client.force_login(worker_a)
    page = client.get(MANAGE)
    assert page.status_code == 200
    assert "<h1" in page.text and "Two-step sign-in</h1>" in page.text
    # A QR code drawn on the server (an SVG, no third party) and the key as text.
    assert 'src="data:image/svg+xml;base64,' in page.text
    key = client.session[SETUP_KEY]
    assert page.context["secret"].replace(" ", "") == setup_new(user=worker_a, key=key).secret
    assert page.context["secret"] in page.text
    # Reloading keeps the same key (the app may have scanned it already).
    client.get(MANAGE)
    assert client.session[SETUP_KEY] == key

    done = client.post(reverse("two_factor:enrol"), {"code": code_for_key(key)}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("two_factor:recovery_codes")
    codes = done.context["codes"]
    assert len(codes) == len(set(codes)) == RECOVERY_CODE_COUNT == 10
    assert all(code in done.text for code in codes)
    device = TOTPDevice.objects.get(user=worker_a)
    assert device.confirmed and device.key == key
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(
        code.replace("-", "") for code in codes
    )
    assert history_reasons(worker_a) == [(REASON_ENROLLED, "worker.a")]
    # Shown once: coming back to the page does not show them again.
    again = client.get(reverse("two_factor:recovery_codes"), follow=True)
    assert RECOVERY_CODES_SHOWN in again.text
    assert not any(code in again.text for code in codes)
    # The session that set it up counts as signed in with it.
    assert client.get(reverse("assessments:person_list")).status_code == 200
    assert "Two-step sign-in is on" in client.get(MANAGE).text


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Enter a code."), ("12345", APP_CODE_FORMAT), ("abcdefgh", APP_CODE_FORMAT)],
)
def test_setting_up_refuses_what_is_not_a_code(client, worker_a, typed, message):
    client.force_login(worker_a)
    client.get(MANAGE)
    page = client.post(reverse("two_factor:enrol"), {"code": typed})
    assert page.status_code == 200
    assert message in page.text
    assert not TOTPDevice.objects.exists()


def test_setting_up_refuses_a_wrong_code_and_saves_nothing(client, worker_a):
    client.force_login(worker_a)
    client.get(MANAGE)
    key = client.session[SETUP_KEY]
    wrong = code_for_key(key, _step() + 5)
    page = client.post(reverse("two_factor:enrol"), {"code": wrong})
    assert page.status_code == 200
    assert SETUP_CODE_REFUSED in page.text
    assert page.context["form"].errors["code"] == [SETUP_CODE_REFUSED]
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert client.session[SETUP_KEY] == key  # the same key: try again with the app's code
    assert history_reasons(worker_a) == []


# --- Signing in ---------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, worker_a):
    enrolled(worker_a)
    asked = log_in_with_password(client)
    assert asked.redirect_chain[-1][0].startswith(VERIFY)
    assert "Enter your code" in asked.text
    assert asked.context["next"] == "/"  # where the login was going

    half_signed_in = client.session.session_key
    done = client.post(VERIFY, {"code": next_code(worker_a), "next": "/"}, follow=True)
    assert client.session.session_key != half_signed_in  # a new key for the signed-in session
    assert done.redirect_chain[-1][0] == reverse("panels:my_work")
    assert done.status_code == 200
    assert client.get(reverse("assessments:person_list")).status_code == 200


def test_a_wrong_code_is_refused_with_a_message_and_then_throttled(client, worker_a):
    enrolled(worker_a)
    log_in_with_password(client)
    key = TOTPDevice.objects.get().key
    with time_machine.travel(time.time(), tick=False):
        wrong = client.post(VERIFY, {"code": code_for_key(key, _step() + 10)})
        assert wrong.status_code == 200
        assert CODE_REFUSED in wrong.text
        # Straight after a wrong code even the right one is refused for a while.
        right = next_code(worker_a)
        throttled = client.post(VERIFY, {"code": right})
        assert "Too many wrong codes. Wait 1 second, then try again." in throttled.text
        assert client.get(reverse("assessments:person_list")).status_code == 302
    with time_machine.travel(time.time() + 3, tick=False):
        ok = client.post(VERIFY, {"code": next_code(worker_a)})
    assert ok.status_code == 302
    assert TOTPDevice.objects.get().throttling_failure_count == 0


def test_a_code_works_only_once(client, worker_a):
    enrolled(worker_a)
    log_in_with_password(client)
    code = next_code(worker_a)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    client.post(reverse("logout"))
    log_in_with_password(client)
    again = client.post(VERIFY, {"code": code})
    assert CODE_REFUSED in again.text


def test_a_recovery_code_signs_in_once(client, worker_a):
    codes = enrolled(worker_a)
    log_in_with_password(client)
    # Typed as shown ("abcd-efgh"), in capitals, with a space: still the code.
    typed = codes[0].upper().replace("-", " ")
    done = client.post(VERIFY, {"code": typed}, follow=True)
    assert done.status_code == 200
    assert f"You used a recovery code. You have {RECOVERY_CODE_COUNT - 1} left" in done.text
    assert client.get(reverse("assessments:person_list")).status_code == 200

    client.post(reverse("logout"))
    log_in_with_password(client)
    again = client.post(VERIFY, {"code": codes[0]})
    assert CODE_REFUSED in again.text
    assert client.get(reverse("assessments:person_list")).status_code == 302


def test_an_unverified_session_reaches_nothing_but_the_code_page(
    client, worker_a, person_a, ras_admin
):
    enrolled(worker_a)
    log_in_with_password(client)
    person_page = reverse("assessments:person_detail", args=[person_a.pk])
    refused = client.get(person_page)
    assert refused.status_code == 302
    assert refused.url == f"{VERIFY}?next={person_page}"
    assert not PersonAccess.objects.exists()  # the record was not opened
    for url in (
        reverse("assessments:person_list"),
        reverse("panels:my_work"),
        reverse("admin:index"),
        MANAGE,
        reverse("two_factor:recovery_codes"),
        reverse("password_change"),
    ):
        assert client.get(url).url.startswith(VERIFY), url
    # Nor can it make itself new recovery codes, or turn two-step sign-in off.
    before = set(StaticToken.objects.values_list("token", flat=True))
    assert client.post(reverse("two_factor:recovery_codes_new")).url.startswith(VERIFY)
    assert client.post(reverse("two_factor:turn_off"), {"code": "abcdefgh"}).url.startswith(VERIFY)
    assert set(StaticToken.objects.values_list("token", flat=True)) == before
    assert TOTPDevice.objects.filter(user=worker_a).exists()
    # Logging out is allowed.
    assert client.post(reverse("logout")).url == reverse("login")


def test_after_the_code_it_goes_where_it_was_going_but_only_to_this_site(
    client, worker_a, person_a
):
    enrolled(worker_a)
    log_in_with_password(client)
    person_page = reverse("assessments:person_detail", args=[person_a.pk])
    done = client.post(VERIFY, {"code": next_code(worker_a), "next": person_page})
    assert done.url == person_page
    client.post(reverse("logout"))
    log_in_with_password(client)
    elsewhere = client.post(
        VERIFY, {"code": next_code(worker_a), "next": "https://evil.example/steal"}
    )
    assert elsewhere.url == reverse("home")


def test_someone_without_two_step_sign_in_is_not_asked_when_it_is_optional(client, worker_a):
    signed_in = log_in_with_password(client)
    assert signed_in.redirect_chain[-1][0] == reverse("panels:my_work")
    assert client.get(VERIFY).url == reverse("home")  # nothing owed


# --- Recovery codes, turning it off, the administrator's reset --------------------------


def test_new_recovery_codes_void_the_old_ones(client, worker_a):
    old = enrolled(worker_a)
    log_in_with_password(client)
    client.post(VERIFY, {"code": next_code(worker_a)})
    shown = client.post(reverse("two_factor:recovery_codes_new"), follow=True)
    new = shown.context["codes"]
    assert len(new) == RECOVERY_CODE_COUNT and not set(new) & set(old)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(
        code.replace("-", "") for code in new
    )
    assert history_reasons(worker_a)[-1] == (REASON_RECOVERY_CODES, "worker.a")
    client.post(reverse("logout"))
    log_in_with_password(client)
    assert CODE_REFUSED in client.post(VERIFY, {"code": old[1]}).text


def test_turning_it_off_needs_a_current_code(client, worker_a):
    codes = enrolled(worker_a)
    log_in_with_password(client)
    client.post(VERIFY, {"code": next_code(worker_a)})
    turn_off = reverse("two_factor:turn_off")

    missing = client.post(turn_off, {"code": ""})
    assert "Enter a code." in missing.text
    with time_machine.travel(time.time(), tick=False):
        wrong = client.post(turn_off, {"code": codes[0][::-1].replace("-", "")})
        assert CODE_REFUSED in wrong.text
    assert TOTPDevice.objects.filter(user=worker_a).exists()

    with time_machine.travel(time.time() + 3, tick=False):
        off = client.post(turn_off, {"code": next_code(worker_a)}, follow=True)
    assert TURNED_OFF in off.text
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert history_reasons(worker_a)[-1] == (REASON_TURNED_OFF, "worker.a")
    # The next sign-in asks for the password only.
    client.post(reverse("logout"))
    assert log_in_with_password(client).redirect_chain[-1][0] == reverse("panels:my_work")


def test_an_administrator_resets_it_in_the_admin_and_it_is_recorded(client, worker_a):
    enrolled(worker_a)
    admin = get_user_model().objects.create_superuser("it.admin", password=TEST_PASSWORD)
    client.force_login(admin)
    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    listed = client.get(changelist)
    assert listed.status_code == 200
    assert "worker.a" in listed.text.lower()
    device = TOTPDevice.objects.get(user=worker_a)
    assert device.key not in listed.text  # the secret is never shown
    client.post(changelist, {"action": "reset", "_selected_action": [device.pk]})
    assert not TOTPDevice.objects.filter(user=worker_a).exists()
    assert not StaticDevice.objects.filter(user=worker_a).exists()
    assert history_reasons(worker_a)[-1] == (REASON_RESET, "it.admin")


def test_a_session_signed_in_with_it_before_a_reset_is_not_stuck(client, worker_a, settings):
    enrolled(worker_a)
    log_in_with_password(client)
    client.post(VERIFY, {"code": next_code(worker_a)})
    admin = get_user_model().objects.create_superuser("it.admin", password=TEST_PASSWORD)
    two_factor_reset(user=worker_a, actor=admin)
    # The device it signed in with is gone: the code page lets it through instead of asking
    # for a code no app can make any more.
    people = reverse("assessments:person_list")
    sent = client.get(people)
    assert sent.url == f"{VERIFY}?next={people}"
    assert client.get(sent.url).url == people
    assert client.get(people).status_code == 200
    # When it is required, the session is then sent to set it up again.
    settings.TWO_FACTOR_REQUIRED = True
    assert client.get(people).url.startswith(MANAGE)


def test_the_admin_cannot_add_or_see_secrets_of_devices(client, worker_a):
    enrolled(worker_a)
    admin = get_user_model().objects.create_superuser("it.admin", password=TEST_PASSWORD)
    client.force_login(admin)
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    device = TOTPDevice.objects.get(user=worker_a)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200 and device.key not in page.text
    assert not django_admin.site.is_registered(StaticDevice)  # recovery codes are not shown


# --- Required in production ---------------------------------------------------------------


def test_when_required_someone_without_it_must_set_it_up_first(client, worker_a, settings):
    settings.TWO_FACTOR_REQUIRED = True
    people = reverse("assessments:person_list")
    signed_in = log_in_with_password(client)
    assert signed_in.redirect_chain[-1][0].startswith(MANAGE)
    assert "Your council requires two-step sign-in" in signed_in.text
    sent = client.get(people)
    assert sent.url == f"{MANAGE}?next={people}"
    for url in (reverse("admin:index"), reverse("password_change"), reverse("panels:my_work")):
        assert client.get(url).url.startswith(MANAGE), url

    client.get(sent.url)
    key = client.session[SETUP_KEY]
    done = client.post(
        reverse("two_factor:enrol"), {"code": code_for_key(key), "next": people}, follow=True
    )
    assert done.context["next"] == people  # "I have kept my recovery codes" goes on there
    assert client.get(people).status_code == 200


def test_when_required_force_login_sessions_of_people_with_it_still_owe_a_code(
    client, worker_a, settings
):
    settings.TWO_FACTOR_REQUIRED = True
    enrolled(worker_a)
    client.force_login(worker_a)
    assert client.get(reverse("panels:my_work")).url.startswith(VERIFY)


def test_turning_it_off_when_required_leads_straight_back_to_setting_it_up(
    client, worker_a, settings
):
    settings.TWO_FACTOR_REQUIRED = True
    enrolled(worker_a)
    log_in_with_password(client)
    client.post(VERIFY, {"code": next_code(worker_a)})
    with time_machine.travel(time.time() + 31, tick=False):
        client.post(reverse("two_factor:turn_off"), {"code": next_code(worker_a)})
    assert not TOTPDevice.objects.exists()
    assert client.get(reverse("panels:my_work")).url.startswith(MANAGE)


PRINT_REQUIRED = (
    "shell",
    "--no-imports",
    "-c",
    "from django.conf import settings; print(settings.TWO_FACTOR_REQUIRED)",
)


@pytest.mark.parametrize(("env", "expected"), [({}, "False"), (PRODUCTION, "True")])
def test_required_by_default_in_production_only(env, expected):
    result = manage(*PRINT_REQUIRED, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_required_can_be_switched_off_for_a_production_trial():
    result = manage(*PRINT_REQUIRED, **PRODUCTION, TWO_FACTOR_REQUIRED="false")
    assert result.stdout.strip() == "False", result.stderr


def test_people_without_it_cost_no_extra_query_per_page(client, worker_a):
    """The gate reads the session, not the devices, for someone who has not turned it on."""
    enrolled(make_user("worker.c", None, worker_a.team))
    client.force_login(worker_a)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("assessments:person_list"))
    assert not [q for q in queries.captured_queries if "otp_" in q["sql"]]

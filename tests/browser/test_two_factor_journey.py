"""Two-step sign-in in a real browser: set up an app from the page, log out, log in with the
app's code."""

from __future__ import annotations

import base64
import time

import pytest
from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def app_code(secret_text: str, *, after: int = -1) -> str:
    """What an authenticator app holding the key `secret_text` (as the page shows it, base 32
    in groups) shows now, or its first code after time step `after`."""
    secret = secret_text.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{hotp(key, max(int(time.time()) // 30, after + 1)):06d}"


def set_up_two_step_sign_in(page, live_server) -> str:
    """From the password page to recovery codes; returns the key the page showed."""
    page.goto(live_server.url + reverse("password_change"))
    page.get_by_role("main").get_by_role("link", name="Two-step sign-in").click()
    page.get_by_role("heading", name="Two-step sign-in", level=1).wait_for()
    assert page.get_by_role("img", name="QR code").is_visible()
    secret = page.locator("#two-factor-secret").inner_text()
    page.get_by_label("6-digit code from your authenticator app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    return secret


def test_set_up_log_out_and_log_in_with_a_code(page, live_server, worker_a):
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    secret = set_up_two_step_sign_in(page, live_server)
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    assert codes.count() == 10
    page.get_by_role("link", name="I have kept my recovery codes").click()
    page.wait_for_url(f"{live_server.url}/my-work/")
    page.get_by_role("button", name="Log out").click()

    page.get_by_label("Username").fill("worker.a")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    # Half signed in: other pages send the browser back here.
    page.goto(live_server.url + reverse("assessments:person_list"))
    page.get_by_role("heading", name="Enter your code").wait_for()

    used = TOTPDevice.objects.get(user=worker_a).last_t  # a code works once
    code_box = page.get_by_label("Code from your authenticator app, or a recovery code")
    code_box.fill(app_code(secret, after=used))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}{reverse('assessments:person_list')}")
    assert page.get_by_role("heading", name="People", level=1).is_visible()


def test_two_step_pages_have_no_serious_accessibility_violations(axe_page, live_server, worker_a):
    page = axe_page
    log_in(page, live_server, "worker.a", TEST_PASSWORD)
    page.goto(live_server.url + reverse("two_factor:manage"))
    assert axe_violations(page) == [], "set up"
    # A wrong code: the message beside the field.
    page.get_by_label("6-digit code from your authenticator app").fill("12")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.get_by_text("Enter the 6-digit code your authenticator app shows.").wait_for()
    assert axe_violations(page) == [], "set up, with an error"
    set_up_two_step_sign_in(page, live_server)
    assert axe_violations(page) == [], "recovery codes"
    page.goto(live_server.url + reverse("two_factor:manage"))
    assert axe_violations(page) == [], "on"
    page.get_by_role("button", name="Log out").first.click()
    log_in_form = page.get_by_role("main")
    log_in_form.get_by_label("Username").fill("worker.a")
    log_in_form.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    assert axe_violations(page) == [], "code"

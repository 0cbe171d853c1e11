"""Logging in and out, password rules, throttling and inactivity timeouts."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_open_and_login_works(client, worker_a):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "worker.a", "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("panels:my_work")
    assert response.context["user"] == worker_a


def test_wrong_password_is_refused_with_a_message(client, worker_a):
    response = client.post(reverse("login"), {"username": "worker.a", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only_and_ends_the_session(client, worker_a):
    client.force_login(worker_a)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.url == reverse("login")
    assert client.get(reverse("assessments:person_list")).status_code == 302


def test_repeated_failed_logins_are_throttled(client, worker_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "worker.a", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "worker.a", "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.text
    assert "_auth_user_id" not in client.session


def test_throttling_is_per_username_so_colleagues_can_still_log_in(client, worker_a, worker_b):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "worker.a", "password": "wrong"})
    ok = client.post(reverse("login"), {"username": "worker.b", "password": TEST_PASSWORD})
    assert ok.status_code == 302


def test_session_expires_after_inactivity():
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST  # each request restarts the idle clock


def test_idle_session_expires_and_activity_renews_it(client, worker_a):
    import datetime

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(worker_a)
    people = reverse("assessments:person_list")
    assert client.get(people).status_code == 200
    session = Session.objects.get()
    left = session.expire_date - timezone.now()
    assert datetime.timedelta(minutes=29) < left <= datetime.timedelta(minutes=30)

    # 31 minutes without a request: the next one is sent to the login page.
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(minutes=1))
    response = client.get(people)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pw-1", "at least 12 characters"),
        ("password1234", "too common"),
    ],
)
def test_weak_passwords_are_refused(password, problem):
    with pytest.raises(ValidationError, match=problem):
        validate_password(password)


def test_change_password(client, worker_a):
    client.force_login(worker_a)
    url = reverse("password_change")
    weak = client.post(
        url,
        {"old_password": TEST_PASSWORD, "new_password1": "abc", "new_password2": "abc"},
    )
    assert "at least 12 characters" in weak.text
    new = "another-long-passphrase-9"
    done = client.post(
        url, {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert done.url == reverse("password_change_done")
    worker_a.refresh_from_db()
    assert worker_a.check_password(new)


def test_every_page_but_login_needs_a_login(client, db):
    from django.urls import get_resolver

    open_pages = {"login", "healthz"}
    checked = 0
    for name in get_resolver().reverse_dict:
        if not isinstance(name, str) or name in open_pages:
            continue
        try:
            path = reverse(name)
        except Exception:  # noqa: S112 - patterns needing arguments are covered elsewhere
            continue
        response = client.get(path)
        assert response.status_code in (301, 302), name
        checked += 1
    assert checked >= 4
    assert client.get(reverse("healthz")).status_code == 200


def test_pages_carry_security_headers(client, worker_a):
    client.force_login(worker_a)
    response = client.get(reverse("assessments:person_list"))
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"


def test_admin_site_is_for_staff_reference_data(client, ras_admin, worker_a, team_a):
    client.force_login(ras_admin)
    teams = client.get(reverse("admin:assessments_team_changelist"))
    assert teams.status_code == 200
    assert "North Locality Team" in teams.text
    client.force_login(worker_a)
    assert client.get(reverse("admin:assessments_team_changelist")).status_code == 302

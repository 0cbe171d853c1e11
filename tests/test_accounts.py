"""Logging in and out, password rules, throttling and inactivity timeouts."""

from __future__ import annotations

import datetime
import functools
import itertools
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern

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


def test_password_spraying_from_one_address_is_paused(client, worker_a, worker_b):
    # Many usernames, one wrong password each, from one address: no username reaches its own
    # limit, but the address reaches AXES_ADDRESS_FAILURE_LIMIT and is paused for everyone.
    for n in range(settings.AXES_ADDRESS_FAILURE_LIMIT):
        sprayed = client.post(reverse("login"), {"username": f"guess{n}", "password": "Summer2026"})
    assert sprayed.status_code == 429
    locked = client.post(reverse("login"), {"username": "worker.a", "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    other = client.post(
        reverse("login"),
        {"username": "worker.b", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.9",
    )
    assert other.status_code == 302


def test_a_success_does_not_clear_the_addresss_failures(client, worker_a):
    for n in range(settings.AXES_ADDRESS_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": f"guess{n}", "password": "wrong"})
    assert (
        client.post(
            reverse("login"), {"username": "worker.a", "password": TEST_PASSWORD}
        ).status_code
        == 302
    )
    client.logout()
    # The next failure is the address's limit: a valid login in between did not reset it.
    client.post(reverse("login"), {"username": "guess-last", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "worker.a", "password": TEST_PASSWORD})
    assert locked.status_code == 429


def test_a_username_too_long_to_store_is_a_failed_login_not_an_error(client, worker_a):
    response = client.post(reverse("login"), {"username": "x" * 300, "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.text
    assert AccessAttempt.objects.get().username == "x" * 255


def test_idle_session_expires_and_activity_renews_it(client, worker_a, time_machine):
    import datetime

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    time_machine.move_to(datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    client.force_login(worker_a)
    people = reverse("assessments:person_list")
    assert client.get(people).status_code == 200
    # 29 minutes later a request still counts, and renews the clock.
    time_machine.shift(datetime.timedelta(minutes=29))
    assert client.get(people).status_code == 200
    time_machine.shift(datetime.timedelta(minutes=29))
    assert client.get(people).status_code == 200
    # 30½ minutes without a request: the next one is sent to the login page (the session row
    # itself would have lasted a little longer).
    time_machine.shift(datetime.timedelta(minutes=30, seconds=30))
    assert Session.objects.filter(expire_date__gt=timezone.now()).exists()
    response = client.get(people)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_session_row_is_written_only_when_it_changes(client, worker_a, time_machine):
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    time_machine.move_to(datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    client.force_login(worker_a)
    people = reverse("assessments:person_list")
    client.get(people)

    def session_writes(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return [
            q["sql"]
            for q in queries.captured_queries
            if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")
        ]

    time_machine.shift(datetime.timedelta(seconds=30))
    assert session_writes(people) == []
    assert session_writes(reverse("healthz")) == []
    # After a minute the time of the last request is written again: one write.
    time_machine.shift(datetime.timedelta(seconds=31))
    assert len(session_writes(people)) == 1


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


# --- every page needs a login --------------------------------------------------------------

# The only pages an anonymous visitor may open: each view is marked @login_not_required.
OPEN_PAGES = {
    "login",  # the site's log-in page
    "healthz",  # for load balancers
    "allocations:rules",  # the public page of how budgets are worked out
    "admin:login",  # the admin's own log-in page
}


@dataclass(frozen=True)
class Page:
    """One URL pattern, reached through every include above it."""

    pieces: tuple  # the URLPattern/URLResolver patterns from the root down to this one
    name: str | None  # namespaced, e.g. "panels:referral_detail"; None for unnamed patterns
    callback: object
    admin_model: type | None  # the model whose ModelAdmin the pattern belongs to


def _walk(patterns, pieces=(), namespace=None, admin_model=None):
    """Every pattern of every namespace, recursing through each include (admin included)."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            model = admin_model
            if inner == "admin":  # a ModelAdmin's include: admin/<app_label>/<model_name>/
                model = _admin_models().get(str(entry.pattern), model)
            yield from _walk(entry.url_patterns, (*pieces, entry.pattern), inner, model)
        else:
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield Page((*pieces, entry.pattern), name, entry.callback, admin_model)


def _admin_models() -> dict[str, type]:
    return {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}


_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP = re.compile(r"\((?:\?P<(\w+)>)?[^()]*\)")


def _fill(text: str, parameters: re.Pattern, url: str, value) -> str:
    """`url` + `text`, each parameter of `text` replaced by value(name, URL up to it)
    (unnamed regex groups are called group0, group1, ...)."""
    done, anonymous = 0, itertools.count()
    for match in parameters.finditer(text):
        url += text[done : match.start()]
        url += value(match[1] or f"group{next(anonymous)}", url)
        done = match.end()
    return url + text[done:]


def _path(page: Page, value) -> str:
    """The page's URL, each parameter filled by value(parameter name, URL up to it)."""
    url = "/"
    for pattern in page.pieces:
        if isinstance(pattern, RoutePattern):
            url = _fill(str(pattern), _ROUTE_PARAMETER, url, value)
        else:  # a regular expression: admin's app index, catch-all and simple-history pages
            url = _fill(
                pattern._regex.removeprefix("^").removesuffix("$"), _REGEX_GROUP, url, value
            )
    return url


@pytest.fixture
def world(
    client,
    django_capture_on_commit_callbacks,
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    panel_chair,
    panel_member,
    panel_member2,
    ras_admin,
    policy,
    questionnaire,
):
    """One of everything a URL can name, made through the services the pages use."""
    from allocations.models import IndicativeBudget
    from allocations.services.calibration import calibration_run, sample_load
    from allocations.services.letter_batches import letter_batch_start
    from allocations.services.letters import letter_issue
    from allocations.services.plans import plan_submit
    from allocations.services.repricing import repricing_start
    from assessments.models import Person, PersonAccess
    from assessments.services.assessments import assessment_start
    from assessments.services.people import person_access_record
    from panels.services import panel_decide, referral_schedule
    from tests.factories import make_person, make_plan
    from tests.panels.helpers import held_meeting

    draft = assessment_start(
        actor=worker_a, person=make_person(actor=worker_a), supported_by="self"
    )
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours"),
    )
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])  # under way: it decides
    referral = referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
    decision = panel_decide(
        actor=panel_chair, referral=referral, outcome="approved", reasons="Meets needs safely."
    )
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    person_access_record(
        user=worker_a, person=person_a, page=PersonAccess.Page.DETAIL, path="/people/"
    )
    # Committed for real, so their background tasks are queued (django_tasks_database rows).
    with django_capture_on_commit_callbacks(execute=True):
        batch = letter_batch_start(
            actor=manager_a,
            people=Person.objects.filter(pk=person_a.pk),
            kind="indicative",
            description="Test batch",
        )
        run = repricing_start(actor=ras_admin, policy=policy)
    # django-axes' records: a log-in and a log-out (an access log), then a failed log-in (an
    # access attempt; a success would clear it). Axes keeps failure logs only when told to
    # (AXES_ENABLE_ACCESS_FAILURE_LOG), so one is written from the attempt for its admin pages.
    client.post(reverse("login"), {"username": worker_a.username, "password": TEST_PASSWORD})
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": worker_a.username, "password": "wrong"})
    attempt = AccessAttempt.objects.get()
    if not AccessFailureLog.objects.exists():
        AccessFailureLog.objects.create(
            username=attempt.username,
            ip_address=attempt.ip_address,
            user_agent=attempt.user_agent,
            path_info=attempt.path_info,
        )
    assert AccessLog.objects.exists()
    sample = sample_load(
        actor=ras_admin,
        name="Desk sample",
        data=b"reference,client_group,points,weekly_cost\nR1,older_people,10,100\n",
        filename="desk.csv",
    )
    from allocations.reports.scope import ReportScope
    from allocations.services.report_packs import report_pack_issue

    pack = report_pack_issue(
        actor=ras_admin,
        scope=ReportScope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 1, 31)),
    )
    from allocations.services.reviews import review_start

    agreed = decision.referral.plan.agreed  # the budget the panel agreed
    review = review_start(actor=worker_a, agreed=agreed, reason="A year on")
    # Two-step sign-in's admin list (ras_site/two_factor/admin.py) opens a device.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=manager_a, name="Authenticator app", confirmed=True)
    return {
        "reviews/": review,
        "reports/packs/": pack,
        "calibration/runs/": calibration_run(actor=ras_admin, sample=sample, method="ratio"),
        "calibration/": sample,
        "people/": person_a,
        "assessments/": draft,
        "questionnaires/": questionnaire,
        "policies/": policy,
        "repricing/": run,
        "budgets/": IndicativeBudget.objects.get(person=person_a),
        "plans/": plan,
        "letters/batches/": batch,
        "letters/": letter,
        "panel/meetings/": meeting,
        "panel/referrals/": referral,
        "agreed/": agreed,
    }


def _value(world, page: Page, parameter: str, so_far: str) -> str:
    """A real value for one path parameter of `page`, given the URL up to it."""
    from django.contrib.contenttypes.models import ContentType

    route = so_far.removeprefix("/")
    if not route.startswith("admin/"):
        if parameter == "number":  # an assessment's step
            return "1"
        # A report table or chart (reports/table/<slug>.csv), a pipeline stage's list.
        report_parameters = {"slug": "take-up-by-month", "stage": "agreed"}
        if route.startswith("reports/") and parameter in report_parameters:
            return report_parameters[parameter]
        for prefix in sorted(world, key=len, reverse=True):
            if route.startswith(prefix):
                return str(world[prefix].pk)
        pytest.fail(f"No object for <{parameter}> in /{route}: add one to the world fixture.")
    if parameter == "app_label":  # an app's index in the admin
        return "assessments"
    if parameter == "url":  # the admin's catch-all: an address no admin page has
        return "no-such-page/"
    person = world["people/"]
    if route == "admin/r/":  # "view on site": a content type, then one of its objects
        return str(ContentType.objects.get_for_model(person).pk)
    if route.startswith("admin/r/"):
        return str(person.pk)
    # A ModelAdmin's page: a real object of that admin's model.
    model = page.admin_model
    assert model is not None, (parameter, route)
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"No {model.__name__} to open at /{route}"
    if parameter == "group1":  # simple-history's <object id>/history/<history id>/
        return str(obj.history.order_by("history_id").first().history_id)
    assert parameter in ("object_id", "id", "group0"), (parameter, route)
    return str(obj.pk)


def test_every_page_but_login_needs_a_login(client, world):
    """Every URL pattern of every namespace, its parameters filled with real objects: an
    anonymous GET or POST is sent to log in (the admin's to the admin's own log-in) and comes
    back to the page afterwards. Only OPEN_PAGES answer, and they answer 200."""
    pages = list(_walk(get_resolver().url_patterns))
    checked, opened = [], []
    for page in pages:
        url = _path(page, functools.partial(_value, world, page))
        match = resolve(url)
        assert match.func == page.callback, f"{url} resolves to {match.view_name}, not {page.name}"
        if page.name in OPEN_PAGES:
            assert client.get(url).status_code == 200, page.name
            opened.append(page.name)
            continue
        login = reverse("login")
        if url.startswith("/admin/") and page.admin_model is None:
            # The admin's own pages carry login_url, which LoginRequiredMiddleware honours.
            # A ModelAdmin's pages do not (Django sets it only in AdminSite.get_urls), so the
            # middleware sends them to the site's log-in, which returns to them afterwards.
            login = reverse("admin:login")
        for method in (client.get, client.post):
            response = method(url)
            where = f"{method.__name__.upper()} {url} ({page.name or 'unnamed'})"
            assert response.status_code == 302, where
            sent_to = urlsplit(response.url)
            assert (sent_to.path, parse_qs(sent_to.query)) == (login, {"next": [url]}), where
        checked.append(url)
    assert sorted(opened) == sorted(OPEN_PAGES)
    # Every app's pages and the admin's were walked: the test cannot pass by checking nothing.
    assert len(checked) == len(pages) - len(OPEN_PAGES) > 100
    assert len([url for url in checked if not url.startswith("/admin/")]) > 40
    for prefix in ("/people/", "/assessments/", "/plans/", "/panel/", "/letters/", "/admin/"):
        assert any(url.startswith(prefix) for url in checked), prefix


def test_pages_carry_security_headers(client, worker_a):
    client.force_login(worker_a)
    response = client.get(reverse("assessments:person_list"))
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_and_files_with_personal_data_are_never_cached(client, worker_a, team_a):
    from tests.factories import make_person

    client.force_login(worker_a)
    person = make_person(actor=worker_a, team=team_a)
    for url in (
        reverse("assessments:person_list"),
        reverse("assessments:person_detail", args=[person.pk]),
    ):
        assert "no-store" in client.get(url).headers["Cache-Control"]


def test_admin_site_is_for_staff_reference_data(client, ras_admin, worker_a, team_a):
    client.force_login(ras_admin)
    teams = client.get(reverse("admin:assessments_team_changelist"))
    assert teams.status_code == 200
    assert "North Locality Team" in teams.text
    client.force_login(worker_a)
    assert client.get(reverse("admin:assessments_team_changelist")).status_code == 302

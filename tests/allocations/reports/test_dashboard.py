"""The reports dashboard (issue 12): who may open it, its filters, each registered section's
tables formatted one way, the CSV and XLSX downloads with the scope in them, and a query count
that does not grow with the data."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from allocations.reports.filters import END_BEFORE_START, END_IN_FUTURE
from allocations.reports.tables import SUPPRESSED_NOTE
from assessments.models import ClientGroup
from ras_site.forms import DATE_MISSING_PARTS, DATE_NOT_REAL
from tests.factories import date_parts, make_person

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
# "Today" for these tests: the default period is 1 January 2026 (the first day of the month
# eleven months before December) to 1 December 2026.
TODAY = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=LONDON)
DEFAULT_SCOPE = "1 January 2026 to 1 December 2026"

READERS = ["senior_manager", "ras_admin", "auditor", "manager_a"]
REFUSED = ["worker_a", "panel_member", "panel_chair"]
URL = reverse("allocations:reports")


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def _text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("who", READERS)
def test_report_readers_see_the_dashboard_with_every_section(client, request, who, fake_section):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 200
    page = _text(response)
    # The sections in order: the fake (5), take-up (10) … the panel (40), fairness (50).
    headings = ["A fake section", "Take-up", "Pipeline", "Money", "Risk enablement panel"]
    positions = [page.index(f">{h}</h2>") for h in [*headings, "Fairness"]]
    assert positions == sorted(positions)
    assert "People in scope (a test table)" in page


@pytest.mark.parametrize("who", REFUSED)
def test_social_workers_and_the_panel_roles_are_refused(client, request, who):
    client.force_login(request.getfixturevalue(who))
    for url in (
        URL,
        reverse("allocations:report_xlsx"),
        reverse("allocations:report_table_csv", args=["fake-people"]),
        reverse("allocations:report_chart", args=["take-up-by-month"]),
    ):
        assert client.get(url).status_code == 403, url


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_menu_shows_reports_to_report_readers_only(client, senior_manager, worker_a):
    client.force_login(senior_manager)
    assert f'href="{URL}">Reports</a>' in _text(client.get(reverse("home"), follow=True))
    client.force_login(worker_a)
    assert ">Reports</a>" not in _text(client.get(reverse("home"), follow=True))


def test_the_default_filters_are_the_last_twelve_months_for_every_team(client, senior_manager):
    client.force_login(senior_manager)
    page = _text(client.get(URL))
    assert f"Showing {DEFAULT_SCOPE}; every team; every client group." in page
    assert 'value="2026-01-01"' in page and 'value="2026-12-01"' in page
    assert '<option value="" selected>All teams</option>' in page


def test_a_team_manager_sees_their_own_team_chosen_and_no_other(
    client, manager_a, team_a, team_b, fake_section
):
    client.force_login(manager_a)
    page = _text(client.get(URL))
    assert f"Showing {DEFAULT_SCOPE}; North Locality Team; every client group." in page
    assert f'<option value="{team_a.pk}" selected>North Locality Team</option>' in page
    assert "South Locality Team" not in page
    assert "All teams" not in page
    # Their own team, asked for by name, is fine; another team is refused.
    assert client.get(URL, {"team": team_a.pk}).status_code == 200
    for url in (
        URL,
        reverse("allocations:report_xlsx"),
        reverse("allocations:report_table_csv", args=["fake-people"]),
    ):
        assert client.get(url, {"team": team_b.pk}).status_code == 403, url


def test_the_filters_narrow_every_table(
    client, senior_manager, worker_a, worker_b, team_a, fake_section
):
    # Team A: two older people and one with a learning disability; team B: one older person.
    make_person(actor=worker_a)
    make_person(actor=worker_a)
    make_person(actor=worker_a, client_group=ClientGroup.LEARNING_DISABILITY)
    make_person(actor=worker_b)
    client.force_login(senior_manager)

    def everyone(params):
        return _cells(_text(client.get(URL, params)), "Everyone")[0]

    assert everyone({}) == "4"
    assert everyone({"team": team_a.pk}) == "3"
    assert everyone({"client_group": "older_people"}) == "3"
    params = {
        "start": "2026-06-01",
        "end": "2026-11-30",
        "team": team_a.pk,
        "client_group": "older_people",
    }
    page = _text(client.get(URL, params))
    assert _cells(page, "Everyone")[0] == "2"
    assert "Showing 1 June 2026 to 30 November 2026; North Locality Team; Older people." in page
    # The form shows what was applied, and the downloads carry the same filters.
    assert f'<option value="{team_a.pk}" selected>' in page
    assert '<option value="older_people" selected>' in page
    query = (
        f"start=2026-06-01&amp;end=2026-11-30&amp;team={team_a.pk}&amp;client_group=older_people"
    )
    assert f"/reports/export.xlsx?{query}" in page
    assert f"/reports/table/fake-people.csv?{query}" in page


def test_the_period_is_typed_as_day_month_year_and_older_links_still_work(
    client, senior_manager, fake_section
):
    client.force_login(senior_manager)
    typed = {**date_parts("start", "2026-06-01"), **date_parts("end", "2026-11-30")}
    page = _text(client.get(URL, typed))
    assert "Showing 1 June 2026 to 30 November 2026; every team" in page
    # The boxes show the period applied, and the downloads carry it as yyyy-mm-dd.
    for name, value in typed.items():
        assert f'name="{name}" value="{value}"' in page
    assert "/reports/export.xlsx?start=2026-06-01&amp;end=2026-11-30" in page
    # A link written as yyyy-mm-dd (an export's, an older bookmark) reads the same.
    linked = _text(client.get(URL, {"start": "2026-06-01", "end": "2026-11-30"}))
    assert "Showing 1 June 2026 to 30 November 2026; every team" in linked
    assert 'name="start_month" value="6"' in linked
    # Only the end typed: the start is the default's.
    end_only = _text(client.get(URL, date_parts("end", "2026-11-30")))
    assert f"Showing {DEFAULT_SCOPE.replace('1 December', '30 November')};" in end_only


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-06-01", "end": "2026-05-31"}, "end", END_BEFORE_START),
        ({"start": "2026-06-01", "end": "2026-12-02"}, "end", END_IN_FUTURE),
        ({"start": "not a date", "end": "2026-06-01"}, "start", DATE_NOT_REAL),
        # Typed in the Day, Month and Year boxes.
        ({"start_day": "1", "start_month": "6"}, "start", DATE_MISSING_PARTS.format(parts="year")),
        ({**date_parts("start", "2026-06-01"), "start_day": "31"}, "start", DATE_NOT_REAL),
        (
            {**date_parts("start", "2026-06-01"), **date_parts("end", "2026-05-31")},
            "end",
            END_BEFORE_START,
        ),
        ({"team": "999999"}, "team", "Select a valid choice."),
        ({"client_group": "martians"}, "client_group", "Select a valid choice."),
    ],
)
def test_bad_filters_are_explained_beside_the_field_and_the_defaults_shown(
    client, senior_manager, fake_section, params, field, message
):
    client.force_login(senior_manager)
    response = client.get(URL, params)
    assert response.status_code == 200
    page = _text(response)
    assert f'id="id_{field}_error">{message}' in page
    assert f'aria-describedby="id_{field}_error"' in page
    assert f"Showing {DEFAULT_SCOPE}; every team; every client group." in page


def _cells(page: str, row_header: str) -> list[str]:
    """The data cells of the row headed `row_header`, as text."""
    import re

    row = re.search(rf"<th scope=\"row\"[^>]*>{re.escape(row_header)}</th>(.*?)</tr>", page, re.S)
    assert row, row_header
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]


def test_cells_are_formatted_by_kind(client, senior_manager, worker_a, fake_section):
    make_person(actor=worker_a)
    client.force_login(senior_manager)
    page = _text(client.get(URL))
    # Count, money (£1,234.50), percent to 0.1 (12.3%), ratio to 0.01 (1.02: 1.015 half up).
    assert _cells(page, "Everyone") == ["1", "£1,234.50", "12.3%", "1.02"]
    # Suppressed "[c]"; nothing a dash read as "no figure"; a marked cell says which way.
    assert _cells(page, "A small group") == [
        "[c]",
        "–no figure",
        "40.0% ▲ higher than the whole service",
        "[c]",
    ]
    assert '<th scope="col" class="text-end">Weekly</th>' in page
    assert '<td class="text-end">£1,234.50</td>' in page
    # The notes: the table's own, what [c] means, what the marks mean.
    assert "Counted as at the end of the period." in page
    assert SUPPRESSED_NOTE in page
    assert "higher / lower: the figure differs markedly" in page


def test_a_table_downloads_as_csv_with_its_scope(client, senior_manager, worker_a, fake_section):
    make_person(actor=worker_a)
    client.force_login(senior_manager)
    url = reverse("allocations:report_table_csv", args=["fake-people"])
    response = client.get(url, {"start": "2026-03-01", "end": "2026-11-30"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="fake-people-2026-03-01-to-2026-11-30.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Group",
        "People",
        "Weekly",
        "Share",
        "Ratio",
        "Differs from the whole service",
    ]
    assert rows[1][:3] == ["Everyone", "1", "1234.5"]
    # A cell a spreadsheet would run is written as text.
    assert rows[3][0] == '\'=HYPERLINK("x")'
    assert ["1 March 2026 to 30 November 2026; every team; every client group"] in rows
    assert client.get(reverse("allocations:report_table_csv", args=["no-such"])).status_code == 404


def test_all_tables_download_as_one_workbook(client, senior_manager, fake_section, team_a):
    client.force_login(senior_manager)
    response = client.get(reverse("allocations:report_xlsx"), {"team": team_a.pk})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="reports-2026-01-01-to-2026-12-01.xlsx"'
    )
    book = load_workbook(io.BytesIO(response.content))
    # A sheet per table: the fake one, then the panel's three (the other sections are empty
    # until they are built).
    assert book.sheetnames[0] == "fake-people"
    assert {"panel-referrals", "panel-decisions", "panel-reviews-due"} <= set(book.sheetnames)
    sheet = book["fake-people"]
    assert sheet["A1"].value == "People in scope (a test table)"
    assert sheet["A2"].value == f"{DEFAULT_SCOPE}; North Locality Team; every client group"


def test_the_dashboard_makes_the_same_number_of_queries_however_much_data(
    client, senior_manager, worker_a, worker_b, fake_section
):
    client.force_login(senior_manager)
    client.get(URL)  # warm up (the session, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for _ in range(3):
        make_person(actor=worker_a)
        make_person(actor=worker_b, client_group=ClientGroup.MENTAL_HEALTH)
    with CaptureQueriesContext(connection) as many:
        page = _text(client.get(URL))
    assert _cells(page, "Everyone")[0] == "6"
    assert len(many) == len(few)


def test_the_settings_link_is_for_those_who_change_the_settings(client, ras_admin, senior_manager):
    settings_link = f'href="{reverse("allocations:report_settings")}">Report settings</a>'
    client.force_login(ras_admin)
    assert settings_link in _text(client.get(URL))
    client.force_login(senior_manager)
    assert "Report settings" not in _text(client.get(URL))


@pytest.mark.parametrize(
    ("who", "issues", "lists"),
    [
        ("senior_manager", True, True),
        ("ras_admin", True, True),
        ("auditor", False, True),
        ("manager_a", False, False),
    ],
)
def test_the_pack_is_issued_from_the_dashboard_for_its_filters(
    client, request, team_a, who, issues, lists
):
    """Issuers get a button that posts the filters on screen; pack readers a link to the
    issued packs; a team manager neither (packs are for the whole service's managers)."""
    user = request.getfixturevalue(who)
    client.force_login(user)
    team = team_a.pk if who != "manager_a" else user.team_id
    page = _text(client.get(URL, {"start": "2026-03-01", "end": "2026-08-31", "team": team}))

    assert ('id="issue-pack"' in page) is issues
    assert ("Issued report packs" in page) is lists
    if issues:
        assert 'name="start" value="2026-03-01"' in page
        assert 'name="end" value="2026-08-31"' in page
        assert f'name="team" value="{team_a.pk}"' in page
        response = client.post(
            reverse("allocations:report_pack_issue"),
            {"start": "2026-03-01", "end": "2026-08-31", "team": team_a.pk, "client_group": ""},
        )
        assert response.status_code == 302
        from allocations.models import ReportPack

        pack = ReportPack.objects.get()
        assert (pack.period_start, pack.period_end) == (
            datetime.date(2026, 3, 1),
            datetime.date(2026, 8, 31),
        )
        assert pack.scope["team_ids"] == [team_a.pk]


def test_the_default_period_starts_on_the_first_of_the_month_eleven_months_back():
    from allocations.reports.filters import default_period

    assert default_period(datetime.date(2026, 1, 15)) == (
        datetime.date(2025, 2, 1),
        datetime.date(2026, 1, 15),
    )
    assert default_period(datetime.date(2026, 12, 31))[0] == datetime.date(2026, 1, 1)
    assert default_period(datetime.date(2026, 11, 30))[0] == datetime.date(2025, 12, 1)


def test_a_period_longer_than_five_years_is_refused(client, senior_manager):
    from allocations.reports.filters import PERIOD_TOO_LONG

    client.force_login(senior_manager)
    page = _text(client.get(URL, {"start": "2020-01-01", "end": "2026-11-30"}))
    assert f'id="id_start_error">{PERIOD_TOO_LONG}' in page
    assert f"Showing {DEFAULT_SCOPE};" in page


def test_each_stage_links_to_its_list_in_the_same_scope(client, senior_manager, only_sections):
    from allocations.reports.tables import Column, Kind, Table

    pipeline = Table(
        "pipeline-by-stage",
        "People at each stage",
        (Column("stage", "Stage"), Column("people", "People", Kind.COUNT)),
        [("Awaiting eligibility", 2), ("Agreed", 5), ("Not a stage", 1)],
    )
    only_sections({"pipeline": [pipeline]})
    client.force_login(senior_manager)

    page = _text(client.get(URL, {"client_group": "mental_health"}))

    listed = reverse("allocations:report_pipeline_list", args=["awaiting-eligibility"])
    assert (
        f'<th scope="row" class="text-nowrap"><a href="{listed}'
        '?start=2026-01-01&amp;end=2026-12-01&amp;client_group=mental_health">'
        "Awaiting eligibility</a></th>"
    ) in page
    # A row that is not a stage has no list behind it (a short header stays on one line).
    assert '<th scope="row" class="text-nowrap">Not a stage</th>' in page


def test_a_download_works_out_the_section_its_table_is_named_after_first(
    client, senior_manager, monkeypatch
):
    from allocations.reports import tables as registry
    from allocations.reports.tables import ReportSection
    from tests.allocations.reports.conftest import people_table

    asked = []

    def section(slug, order, tables):
        def read(scope):
            asked.append(slug)
            return tables(scope)

        return ReportSection(slug, slug, order, read)

    monkeypatch.setattr(
        registry,
        "_sections",
        {
            "early": section("early", 1, lambda scope: []),
            "fake": section("fake", 9, lambda scope: [people_table(scope)]),
        },
    )
    client.force_login(senior_manager)
    response = client.get(reverse("allocations:report_table_csv", args=["fake-people"]))
    assert response.status_code == 200
    assert asked == ["fake"]


def test_words_in_a_column_of_money_are_shown_as_they_are(client, senior_manager):
    """Before a RAS administrator sets a budget, the money report says "not set" in its
    pounds column: the page shows the words (it used to fail formatting them as pounds)."""
    client.force_login(senior_manager)

    response = client.get(URL)

    assert response.status_code == 200
    assert "not set" in _text(response)

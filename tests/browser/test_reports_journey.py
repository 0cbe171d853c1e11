"""A senior manager opens Reports, filters it by a team and a client group, sees the filter
applied, downloads every table as one workbook and the members' PDF pack for the same filters;
and the dashboard passes axe (issue 12).

The allocations sections are built by others; a fake section (registered for the test, then
gone) gives the page tables of every kind: each charted table, suppressed and marked cells."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess

import pytest
from openpyxl import load_workbook

from allocations.reports import tables as registry
from allocations.reports.tables import ReportSection
from tests.allocations.reports.conftest import people_table
from tests.allocations.reports.test_dashboard_charts import ALL
from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD, make_person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_sections(monkeypatch):
    """A test table of every kind of cell, and each charted table in place of its section's
    (the panel's section stays as it is)."""
    fakes = [
        ReportSection("fake", "Figures for the test", 5, lambda scope: [people_table(scope)]),
        *(
            ReportSection(slug, title, order, lambda scope, t=table: [t])
            for (slug, title, order), table in zip(
                [
                    ("take-up", "Take-up", 10),
                    ("pipeline", "Pipeline", 20),
                    ("money", "Money", 30),
                    ("fairness", "Fairness", 50),
                ],
                ALL,
                strict=True,
            )
        ),
    ]
    for section in fakes:
        monkeypatch.setitem(registry._sections, section.slug, section)


@pytest.fixture
def caseload(worker_a, worker_b):
    make_person(actor=worker_a)
    make_person(actor=worker_a, client_group="learning_disability")
    make_person(actor=worker_b)


def test_a_senior_manager_filters_the_reports_and_downloads_them(
    page, live_server, senior_manager, team_a, caseload, fake_sections
):
    log_in(page, live_server, "senior.manager", TEST_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_role("heading", name="Reports", level=1).wait_for()
    scope = page.locator("#report-scope")
    assert re.search(r"; every team; every client group\.$", scope.inner_text())
    everyone = page.get_by_role("row", name=re.compile("^Everyone"))
    assert everyone.get_by_role("cell").first.inner_text() == "3"

    page.get_by_label("Team").select_option(label="North Locality Team")
    page.get_by_label("Client group").select_option(label="Older people")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"client_group=older_people"))
    assert re.search(r"; North Locality Team; Older people\.$", scope.inner_text())
    # The form keeps what was chosen, and the figures follow it: North's one older person.
    assert page.get_by_label("Team").input_value() == str(team_a.pk)
    assert page.get_by_label("Client group").input_value() == "older_people"
    assert everyone.get_by_role("cell").first.inner_text() == "1"
    # Charts load as images, under the page's own CSP.
    page.get_by_role("img", name=re.compile("^Line chart of take-up by month")).wait_for()
    page.wait_for_load_state("load")
    loaded = (
        "[...document.querySelectorAll('figure img')].map(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.evaluate(f"() => {loaded}") == [True] * 4

    with page.expect_download() as download:
        page.get_by_role("link", name="Download all as Excel").click()
    assert download.value.suggested_filename.startswith("reports-")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    tables_on_page = page.locator("[id^='table-']").evaluate_all("els => els.map(e => e.id)")
    assert book.sheetnames == [t.removeprefix("table-")[:31] for t in tables_on_page]
    assert {"fake-people", "take-up-by-month", "panel-referrals"} <= set(book.sheetnames)
    # The workbook is for the filters chosen.
    assert book["fake-people"]["A2"].value.endswith("; North Locality Team; Older people")
    header = [c.value for c in book["fake-people"][4]]
    assert header[:2] == ["Group", "People"]
    assert book["fake-people"]["B5"].value == 1

    # The members' pack for the same filters: issued from the dashboard, then downloaded.
    page.get_by_role("button", name=re.compile("^Issue the members' PDF pack")).click()
    page.wait_for_url("**/reports/packs/*/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == page.locator("#pack-sha256").inner_text()
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Personal budgets: performance and sustainability" in " ".join(text.split())
    assert "North Locality Team; Older people" in " ".join(text.split())


def test_the_reports_dashboard_passes_axe(
    axe_page, live_server, senior_manager, caseload, fake_sections
):
    log_in(axe_page, live_server, "senior.manager", TEST_PASSWORD)
    axe_page.goto(f"{live_server.url}/reports/")
    assert axe_violations(axe_page) == []
    # With a filter refused, its error beside the field.
    axe_page.goto(f"{live_server.url}/reports/?start=2026-06-01&end=2026-05-01")
    axe_page.get_by_text("The end date must be on or after the start date.").wait_for()
    assert axe_violations(axe_page) == []

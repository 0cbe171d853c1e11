"""The members' pack, "Personal budgets: performance and sustainability" (issue 12): what it
says (the scope, the policy in force and its price per point, the latest calibration's
accuracy, every registered section's tables with their notes and [c]), the tagged PDF it is
printed as, issuing it (kept byte for byte, refused by PostgreSQL when changed or deleted),
a double click, and who may issue, list and download packs."""

from __future__ import annotations

import datetime
import hashlib
import io
import subprocess
import threading
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.utils import InternalError
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from allocations.models import ReportPack
from allocations.reports import tables as report_tables
from allocations.reports.pack import (
    MARKED_NOTE,
    NO_CALIBRATION,
    NO_FIGURES,
    PACK_ROW_LIMIT,
    PACK_TITLE,
    format_cell,
    pack_content,
    pack_html,
    pack_pdf,
    pack_table,
)
from allocations.reports.scope import NOT_YOUR_TEAM, ReportScope
from allocations.reports.tables import (
    SUPPRESSED,
    SUPPRESSED_NOTE,
    Column,
    Kind,
    Marked,
    ReportSection,
    Table,
    register_report_section,
)
from allocations.selectors.report_packs import report_pack_get_for_user, report_pack_list
from allocations.services.calibration import calibration_run, sample_load
from allocations.services.report_packs import (
    JUST_ISSUED,
    NOT_PACK_ISSUER,
    PackJustIssued,
    report_pack_issue,
)
from tests.factories import date_parts, make_user

pytestmark = pytest.mark.django_db

MAY = datetime.date(2026, 5, 1)
OCTOBER_END = datetime.date(2026, 10, 31)
WHOLE = ReportScope(start=MAY, end=OCTOBER_END)
WHOLE_IN_WORDS = "1 May 2026 to 31 October 2026; every team; every client group"

FAKE_NOTE = "People counted: everyone the test section was asked about."
FAKE_COLUMNS = (
    Column("group", "Group"),
    Column("people", "People", Kind.COUNT),
    Column("avg_agreed", "Average agreed (£ a week)", Kind.MONEY),
    Column("referred_percent", "Referred to panel", Kind.PERCENT),
    Column("agreed_to_indicative", "Agreed ÷ indicative", Kind.RATIO),
    Column("since", "Oldest since", Kind.DATE),
    Column("days", "Days waiting", Kind.DAYS),
)
# A group of 3 people is held back ([c]), and so is the mental health row's average that
# would let it be worked out from the whole service's.
FAKE_ROWS = [
    ("Older people", 1204, Decimal("1234.5"), Decimal("12.3"), Marked(Decimal("1.08"), "higher"),
     datetime.date(2026, 5, 4), 180),
    ("Mental health", SUPPRESSED, SUPPRESSED, SUPPRESSED, None, None, None),
    ("Whole service", 1207, Decimal("1230.25"), Decimal("12.5"), Decimal("1.02"), None, None),
]  # fmt: skip


@pytest.fixture
def fake_section():
    """A section registered beside the real ones (order 5: first), whose table is built from
    the scope it is given; unregistered afterwards. Returns the scopes it was asked about."""
    asked: list[ReportScope] = []

    def tables(scope: ReportScope) -> list[Table]:
        asked.append(scope)
        return [
            Table(
                slug="pack-test-groups",
                caption=f"Test groups, {scope.start:%B %Y} to {scope.end:%B %Y}",
                columns=FAKE_COLUMNS,
                rows=list(FAKE_ROWS),
                notes=(FAKE_NOTE,),
            )
        ]

    register_report_section(
        ReportSection(slug="pack-test", title="Test figures", order=5, tables=tables)
    )
    yield asked
    report_tables._sections.pop("pack-test")


@pytest.fixture
def calibrated(ras_admin):
    """A calibration run of the ratio of totals on three cases. Hand working: costs 100 +
    200 + 330 = 630 over points 10 + 20 + 30 = 60 → £10.50 a point; allocations 105, 210,
    315; differences +5, +10, −15, each within 20% of its cost (5 ≤ 20, 10 ≤ 40, 15 ≤ 66) →
    100.0%; mean cost 210, SS_tot = 110² + 10² + 120² = 26,600, SS_res = 25 + 100 + 225 = 350,
    R² = 1 − 350 ÷ 26,600 = 0.98684… → 0.9868."""
    data = (
        b"reference,client_group,points,weekly_cost\n"
        b"R1,older_people,10,100.00\n"
        b"R2,older_people,20,200.00\n"
        b"R3,learning_disability,30,330.00\n"
    )
    sample = sample_load(actor=ras_admin, name="Desk sample", data=data, filename="desk.csv")
    return calibration_run(actor=ras_admin, sample=sample, method="ratio")


def text_of(pdf: bytes, *, layout: bool = False) -> str:
    command = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    result = subprocess.run(command, input=pdf, capture_output=True, check=True)
    return result.stdout.decode() if layout else " ".join(result.stdout.decode().split())


def structure_types(node, found: set | None = None) -> set[str]:
    """Every structure type (/Table, /TH, /Caption…) under a tagged PDF's structure tree."""
    found = set() if found is None else found
    node = node.get_object()
    if isinstance(node, list):
        for child in node:
            structure_types(child, found)
    elif hasattr(node, "get"):
        if "/S" in node:
            found.add(str(node["/S"]))
        if "/K" in node:
            structure_types(node["/K"], found)
    return found


def issue(actor, scope: ReportScope = WHOLE) -> ReportPack:
    return report_pack_issue(actor=actor, scope=scope)


# --- What the pack says ------------------------------------------------------------------------


def test_cells_read_as_people_read_them():
    assert format_cell(Decimal("1234.5"), Kind.MONEY) == "£1,234.50"
    assert format_cell(Decimal("12.3"), Kind.PERCENT) == "12.3%"
    assert format_cell(Decimal("1.015"), Kind.RATIO) == "1.02"
    assert format_cell(12045, Kind.COUNT) == "12,045"
    assert format_cell(datetime.date(2026, 5, 4), Kind.DATE) == "4 May 2026"
    assert format_cell(SUPPRESSED, Kind.MONEY) == "[c]"
    assert format_cell(None, Kind.MONEY) == "—"
    assert format_cell("not set", Kind.MONEY) == "not set"
    assert format_cell(Marked(Decimal("310"), "lower"), Kind.MONEY) == "£310.00 (lower)"


def test_a_long_table_is_cut_short_in_the_pack_and_says_so():
    long = Table(
        slug="pack-test-long",
        caption="Reviews due",
        columns=(Column("reference", "Reference"), Column("days", "Days", Kind.DAYS)),
        rows=[(f"B-{n:05d}", n) for n in range(1, 317)],
        notes=("One row per condition.",),
    )

    printed = pack_table(long)

    assert len(printed.rows) == PACK_ROW_LIMIT == 65
    assert str(printed.rows[-1][0]) == "B-00065"
    assert printed.notes == (
        "One row per condition.",
        "The first 65 of 316 rows are shown: the whole table is on the reports dashboard and "
        "in its CSV and XLSX exports.",
    )
    # Five years of months (the longest period the filters allow) fit whole.
    months = Table("months", "Months", (Column("month", "Month"),), [(str(m),) for m in range(61)])
    assert len(pack_table(months).rows) == 61 and pack_table(months).notes == ()


def test_the_pack_reads_every_registered_section_in_order_for_its_scope(
    fake_section, policy, calibrated
):
    content = pack_content(WHOLE, issued_on=datetime.date(2026, 11, 2), issued_by="Sam Senior")

    assert fake_section == [WHOLE]
    # The fake section first (order 5), then allocations' own in the dashboard's order (the
    # panel's, registered by panels, comes between money and fairness).
    titles = [s.title for s in content.sections]
    assert titles[0] == "Test figures"
    assert [t for t in titles if t in ("Take-up", "Pipeline", "Money", "Fairness")] == [
        "Take-up",
        "Pipeline",
        "Money",
        "Fairness",
    ]
    (table,) = content.sections[0].tables
    assert [str(cell) for cell in table.rows[0]] == [
        "Older people",
        "1,204",
        "£1,234.50",
        "12.3%",
        "1.08 (higher)",
        "4 May 2026",
        "180",
    ]
    assert [str(cell) for cell in table.rows[1]][:4] == ["Mental health", "[c]", "[c]", "[c]"]
    assert table.notes == (FAKE_NOTE, SUPPRESSED_NOTE, MARKED_NOTE)
    assert [c.numeric for c in table.columns] == [False, True, True, True, True, False, True]
    assert content.scope_text == WHOLE_IN_WORDS
    # The spec's policy (in force from 1 April 2026) on 31 October 2026.
    assert (content.policy.name, content.policy.price_per_point_gbp) == (
        "Spec example",
        Decimal("4.88"),
    )
    fit = content.calibration.fits[0]
    assert (fit.price_per_point, fit.n, fit.r2, fit.within_20_percent) == (
        Decimal("10.5"),
        3,
        Decimal("0.9868"),
        Decimal("100.0"),
    )
    assert content.calibration.sample_name == "Desk sample"


def test_lists_of_individual_people_stay_out_of_the_members_pack(policy):
    """Members read figures, not people: the pipeline's oldest waits, the largest differences
    and the reviews due name people by reference, so the pack leaves them out and says so."""
    content = pack_content(WHOLE, issued_on=datetime.date(2026, 11, 2))

    slugs = {t.slug for s in content.sections for t in s.tables}
    assert {"pipeline-by-stage", "money-commitment", "fairness-client-group"} <= slugs
    assert not slugs & {"pipeline-oldest", "money-largest-differences", "panel-reviews-due"}
    notes = {s.slug: s.left_out_note for s in content.sections}
    assert notes["pipeline"].startswith("Left out of this pack because they name individual")
    assert "The 3 who have been longest in each stage" in notes["pipeline"]
    assert "differ most from the indicative budget" in notes["money"]
    assert notes["take-up"] == ""
    assert "Left out of this pack because they name individual people" in text_of(pack_pdf(content))


def test_without_a_policy_or_a_calibration_the_pack_says_so(policy):
    before_the_policy = ReportScope(datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    register_report_section(
        ReportSection(slug="pack-empty", title="Empty figures", order=6, tables=lambda s: [])
    )
    try:
        content = pack_content(before_the_policy, issued_on=datetime.date(2026, 11, 2))
    finally:
        report_tables._sections.pop("pack-empty")

    assert content.policy is None and content.calibration is None
    html = pack_html(content)
    assert "No approved policy was in force on 31 March 2026." in html
    assert NO_CALIBRATION in html
    # A section with no tables for the scope says so rather than vanish.
    heading = html.index('<h2 id="section-pack-empty">Empty figures</h2>')
    assert NO_FIGURES in html[heading : html.index("</section>", heading)]


# --- The PDF -----------------------------------------------------------------------------------


def test_the_issued_pack_is_a_tagged_pdf_with_every_figure(
    fake_section, policy, calibrated, senior_manager
):
    pack = issue(senior_manager)
    pdf = pack.read_pdf()

    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    # Tables are tagged as tables, with their captions and header cells.
    assert {"/H1", "/H2", "/Table", "/Caption", "/TH", "/TD"} <= structure_types(
        root["/StructTreeRoot"]
    )
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()
    assert reader.metadata.title == PACK_TITLE

    text = text_of(pdf)
    assert PACK_TITLE in text
    assert WHOLE_IN_WORDS in text
    assert f"Issued {timezone.localdate():%-d %B %Y} by {senior_manager.get_full_name()}" in text
    assert "the RAS policy in force was Spec example" in text
    assert "£4.88 a point" in text
    # The latest calibration: the ratio of totals, £10.50 a point, n 3, R² 0.9868, 100.0%.
    assert "on the sample “Desk sample”" in text
    layout = text_of(pdf, layout=True)
    rows = [" ".join(line.split()) for line in layout.splitlines()]
    assert "Ratio of totals (total cost ÷ total points) £10.5000 3 0.9868 100.0%" in rows
    # The fake section's table: caption, header, rows, its note and the [c] note.
    assert "Test groups, May 2026 to October 2026" in text
    assert "Older people 1,204 £1,234.50 12.3% 1.08 (higher) 4 May 2026 180" in rows
    assert "Mental health [c] [c] [c] — — —" in rows
    assert "Whole service 1,207 £1,230.25 12.5% 1.02 — —" in rows
    assert FAKE_NOTE in text
    assert SUPPRESSED_NOTE in text
    # Page numbers.
    assert f"Page 1 of {len(reader.pages)}" in text


def test_a_pack_keeps_its_bytes_scope_and_who_issued_it(fake_section, policy, ras_admin, team_b):
    scope = ReportScope(MAY, OCTOBER_END, team_ids=(team_b.pk,), client_group="older_people")
    pack = issue(ras_admin, scope)

    pack = ReportPack.objects.get(pk=pack.pk)
    pdf = pack.read_pdf()
    assert pack.sha256 == hashlib.sha256(pdf).hexdigest()
    assert pack.size_bytes == len(pdf)
    assert (pack.title, pack.period_start, pack.period_end) == (PACK_TITLE, MAY, OCTOBER_END)
    assert pack.scope == {
        "start": "2026-05-01",
        "end": "2026-10-31",
        "team_ids": [team_b.pk],
        "client_group": "older_people",
        "description": "1 May 2026 to 31 October 2026; South Locality Team; Older people",
    }
    assert pack.issued_by == ras_admin
    record = pack.history.get()
    assert (record.history_user, record.history_change_reason) == (ras_admin, "issued")
    assert "1 May 2026 to 31 October 2026; South Locality Team; Older people" in text_of(pdf)


def test_the_download_is_the_stored_pdf_byte_for_byte(
    fake_section, client, senior_manager, auditor
):
    pack = issue(senior_manager)
    client.force_login(auditor)

    response = client.get(reverse("allocations:report_pack_pdf", args=[pack.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="report-pack-{pack.pk}-2026-05-01-to-2026-10-31.pdf"'
    )
    assert response.content == ReportPack.objects.get(pk=pack.pk).read_pdf()
    assert hashlib.sha256(response.content).hexdigest() == pack.sha256


# --- Kept as issued ----------------------------------------------------------------------------


def test_postgresql_refuses_to_change_or_delete_an_issued_pack(senior_manager):
    pack = issue(senior_manager)
    rows = ReportPack.objects.filter(pk=pack.pk)
    for change in ({"pdf": b"%PDF-1.7 forged"}, {"sha256": "0" * 64}, {"title": "Better"}):
        with pytest.raises(InternalError, match="kept as it is"), transaction.atomic():
            rows.update(**change)
    with pytest.raises(InternalError, match="kept as it is"), transaction.atomic():
        rows.delete()
    with (
        pytest.raises(InternalError, match="kept as it is"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM allocations_reportpack WHERE id = %s", [pack.pk])
    with pytest.raises(PermissionError):
        pack.delete()
    kept = ReportPack.objects.get(pk=pack.pk)
    assert (kept.read_pdf(), kept.sha256, kept.title) == (pack.read_pdf(), pack.sha256, PACK_TITLE)


# --- A double click ----------------------------------------------------------------------------


def test_the_same_scope_issued_twice_within_a_minute_shows_the_first_pack(senior_manager, team_a):
    first = issue(senior_manager)

    with pytest.raises(PackJustIssued) as repeat:
        issue(senior_manager)
    assert repeat.value.pack == first
    assert str(repeat.value) == JUST_ISSUED.format(
        time=f"{timezone.localtime(first.issued_at):%H:%M:%S}"
    )
    # A different scope is a different pack; so is the same one a minute later.
    issue(senior_manager, ReportScope(MAY, OCTOBER_END, team_ids=(team_a.pk,)))
    with time_machine.travel(first.issued_at + datetime.timedelta(seconds=61), tick=False):
        issue(senior_manager)
    assert ReportPack.objects.count() == 3


def test_a_second_click_on_issue_goes_to_the_pack_just_issued(client, senior_manager):
    client.force_login(senior_manager)
    data = {"start": "2026-05-01", "end": "2026-10-31", "team": "", "client_group": ""}
    url = reverse("allocations:report_pack_issue")

    first = client.post(url, data)
    second = client.post(url, data, follow=True)

    pack = ReportPack.objects.get()
    assert first.url == reverse("allocations:report_pack_detail", args=[pack.pk])
    assert second.redirect_chain[-1][0] == first.url
    assert "shown instead of a second copy" in second.content.decode()


# --- Issuing from the page ---------------------------------------------------------------------


def test_issuing_takes_the_dashboards_filter_names(client, ras_admin, team_a):
    client.force_login(ras_admin)
    response = client.post(
        reverse("allocations:report_pack_issue"),
        {
            "start": "2026-05-01",
            "end": "2026-10-31",
            "team": str(team_a.pk),
            "client_group": "learning_disability",
        },
    )

    pack = ReportPack.objects.get()
    assert response.status_code == 302
    assert pack.scope["team_ids"] == [team_a.pk]
    assert pack.scope["client_group"] == "learning_disability"
    page = client.get(response.url).content.decode()
    assert "North Locality Team; Learning disability" in page
    assert pack.sha256 in page


def test_a_period_that_ends_before_it_starts_is_refused(client, ras_admin):
    client.force_login(ras_admin)
    # As the pack page's own form posts it: each date in its Day, Month and Year boxes.
    typed = {**date_parts("start", "2026-10-31"), **date_parts("end", "2026-05-01")}
    response = client.post(reverse("allocations:report_pack_issue"), typed)

    assert response.status_code == 400
    page = response.content.decode()
    assert "The end date must be on or after the start date." in page
    for name, value in typed.items():
        assert f'name="{name}" value="{value}"' in page
    assert not ReportPack.objects.exists()


def test_a_period_ending_after_today_is_refused(client, ras_admin):
    client.force_login(ras_admin)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        reverse("allocations:report_pack_issue"),
        {**date_parts("start", "2026-05-01"), **date_parts("end", tomorrow)},
    )

    assert response.status_code == 400
    assert "The end date cannot be after today." in response.content.decode()
    assert not ReportPack.objects.exists()


@time_machine.travel(datetime.datetime(2026, 11, 20, 12, tzinfo=datetime.UTC), tick=False)
def test_the_form_offers_the_twelve_months_to_today(client, senior_manager):
    client.force_login(senior_manager)
    page = client.get(reverse("allocations:report_pack_list")).content.decode()

    # 20 November 2026: from 1 December 2025, eleven months before November's first day.
    for name, value in {
        **date_parts("start", "2025-12-01"),
        **date_parts("end", "2026-11-20"),
    }.items():
        assert f'name="{name}" value="{value}"' in page


def test_the_list_shows_each_pack_in_constant_queries(client, senior_manager, ras_admin):
    def store(actor, n):
        ReportPack.objects.create(
            title=PACK_TITLE,
            period_start=MAY,
            period_end=OCTOBER_END,
            scope={"description": f"Scope {n}", "team_ids": None, "client_group": None},
            pdf=b"%PDF-1.7 x" * n,
            sha256=f"{n:064x}",
            size_bytes=10 * n,
            issued_by=actor,
        )

    def queries_for_the_list() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("allocations:report_pack_list")).content.decode()
        return len(queries), page

    client.force_login(ras_admin)
    store(senior_manager, 1)
    queries_for_the_list()  # the session and the permissions, cached from here on
    one, _ = queries_for_the_list()
    store(ras_admin, 2)
    store(senior_manager, 3)
    three, page = queries_for_the_list()

    assert three == one
    for n in (1, 2, 3):
        assert f"Scope {n}" in page
        assert f"{n:064x}" in page
    assert "1 May 2026 to 31 Oct 2026" in page
    assert "30\xa0bytes" in page
    assert page.count("<td>Senior.Manager</td>") == 2  # packs 1 and 3
    assert page.count("<td>Ras.Admin</td>") == 1


# --- Who may do what ---------------------------------------------------------------------------

ALL_ROLES = [
    "ras_admin",
    "senior_manager",
    "auditor",
    "manager_a",
    "worker_a",
    "panel_member",
    "panel_chair",
]
READERS = {"ras_admin", "senior_manager", "auditor"}
ISSUERS = {"ras_admin", "senior_manager"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_list_read_and_download_packs(role, request, client, ras_admin):
    pack = ReportPack.objects.create(
        title=PACK_TITLE,
        period_start=MAY,
        period_end=OCTOBER_END,
        scope={"description": WHOLE_IN_WORDS, "team_ids": None, "client_group": None},
        pdf=b"%PDF-1.7 stored",
        sha256=hashlib.sha256(b"%PDF-1.7 stored").hexdigest(),
        size_bytes=15,
        issued_by=ras_admin,
    )
    client.force_login(request.getfixturevalue(role))
    expected = 200 if role in READERS else 403

    for name, args in (
        ("report_pack_list", []),
        ("report_pack_detail", [pack.pk]),
        ("report_pack_pdf", [pack.pk]),
    ):
        assert client.get(reverse(f"allocations:{name}", args=args)).status_code == expected
    if role in READERS:
        assert (
            client.get(reverse("allocations:report_pack_pdf", args=[pack.pk + 1])).status_code
            == 404
        )
        listing = client.get(reverse("allocations:report_pack_list")).content.decode()
        assert ("Issue the pack" in listing) == (role in ISSUERS)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_who_may_issue_a_pack(role, request, client):
    client.force_login(request.getfixturevalue(role))

    response = client.post(
        reverse("allocations:report_pack_issue"), {"start": "2026-05-01", "end": "2026-10-31"}
    )

    if role in ISSUERS:
        assert response.status_code == 302
        assert ReportPack.objects.get().issued_by.username == request.getfixturevalue(role).username
    else:
        assert response.status_code == 403
        assert not ReportPack.objects.exists()


def test_the_service_checks_the_role_itself(auditor, manager_a):
    for actor in (auditor, manager_a):
        with pytest.raises(PermissionDenied, match=NOT_PACK_ISSUER):
            issue(actor)
    assert not ReportPack.objects.exists()


def test_anyone_logged_out_is_sent_to_log_in(client):
    response = client.get(reverse("allocations:report_pack_list"))
    assert response.status_code == 302 and "login" in response.url


def test_a_pack_is_issued_only_for_a_scope_the_issuer_may_see(manager_a, team_a, team_b):
    """No team-bound role issues packs today; were a team manager given the permission, the
    scope rule (their own team only) would still hold, in the service and in the reads."""
    for codename in ("add_reportpack", "view_reportpack"):
        manager_a.user_permissions.add(Permission.objects.get(codename=codename))
    manager = type(manager_a).objects.get(pk=manager_a.pk)  # a fresh permission cache

    for scope in (WHOLE, ReportScope(MAY, OCTOBER_END, team_ids=(team_b.pk,))):
        with pytest.raises(PermissionDenied, match=NOT_YOUR_TEAM):
            issue(manager, scope)
    own = issue(manager, ReportScope(MAY, OCTOBER_END, team_ids=(team_a.pk,)))
    other = make_user("senior.two", None)
    other.user_permissions.add(Permission.objects.get(codename="add_reportpack"))
    other.user_permissions.add(Permission.objects.get(codename="view_all_people"))
    other.user_permissions.add(Permission.objects.get(codename="view_reports"))
    everyone = issue(type(other).objects.get(pk=other.pk))

    assert list(report_pack_list(user=manager)) == [own]
    with pytest.raises(Http404):
        report_pack_get_for_user(user=manager, pk=everyone.pk)


# --- Two clicks at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_make_one_pack(senior_manager):
    """Two requests issuing the same scope at the same moment (each on its own connection):
    the issuer's lock makes the second wait for the first and then find its pack."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def click():
        try:
            start.wait()
            issue(senior_manager)
            outcomes.append("issued")
        except PackJustIssued:
            outcomes.append("shown the first")
        finally:
            connection.close()

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["issued", "shown the first"]
    assert ReportPack.objects.count() == 1

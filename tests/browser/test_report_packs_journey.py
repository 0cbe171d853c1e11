"""A senior manager issues the members' report pack from its page and downloads it: the PDF
downloaded is the one whose SHA-256 the pack's page shows. axe finds nothing serious on the
list or the pack's page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.browser.conftest import axe_violations, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_senior_manager_issues_and_downloads_the_pack(
    axe_page, live_server, senior_manager, policy
):
    page = axe_page
    log_in(page, live_server, "senior.manager", TEST_PASSWORD)
    page.goto(f"{live_server.url}/reports/packs/")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Issue the pack").click()
    page.wait_for_url("**/reports/packs/*/")
    assert page.get_by_text("Report pack issued.").is_visible()
    assert axe_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()

    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == page.locator("#pack-sha256").inner_text()
    page.goto(f"{live_server.url}/reports/packs/")
    assert page.locator("#report-packs tbody tr").count() == 1

"""A senior manager issues a team's letters as one background job and downloads the ZIP."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command

from allocations.models import Letter
from tests.browser.conftest import log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_senior_manager_runs_a_batch_for_a_team_and_downloads_the_zip(
    page, live_server, submitted_a, person_a, senior_manager
):
    log_in(page, live_server, "senior.manager", TEST_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Letters").click()
    page.get_by_label("Team").select_option(label="North Locality Team")
    page.get_by_role("button", name="Issue the letters").click()
    page.get_by_role("heading", name="Indicative budget letters, North Locality Team").wait_for()

    # The background worker picks the job up; the page follows its progress and, when it
    # finishes, offers the download.
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    download_link = page.get_by_role("link", name="Download all the letters (ZIP)")
    download_link.wait_for(timeout=15_000)
    with page.expect_download() as waiting:
        download_link.click()
    archive = zipfile.ZipFile(io.BytesIO(waiting.value.path().read_bytes()))
    assert archive.namelist() == [f"{person_a.reference}-indicative.pdf"]
    assert archive.read(archive.namelist()[0]) == Letter.objects.get().read_pdf()
    status = " ".join(page.locator("#run-status").inner_text().split())
    assert "1 of 1 people; 1 letters issued, 0 reused, 0 failed" in status

"""A re-pricing preview worked out in the background, in parts (issue 15): parts of three people
give exactly the figures the preview works out in one request; the page shows the job's
progress, then those figures; a preview shared by two real `db_worker` processes, one killed
mid-part, counts every part once."""

from __future__ import annotations

import re
import signal
from collections import Counter

import psycopg2
import pytest
from django.db import connection
from django.urls import reverse

from allocations import selectors
from allocations.models import IndicativeBudget, RepricingPreviewRun
from allocations.selectors.repricing import (
    PreviewSummary,
    inputs_mark,
    repricing_preview,
)
from allocations.services.repricing_preview import (
    preview_repricing,
    preview_repricing_part,
    repricing_preview_run,
    repricing_preview_start,
)
from allocations.views.repricing import LARGE_CASELOAD, OUT_OF_DATE
from assessments.models import PersonAccess
from tests.allocations.test_jobs_recovery import (  # noqa: F401 - the workers fixture
    _database_url,
    _wait_for,
    workers,
)
from tests.allocations.test_repricing_chunked import _waiting_on, varied  # noqa: F401
from tests.factories import make_policy_from_today


def _run(policy, ras_admin, *, part: int) -> RepricingPreviewRun:
    run = RepricingPreviewRun.objects.create(
        policy=policy, created_by=ras_admin, inputs_mark=inputs_mark()
    )
    repricing_preview_run(run, part=part)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
@pytest.mark.parametrize("price", ["4.50", "5.10"])  # every figure lower (flagged), or higher
def test_parts_of_three_give_exactly_the_preview_worked_out_at_once(
    varied,  # noqa: F811
    ras_admin,
    senior_manager,
    monkeypatch,
    price,
):
    # The three biggest changes only: the parts' own biggest must be merged, ties in the
    # order of people as one pass over everyone gives them (everyone here has 8 points, so
    # many changes are equal).
    monkeypatch.setattr(selectors.repricing, "LARGEST", 3)
    policy = make_policy_from_today(ras_admin, senior_manager, price=price)
    at_once = PreviewSummary.of(repricing_preview(policy))
    run = _run(policy, ras_admin, part=3)

    assert (run.status, run.total, run.processed, run.parts_done, run.workers) == (
        "done",
        8,
        8,
        3,
        1,
    )
    assert [(p.total, p.processed) for p in run.parts.order_by("number")] == [
        (3, 3),
        (3, 3),
        (2, 2),
    ]
    in_parts = PreviewSummary.from_json(run.summary)
    assert in_parts == at_once
    assert in_parts.total.people == 8 and len(in_parts.largest) == 3
    if price == "4.50":
        assert (in_parts.total.down, in_parts.total.flagged) == (6, 6)
    else:
        assert (in_parts.total.up, in_parts.total.same) == (6, 2)  # two kept packages
    assert len(in_parts.by_team) == 2 and len(in_parts.by_client_group) > 1
    # Ties among the biggest changes come in the order of people, as in one pass.
    assert [c.person_id for c in in_parts.largest] == [c.person_id for c in at_once.largest]
    assert IndicativeBudget.objects.filter(policy=policy).count() == 0  # nothing written


@pytest.mark.django_db
def test_a_part_done_already_is_not_counted_again(varied, ras_admin, senior_manager):  # noqa: F811
    policy = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    run = _run(policy, ras_admin, part=3)
    first = run.parts.get(number=1)
    # A part's task delivered again (or late), and the run's own task again: nothing changes.
    assert preview_repricing_part.call(first.pk) == 0
    assert preview_repricing.call(run.pk) == 0
    first.refresh_from_db()
    again = RepricingPreviewRun.objects.get(pk=run.pk)
    assert (again.processed, again.summary, first.done_at) == (8, run.summary, first.done_at)


def _results(page) -> str:
    """The preview's figures as the page shows them."""
    match = re.search(r'<div id="preview-results">.*?</table>\s*</div>', page.text, re.S)
    assert match, page.text
    return match.group(0)


@pytest.mark.django_db
def test_a_large_caseloads_page_shows_progress_then_the_same_figures(
    client,
    varied,  # noqa: F811
    ras_admin,
    senior_manager,
    settings,
):
    policy = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    url = reverse("allocations:repricing", args=[policy.pk])
    client.force_login(ras_admin)
    in_request = _results(client.get(url))

    settings.REPRICING_PREVIEW_IN_REQUEST_MAX = 7  # eight people: in the background
    settings.REPRICING_PREVIEW_PART = 3
    page = client.get(url)
    assert LARGE_CASELOAD in page.text and 'id="preview-start"' in page.text
    assert 'id="preview-results"' not in page.text and "Apply to" not in page.text
    assert not RepricingPreviewRun.objects.exists()  # a GET starts nothing

    start = reverse("allocations:repricing_preview_start", args=[policy.pk])
    assert client.post(start).url == url
    run = RepricingPreviewRun.objects.get()
    assert client.post(start).url == url  # asked again while it waits: the same one
    assert RepricingPreviewRun.objects.get() == run
    page = client.get(url)
    assert "<progress" in page.text and "Waiting to start" in page.text
    assert 'id="preview-results"' not in page.text
    status = client.get(reverse("allocations:repricing_preview_status", args=[run.pk])).json()
    assert (status["status"], status["processed"]) == ("queued", 0)

    assert preview_repricing.call(run.pk) == 8  # a worker works it out
    status = client.get(reverse("allocations:repricing_preview_status", args=[run.pk])).json()
    assert (status["status"], status["processed"], status["total"]) == ("done", 8, 8)
    assert (status["parts_done"], status["workers"]) == (3, 1)
    page = client.get(url)
    assert _results(page) == in_request  # the same figures, the same biggest changes
    assert "Apply to 8 current budgets" in page.text
    assert "3 parts, shared by 1 worker" in page.text and OUT_OF_DATE not in page.text
    shown = PersonAccess.objects.filter(user=ras_admin, page=PersonAccess.Page.REPRICING_PREVIEW)
    assert set(shown.values_list("person_id", flat=True)) == {p.pk for p in varied}

    team = varied[0].team  # anything a preview reads changes: the figures may be out of date
    team.name = "North and East Locality Team"
    team.save()
    assert OUT_OF_DATE in client.get(url).text
    client.post(start)  # worked out again
    assert RepricingPreviewRun.objects.count() == 2
    assert 'id="preview-results"' not in client.get(url).text


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["worker_a", "manager_a", "senior_manager", "auditor"])
def test_only_ras_administrators_work_a_preview_out_in_the_background(
    client, request, role, ras_admin, senior_manager, settings
):
    policy = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    run = RepricingPreviewRun.objects.create(policy=policy, created_by=ras_admin, inputs_mark="")
    client.force_login(request.getfixturevalue(role))
    start = reverse("allocations:repricing_preview_start", args=[policy.pk])
    assert client.post(start).status_code in (403, 404)
    assert (
        client.get(reverse("allocations:repricing_preview_status", args=[run.pk])).status_code
        == 403
    )
    assert RepricingPreviewRun.objects.count() == 1


# --- two real workers, one killed mid-part -----------------------------------------------------


def _lock_teams():
    """Lock the teams table from another connection: every part's read waits for it (inside
    the part's transaction, its row locked)."""
    holder = psycopg2.connect(_database_url())
    holder.autocommit = False
    with holder.cursor() as cursor:
        cursor.execute("LOCK TABLE assessments_team IN ACCESS EXCLUSIVE MODE")
    return holder


@pytest.mark.django_db(transaction=True)
def test_a_preview_shared_by_two_workers_one_killed_mid_part_counts_each_part_once(
    varied,  # noqa: F811
    ras_admin,
    senior_manager,
    workers,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("REPRICING_PREVIEW_PART", "2")  # four parts of two people
    policy = make_policy_from_today(ras_admin, senior_manager, price="4.50")
    at_once = PreviewSummary.of(repricing_preview(policy))
    holder = _lock_teams()
    try:
        first = workers()
        run = repricing_preview_start(actor=ras_admin, policy=policy)
        # The first worker takes the run, plans its parts and waits inside part 1.
        _wait_for(lambda: _waiting_on(holder) == 1, 60, "the first worker to reach part 1", first)
        second = workers()  # takes the parts' tasks: part 1 is held (skipped), then part 2
        _wait_for(lambda: _waiting_on(holder) == 2, 60, "the second worker to reach part 2", second)
        first.signal(signal.SIGKILL)  # dies mid-part: its part's transaction never commits
        first.process.wait(10)
    finally:
        holder.rollback()
        holder.close()
    # The second worker does parts 2 to 4 (their tasks), then finds the run stalled once its
    # lease runs out, resumes it and works out part 1, which the first worker died in.
    _wait_for(
        lambda: RepricingPreviewRun.objects.get(pk=run.pk).status == "done",
        60,
        "the preview",
        second,
    )
    run.refresh_from_db()
    assert (run.status, run.attempts, run.total, run.processed, run.parts_done) == (
        "done",
        2,
        8,
        8,
        4,
    )
    assert PreviewSummary.from_json(run.summary) == at_once
    parts = list(run.parts.order_by("number"))
    assert [p.processed for p in parts] == [2, 2, 2, 2]
    assert sum(PreviewSummary.from_json(p.tallies).total.people for p in parts) == 8
    assert len({p.done_by for p in parts}) == 1  # all by the second worker
    assert run.workers == 1
    assert Counter(p.done_at is not None for p in parts) == {True: 4}
    with connection.cursor() as cursor:  # nothing but the preview was written
        cursor.execute(
            "SELECT count(*) FROM allocations_indicativebudget WHERE policy_id = %s", [policy.pk]
        )
        assert cursor.fetchone()[0] == 0

"""The load benchmark's rounds stay valid as the pages change: every request of a round,
made with the test client as the benchmark's social worker, succeeds, and the section save of
the next round is not refused as a conflict (the benchmark follows the lock_version). No
timings here: `make bench` prints those."""

from __future__ import annotations

import random

from assessments.services.assessments import assessment_start
from benchmarks.load import PAGES, accounts_load, caseload_load, round_steps


def test_two_rounds_of_the_load_succeed_against_the_pages(
    client, worker_a, team_a, person_a, submitted_a
):
    draft = assessment_start(actor=worker_a, person=person_a, supported_by="self")
    (account,) = accounts_load([worker_a.username])
    assert (account.draft_pk, account.lock_version) == (draft.pk, draft.lock_version)
    caseload = caseload_load(team_code=team_a.code)
    assert caseload.people == [(person_a.pk, person_a.budgets.get().pk)]
    client.force_login(worker_a)
    rng = random.Random(1)

    for _ in range(2):
        steps = round_steps(account, caseload, rng)
        assert [step.page for step in steps] == list(PAGES[1:])
        for step in steps:
            if step.method == "GET":
                response = client.get(step.path)
                assert response.status_code == 200, step
            else:
                response = client.post(step.path, step.data)
                assert response.status_code == 302, step  # saved, on to the next step
                account.lock_version += 1

    draft.refresh_from_db()
    assert draft.lock_version == account.lock_version
    assert draft.answers.count() == len(account.section_fields)

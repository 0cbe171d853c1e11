"""A letter batch makes the kind of letter chosen, for the people that kind is about, and its
"since" date is the date that kind is about (calculated, agreed, decided)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from allocations.forms import LetterBatchForm
from allocations.models import Letter, LetterBatch
from allocations.services.letter_batches import letter_batch_run
from allocations.services.plans import plan_authorise, plan_submit
from assessments.services.assessments import assessment_start, assessment_submit
from tests.factories import complete_assessment, date_parts, make_person, make_plan

pytestmark = pytest.mark.django_db

KINDS = ["indicative", "statement", "panel_decision"]


def _assessed(worker, family_name):
    """A new person of the worker's team with a submitted assessment (a current budget)."""
    person = make_person(actor=worker, family_name=family_name)
    ready = complete_assessment(
        assessment_start(actor=worker, person=person, supported_by="self"), worker
    )
    assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)
    return person


def _agree(person, worker, manager):
    plan = make_plan(person, worker, weekly="118.00", difference_reason="A cheaper provider")
    plan_authorise(actor=manager, plan=plan_submit(actor=worker, plan=plan))


@pytest.fixture
def meeting(panel_chair, panel_member, panel_member2):
    from tests.panels.helpers import held_meeting

    return held_meeting(panel_chair, [panel_member, panel_member2])  # under way: it decides


def _refer(person, worker, chair, meeting):
    from panels.services import referral_schedule

    plan = plan_submit(
        actor=worker,
        plan=make_plan(person, worker, weekly="650.00", difference_reason="Night care"),
    )
    return referral_schedule(actor=chair, referral=plan.referrals.get(), meeting=meeting)


def _decide(referral, chair):
    from panels.services import panel_decide

    return panel_decide(
        actor=chair, referral=referral, outcome="declined", reasons="Other support first."
    )


def _batch(client, user, team, kind, since=None) -> LetterBatch:
    client.force_login(user)
    data = {"kind": kind, "team": team.pk}
    if since is not None:
        data.update(date_parts("since", since))
    response = client.post(reverse("allocations:letter_batches"), data)
    batch = LetterBatch.objects.latest("id")
    assert response.url == reverse("allocations:letter_batch", args=[batch.pk])
    return batch


def test_the_form_offers_every_registered_kind(manager_a):
    form = LetterBatchForm(user=manager_a)
    assert [value for value, _ in form.fields["kind"].choices] == KINDS
    assert LetterBatchForm({"kind": "statement"}, user=manager_a).is_valid()
    assert "kind" in LetterBatchForm({"kind": "made_up"}, user=manager_a).errors


@pytest.mark.parametrize(
    ("kind", "expected", "description"),
    [
        ("indicative", {"budget", "agreed", "panel"}, "Indicative budget letters"),
        ("statement", {"agreed"}, "Personal budget statements"),
        ("panel_decision", {"panel"}, "Panel decision letters"),
    ],
)
def test_each_kind_selects_its_people_and_makes_its_letters(
    client,
    kind,
    expected,
    description,
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    senior_manager,
    team_a,
    panel_chair,
    meeting,
):
    agreed = _assessed(worker_a, "Agreed")
    _agree(agreed, worker_a, manager_a)
    panel = _assessed(worker_a, "Panel")
    _decide(_refer(panel, worker_a, panel_chair, meeting), panel_chair)
    people = {"budget": person_a, "agreed": agreed, "panel": panel}

    batch = _batch(client, senior_manager, team_a, kind)

    assert batch.kind == kind
    assert batch.description == f"{description}, North Locality Team"
    assert set(batch.person_ids) == {people[name].pk for name in expected}
    letter_batch_run(batch, processes=1)
    batch.refresh_from_db()
    assert (batch.status, batch.issued, batch.failures) == ("done", len(expected), [])
    letters = Letter.objects.filter(batch=batch)
    assert {letter.kind for letter in letters} == {kind}
    assert {letter.person_id for letter in letters} == {people[name].pk for name in expected}


def test_since_is_the_date_each_kind_is_about(
    client,
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    team_a,
    panel_chair,
    meeting,
):
    """Everyone's budget is calculated today. Ten days later one person's plan is agreed,
    another's panel decision made and a third person assessed; a batch "since" five days
    from now takes for each kind only those its date puts after that day."""
    agreed_early = _assessed(worker_a, "Agreedearly")
    _agree(agreed_early, worker_a, manager_a)
    decided_early = _assessed(worker_a, "Decidedearly")
    _decide(_refer(decided_early, worker_a, panel_chair, meeting), panel_chair)
    agreed_late = _assessed(worker_a, "Agreedlate")
    decided_late = _assessed(worker_a, "Decidedlate")
    referral = _refer(decided_late, worker_a, panel_chair, meeting)
    since = timezone.localdate() + datetime.timedelta(days=5)

    with time_machine.travel(timezone.now() + datetime.timedelta(days=10), tick=True):
        _agree(agreed_late, worker_a, manager_a)
        _decide(referral, panel_chair)
        assessed_late = _assessed(worker_a, "Assessedlate")

        indicative = _batch(client, manager_a, team_a, "indicative", since)
        statement = _batch(client, manager_a, team_a, "statement", since)
        decision = _batch(client, manager_a, team_a, "panel_decision", since)

    assert indicative.person_ids == [assessed_late.pk]
    assert statement.person_ids == [agreed_late.pk]
    assert decision.person_ids == [decided_late.pk]
    day = f"{since:%d %b %Y}"
    assert statement.description.endswith(f", budgets agreed since {day}")
    assert decision.description.endswith(f", decisions made since {day}")
    assert indicative.description.endswith(f", budgets calculated since {day}")
    assert person_a.pk not in indicative.person_ids

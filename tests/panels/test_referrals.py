"""Referrals: the transition table (every legal and illegal move, the history rows), who may
refer and withdraw, the referral page and each user's 'My work'."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assessments.roles import Role
from panels.models import (
    REFERRAL_TRANSITIONS,
    IllegalReferralTransition,
    PanelDecision,
    PanelReferral,
)
from panels.services import (
    CANNOT_REFER,
    CANNOT_WITHDRAW,
    WITHDRAWN,
    AlreadyDecided,
    referral_create,
    referral_withdraw,
)
from tests.factories import make_user
from tests.panels.helpers import decide

pytestmark = pytest.mark.django_db


def test_referral_page_shows_what_the_panel_needs(client, referral, panel_chair):
    client.force_login(panel_chair)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "Assessment points by section" in page and "Section 1" in page
    assert "How this figure was worked out" in page
    assert "£140.00 a week" in page
    assert "exceeds the indicative budget by more than the 10% tolerance" in page
    assert "quorate" in page and "Record the panel" in page


def test_my_work_lists_what_waits_for_each_user(
    client, submitted_a, person_a, worker_a, manager_a, referral, panel_chair
):
    client.force_login(panel_chair)
    page = client.get(reverse("panels:my_work")).text
    assert person_a.full_name in page and "(chair)" in page
    decide(referral, panel_chair, "deferred", information_needed="OT report")
    client.force_login(worker_a)
    page = client.get(reverse("panels:my_work")).text
    assert "OT report" in page  # returned to me
    assert "panel deferred: more information needed" in page.lower()


def test_referral_page_shows_the_plan_as_referred_in_constant_queries(
    client, referral, panel_chair, worker_a, django_assert_max_num_queries
):
    from allocations.models import PlanLine

    client.force_login(panel_chair)
    url = reverse("panels:referral_detail", args=[referral.pk])
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    plan = referral.plan
    for n in range(8):  # straight into the table: the plan is at the panel, not editable
        PlanLine.objects.create(
            plan=plan,
            category="other",
            description=f"Item {n}",
            quantity=1,
            unit="item",
            unit_cost_gbp=1,
            frequency="week",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).text
    # The panel decides on the plan as it was referred, not as it is edited afterwards.
    assert "Item 7" not in page and "Personal assistant" in page


# --- the transition table --------------------------------------------------------------------

WAITING, DECIDED, WITHDRAWN_ = (
    PanelReferral.Status.WAITING,
    PanelReferral.Status.DECIDED,
    PanelReferral.Status.WITHDRAWN,
)
LEGAL = {(WAITING, DECIDED), (WAITING, WITHDRAWN_)}
ILLEGAL = [
    (old, new)
    for old in PanelReferral.Status.values
    for new in PanelReferral.Status.values
    if old != new and (old, new) not in LEGAL
]


def _in_state(referral, status, *, panel_chair, worker_a):
    """The fixture's waiting referral, moved to `status` by its service."""
    if status == DECIDED:
        decide(referral, panel_chair)
    elif status == WITHDRAWN_:
        referral_withdraw(plan=referral.plan, reason="The budget changed", actor=worker_a)
    referral.refresh_from_db()
    assert referral.status == status
    return referral


def test_the_transition_table():
    assert {
        WAITING: {DECIDED, WITHDRAWN_},
        DECIDED: set(),
        WITHDRAWN_: set(),
    } == REFERRAL_TRANSITIONS
    assert {(o, n) for o, targets in REFERRAL_TRANSITIONS.items() for n in targets} == LEGAL


def test_a_referral_is_made_waiting_with_its_history(referral, worker_a, panel_chair):
    created, scheduled = referral.history.order_by("history_date", "history_id")
    assert (created.history_type, created.status, created.history_user) == ("+", WAITING, worker_a)
    assert created.history_change_reason == "referred to the panel"
    assert (scheduled.meeting_id, scheduled.status) == (referral.meeting_id, WAITING)
    assert scheduled.history_user == panel_chair
    assert scheduled.history_change_reason.startswith("put on the agenda of the meeting of ")


def test_waiting_to_decided_by_the_chair(referral, panel_chair):
    decide(referral, panel_chair)
    referral.refresh_from_db()
    assert referral.is_decided and not referral.is_waiting
    row = referral.history.latest("history_date")
    assert (row.status, row.history_user, row.history_change_reason) == (
        DECIDED,
        panel_chair,
        "decided: approved",
    )


def test_waiting_to_withdrawn_when_the_plan_leaves_the_panel(referral, worker_a):
    reason = "The indicative budget changed from £120.00 to £150.00 a week " * 4
    withdrawn = referral_withdraw(plan=referral.plan, reason=reason, actor=worker_a)
    withdrawn.refresh_from_db()
    assert withdrawn.is_withdrawn
    assert (withdrawn.withdrawn_reason, withdrawn.withdrawn_at is not None) == (reason, True)
    row = withdrawn.history.latest("history_date")
    assert (row.status, row.history_user) == (WITHDRAWN_, worker_a)
    assert row.history_change_reason.startswith("withdrawn: The indicative budget changed")
    assert len(row.history_change_reason) <= 100


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_every_illegal_move_is_refused_by_the_model(referral, panel_chair, worker_a, old, new):
    referral = _in_state(referral, old, panel_chair=panel_chair, worker_a=worker_a)
    with pytest.raises(IllegalReferralTransition):
        referral.check_transition(new)
    referral.status = new
    if new == WITHDRAWN_:
        referral.withdrawn_at = timezone.now()
    with pytest.raises(IllegalReferralTransition):
        referral.save()
    assert PanelReferral.objects.get(pk=referral.pk).status == old


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_every_illegal_move_is_refused_by_the_database(referral, panel_chair, worker_a, old, new):
    referral = _in_state(referral, old, panel_chair=panel_chair, worker_a=worker_a)
    rows = PanelReferral.objects.filter(pk=referral.pk)
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.update(status=new, withdrawn_at=timezone.now() if new == WITHDRAWN_ else None)
    assert rows.get().status == old


def test_a_new_referral_can_only_be_waiting(referral, worker_a):
    for status in (DECIDED, WITHDRAWN_):
        made = PanelReferral(plan=referral.plan, status=status, referred_by=worker_a)
        with pytest.raises(IllegalReferralTransition):
            made.save()
        # bulk_create skips save(): the database's trigger refuses it all the same.
        with pytest.raises(DatabaseError), transaction.atomic():
            PanelReferral.objects.bulk_create([made])
    assert PanelReferral.objects.count() == 1


def test_only_a_withdrawn_referral_has_a_withdrawal_date(referral):
    with pytest.raises(IntegrityError), transaction.atomic():
        PanelReferral.objects.filter(pk=referral.pk).update(withdrawn_at=timezone.now())


def test_deciding_a_withdrawn_referral_is_an_illegal_move(referral, panel_chair, worker_a):
    _in_state(referral, WITHDRAWN_, panel_chair=panel_chair, worker_a=worker_a)
    with pytest.raises(IllegalReferralTransition) as caught:
        decide(referral, panel_chair)
    assert str(caught.value) == WITHDRAWN.format(reason="The budget changed")
    assert not PanelDecision.objects.exists()


def test_deciding_a_decided_referral_names_the_decision(referral, panel_chair):
    decide(referral, panel_chair)
    with pytest.raises(AlreadyDecided) as caught:
        decide(referral, panel_chair, "declined")
    assert isinstance(caught.value, IllegalReferralTransition)
    assert PanelDecision.objects.get().outcome == "approved"


def test_withdrawing_leaves_a_decided_referral_alone(referral, panel_chair, worker_a):
    _in_state(referral, DECIDED, panel_chair=panel_chair, worker_a=worker_a)
    assert referral_withdraw(plan=referral.plan, reason="x", actor=worker_a) is None
    referral.refresh_from_db()
    assert referral.is_decided and referral.withdrawn_at is None


# --- who may refer and withdraw --------------------------------------------------------------


def test_only_the_persons_team_worker_refers_a_plan(referral, worker_b, panel_member, panel_chair):
    for actor in (worker_b, panel_member, panel_chair):
        with pytest.raises(PermissionDenied, match=CANNOT_REFER):
            referral_create(plan=referral.plan, reasons=["x"], actor=actor)
    assert PanelReferral.objects.count() == 1


def test_only_a_budget_change_withdraws_a_referral(referral, auditor, panel_chair, panel_member):
    for actor in (auditor, panel_chair, panel_member):
        with pytest.raises(PermissionDenied, match=CANNOT_WITHDRAW):
            referral_withdraw(plan=referral.plan, reason="x", actor=actor)
    referral.refresh_from_db()
    assert referral.is_waiting


def test_withdrawn_and_decided_referrals_read_as_such(
    client, referral, panel_chair, worker_a, submitted_a
):
    client.force_login(panel_chair)
    referral_withdraw(plan=referral.plan, reason="The budget changed", actor=worker_a)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert 'id="referral-withdrawn"' in page and "The budget changed" in page
    assert "Record the panel" not in page and "Declare a conflict" not in page
    agenda = client.get(reverse("panels:meeting_detail", args=[referral.meeting_id])).text
    assert "withdrawn: the indicative budget changed or ended" in agenda


def test_the_referral_page_permission_matrix(client, referral, worker_a, panel_member):
    url = reverse("panels:referral_detail", args=[referral.pk])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(make_user("other.member", Role.PANEL_MEMBER))
    assert client.get(url).status_code == 404  # on no meeting of theirs
    client.force_login(worker_a)
    assert client.get(url).status_code == 403
    client.force_login(panel_member)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 405


def test_my_work_needs_a_login_only(client, worker_a):
    url = reverse("panels:my_work")
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(worker_a)
    assert client.get(url).status_code == 200

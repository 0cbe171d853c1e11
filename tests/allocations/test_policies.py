from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from allocations.models import ApprovedPolicyImmutable, RasPolicy
from allocations.selectors.policies import policy_in_force_on
from allocations.services.policies import (
    FOUR_EYES,
    PolicyNotDraft,
    policy_approve,
    policy_copy_to_draft,
    policy_update_draft,
)
from assessments.roles import Role
from assessments.workflows import IllegalTransition
from tests.factories import POLICY_FORM, SPEC_POLICY, date_parts, make_policy, make_user

pytestmark = pytest.mark.django_db


def test_the_drafter_cannot_approve_their_own_policy(ras_admin):
    draft = make_policy(ras_admin)
    with pytest.raises(PermissionDenied, match="someone other than"):
        policy_approve(actor=ras_admin, policy=draft)
    draft.refresh_from_db()
    assert draft.status == RasPolicy.Status.DRAFT


def test_whoever_edited_the_draft_cannot_approve_it(ras_admin):
    other_admin = make_user("ras.admin2", Role.RAS_ADMINISTRATOR)
    draft = make_policy(ras_admin, effective_from=timezone.localdate())
    policy_update_draft(actor=other_admin, policy=draft, data={"name": "Edited"})
    with pytest.raises(PermissionDenied) as caught:
        policy_approve(actor=other_admin, policy=draft)
    assert str(caught.value) == FOUR_EYES


@pytest.mark.parametrize("approver_role", [Role.RAS_ADMINISTRATOR, Role.SENIOR_MANAGER])
def test_a_second_ras_administrator_or_senior_manager_approves(ras_admin, approver_role):
    approver = make_user("second", approver_role)
    draft = make_policy(ras_admin, effective_from=timezone.localdate())
    approved = policy_approve(actor=approver, policy=draft)
    assert (approved.status, approved.approved_by) == (RasPolicy.Status.APPROVED, approver)
    assert approved.history.latest().history_user == approver


@pytest.mark.parametrize("role", [Role.SOCIAL_WORKER, Role.TEAM_MANAGER, Role.AUDITOR])
def test_other_roles_cannot_approve(ras_admin, role, team_a):
    with pytest.raises(PermissionDenied):
        policy_approve(actor=make_user("x", role, team_a), policy=make_policy(ras_admin))


def test_an_approved_policy_never_changes(policy, ras_admin):
    policy.price_per_point_gbp = Decimal("9.99")
    with pytest.raises(ApprovedPolicyImmutable):
        policy.save()
    with pytest.raises(PolicyNotDraft):
        policy_update_draft(actor=ras_admin, policy=policy, data={"name": "x"})
    with pytest.raises(PolicyNotDraft):
        policy_approve(actor=ras_admin, policy=policy)
    policy.refresh_from_db()
    assert policy.price_per_point_gbp == Decimal("4.88")


def test_copy_to_draft_starts_the_next_version(policy, ras_admin):
    draft = policy_copy_to_draft(actor=ras_admin, policy=policy)
    assert draft.status == RasPolicy.Status.DRAFT
    assert draft.price_per_point_gbp == policy.price_per_point_gbp
    assert draft.contingency_bands == policy.contingency_bands


def test_policy_in_force_either_side_of_an_effective_date(ras_admin, senior_manager):
    first = make_policy(ras_admin, senior_manager, effective_from=datetime.date(2026, 4, 1))
    second = make_policy(
        ras_admin,
        senior_manager,
        effective_from=datetime.date(2027, 4, 1),
        price_per_point_gbp=Decimal("5.03"),
    )
    make_policy(ras_admin, effective_from=datetime.date(2027, 1, 1))  # a draft: never in force
    assert policy_in_force_on(datetime.date(2026, 3, 31)) is None
    assert policy_in_force_on(datetime.date(2026, 4, 1)) == first
    assert policy_in_force_on(datetime.date(2027, 3, 31)) == first
    assert policy_in_force_on(datetime.date(2027, 4, 1)) == second
    assert policy_in_force_on(datetime.date(2030, 1, 1)) == second


def test_invalid_policy_is_refused_by_field(ras_admin):
    bad_bands = [
        {"up_to": "300", "rate": "5"},
        {"up_to": "100", "rate": "10"},
        {"up_to": None, "rate": "100"},
    ]
    with pytest.raises(ValidationError) as caught:
        make_policy(ras_admin, contingency_bands=bad_bands)
    messages = caught.value.message_dict["contingency_bands"]
    assert any("contingency_bands[1].up_to" in m for m in messages)
    assert any("contingency_bands[2].rate: must be less than 100" in m for m in messages)
    with pytest.raises(ValidationError) as caught:
        make_policy(ras_admin, informal_support_reductions={"some": "10"})
    assert "informal_support_reductions" in caught.value.message_dict
    assert not RasPolicy.objects.exists()


# --- pages -----------------------------------------------------------------------------------


def test_public_rules_page_needs_no_login_and_shows_the_rates(client, policy):
    page = client.get(reverse("allocations:rules"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "£4.88 a week" in text
    assert "Learning disability" in text and "1.10" in text
    assert "26" in text and "£600.00 a week or more" in text
    # The example on the page comes from the engine: 60 points for an older person,
    # 60 × 4.88 = 292.80; contingency 5% of 100 + 10% of 192.80 = 24.28; 292.80 − 24.28.
    assert "<strong>£268.52 a week</strong>" in text


def test_rules_page_without_a_policy(client, db):
    assert "No rules are in force yet." in client.get(reverse("allocations:rules")).text


def test_drafting_and_approving_in_the_browser_forms(client, ras_admin, senior_manager):
    client.force_login(ras_admin)
    data = {**POLICY_FORM, **date_parts("effective_from", "2027-04-01")}
    bad = client.post(
        reverse("allocations:policy_create"), {**data, "contingency_bands": "100: 5\nlots: 9"}
    )
    assert "use numbers, and &#x27;above&#x27; for the last" in bad.text
    response = client.post(reverse("allocations:policy_create"), data)
    policy = RasPolicy.objects.get()
    assert response.url == reverse("allocations:policy_detail", args=[policy.pk])
    assert policy.contingency_bands[-1] == {"up_to": None, "rate": "26"}
    detail = client.get(response.url).text
    assert "Approve</button>" not in detail  # not for the drafter
    assert client.post(reverse("allocations:policy_approve", args=[policy.pk])).status_code == 403
    policy.refresh_from_db()
    assert policy.status == RasPolicy.Status.DRAFT
    client.force_login(senior_manager)
    assert "Approve</button>" in client.get(response.url).text
    client.post(reverse("allocations:policy_approve", args=[policy.pk]))
    policy.refresh_from_db()
    assert policy.status == RasPolicy.Status.APPROVED


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "auditor", "panel_chair"])
def test_only_ras_administrators_draft_policies(client, policy, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("allocations:policy_list")).status_code == 200
    assert client.get(reverse("allocations:policy_create")).status_code == 403
    assert client.post(reverse("allocations:policy_copy", args=[policy.pk])).status_code == 403
    assert client.get(reverse("allocations:repricing", args=[policy.pk])).status_code == 403


def test_anonymous_cannot_see_policy_versions(client, policy):
    assert client.get(reverse("allocations:policy_list")).status_code == 302
    assert client.get(reverse("allocations:policy_detail", args=[policy.pk])).status_code == 302


def test_spec_policy_fixture_is_the_spec():
    assert SPEC_POLICY["price_per_point_gbp"] == Decimal("4.88")


# --- the transition: draft → approved, through the workflow's table ---------------------------


def test_approving_a_draft_is_the_one_legal_move_and_saves_through_the_models_guard(
    ras_admin, senior_manager
):
    draft = make_policy(ras_admin, effective_from=timezone.localdate())
    assert (draft.is_draft, draft.is_approved) == (True, False)
    assert RasPolicy.WORKFLOW.allows(RasPolicy.Status.DRAFT, RasPolicy.Status.APPROVED)
    approved = policy_approve(actor=senior_manager, policy=draft)
    stored = RasPolicy.objects.get(pk=draft.pk)
    assert (stored.is_draft, stored.is_approved) == (False, True)
    assert (stored.approved_by, stored.approved_at) == (senior_manager, approved.approved_at)
    latest = stored.history.latest()
    assert (latest.status, latest.history_user) == ("approved", senior_manager)


def test_approving_twice_is_refused_as_an_illegal_transition(ras_admin, senior_manager):
    draft = make_policy(ras_admin, effective_from=timezone.localdate())
    policy_approve(actor=senior_manager, policy=draft)
    rows = draft.history.count()
    with pytest.raises(PolicyNotDraft, match="is already approved") as caught:
        policy_approve(actor=senior_manager, policy=draft)
    assert isinstance(caught.value, IllegalTransition)
    assert draft.history.count() == rows


def test_a_save_that_reopens_an_approved_policy_is_refused(policy):
    assert not RasPolicy.WORKFLOW.allows(RasPolicy.Status.APPROVED, RasPolicy.Status.DRAFT)
    policy.status = RasPolicy.Status.DRAFT
    with pytest.raises(ApprovedPolicyImmutable):
        policy.save()
    assert RasPolicy.objects.get(pk=policy.pk).is_approved


def test_the_database_refuses_to_reopen_an_approved_policy_even_by_bulk_update(policy):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="is approved"), transaction.atomic():
        RasPolicy.objects.filter(pk=policy.pk).update(status=RasPolicy.Status.DRAFT)
    assert RasPolicy.objects.get(pk=policy.pk).is_approved


def test_only_ras_administrators_copy_a_policy_to_a_draft(policy, senior_manager):
    with pytest.raises(PermissionDenied, match="Only RAS administrators draft"):
        policy_copy_to_draft(actor=senior_manager, policy=policy)
    assert RasPolicy.objects.count() == 1


def test_the_policy_page_shows_the_status_from_the_flags(client, policy, ras_admin):
    client.force_login(ras_admin)
    page = client.get(reverse("allocations:policy_detail", args=[policy.pk])).text
    assert "text-bg-success" in page and 'id="approval-note"' not in page
    draft = make_policy(ras_admin, effective_from=timezone.localdate(), name="Next")
    page = client.get(reverse("allocations:policy_detail", args=[draft.pk])).text
    assert "text-bg-warning" in page and 'id="approval-note"' in page

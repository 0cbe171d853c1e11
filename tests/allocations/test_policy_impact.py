"""Issue 11, impact before approval: any policy version's effect on everyone's current budget,
beside the figures they have now — the re-pricing preview's rows and tallies for a draft."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from allocations.models import IndicativeBudget, RasPolicy, RepricingRun
from allocations.selectors.repricing import (
    NOT_IMPACT_READER,
    _rows_portable,
    policy_impact,
    repricing_preview,
)
from allocations.services.policies import policy_approve
from allocations.services.repricing import repricing_apply
from tests.factories import make_budgeted_person, make_policy

pytestmark = pytest.mark.django_db
Status = IndicativeBudget.Status

NORTH, SOUTH = "North Locality Team", "South Locality Team"


@pytest.fixture
def draft(ras_admin):
    """A draft from today: £5.00 a point, learning disability ×0.90. Under it, older people
    8 × 5.00 = 40.00 − 5% → 38.00 (up 0.91); learning disability 40.00 × 0.90 = 36.00 − 1.80
    → 34.20 (down 6.59, and needs have not reduced: a manager would decide)."""
    return make_policy(
        ras_admin,
        name="Draft uplift",
        effective_from=timezone.localdate(),
        price_per_point_gbp=Decimal("5.00"),
        client_group_factors={"learning_disability": "0.90"},
    )


def test_a_drafts_impact_worked_by_hand(caseload, draft, senior_manager):
    impact = policy_impact(user=senior_manager, policy=draft)

    total = impact.total
    assert (total.people, total.up, total.same, total.down, total.flagged) == (3, 2, 0, 1, 1)
    assert total.weekly_now == Decimal("37.09") * 2 + Decimal("40.79")  # 114.97
    assert total.weekly_new == Decimal("38.00") * 2 + Decimal("34.20")  # 110.20
    assert total.weekly_difference == Decimal("-4.77")
    assert total.annual_difference == Decimal("-4.77") * 52
    assert (total.weekly_gain, total.weekly_loss) == (Decimal("1.82"), Decimal("-6.59"))
    north, south = impact.by_team[NORTH], impact.by_team[SOUTH]
    assert (north.people, north.up, north.down) == (2, 1, 1)
    assert (north.weekly_now, north.weekly_new) == (Decimal("77.88"), Decimal("72.20"))
    assert (south.people, south.up, south.weekly_difference) == (1, 1, Decimal("0.91"))
    groups = impact.by_client_group
    older, ld = groups["Older people"], groups["Learning disability"]
    assert (older.people, older.up, older.weekly_gain) == (2, 2, Decimal("1.82"))
    assert (ld.people, ld.down, ld.flagged, ld.weekly_loss) == (1, 1, 1, Decimal("-6.59"))
    biggest = impact.largest_changes(1)[0]
    assert (biggest.client_group, biggest.change) == ("learning_disability", Decimal("-6.59"))
    assert not IndicativeBudget.objects.filter(policy=draft).exists()  # nothing written


def test_the_impact_equals_re_pricing_the_same_people(caseload, draft, ras_admin, senior_manager):
    """Approve the draft and apply it through re-pricing: every new figure, and so every
    total, is what the impact preview said before approval."""
    impact = policy_impact(user=senior_manager, policy=draft)
    now = {b.person_id: b for b in IndicativeBudget.objects.filter(status=Status.CURRENT)}

    approved = policy_approve(actor=senior_manager, policy=draft)
    assert repricing_preview(approved) == impact  # the same rows and tallies, approved
    repricing_apply(RepricingRun.objects.create(policy=approved, created_by=ras_admin, reason="x"))

    new = {b.person_id: b for b in IndicativeBudget.objects.filter(policy=approved)}
    assert {b.status for b in new.values()} == {Status.CURRENT, Status.AWAITING_DECISION}
    for row in impact.rows:
        assert row.current_weekly == now[row.person_id].indicative_weekly_gbp
        assert row.result.indicative_weekly == new[row.person_id].indicative_weekly_gbp
        assert row.result.annual == new[row.person_id].annual_gbp
    assert impact.total.weekly_now == sum(b.indicative_weekly_gbp for b in now.values())
    assert impact.total.weekly_new == sum(b.indicative_weekly_gbp for b in new.values())
    assert impact.total.annual_new == sum(b.annual_gbp for b in new.values())
    assert impact.total.flagged == sum(b.status == Status.AWAITING_DECISION for b in new.values())
    for team, tally in impact.by_team.items():
        in_team = [b for b in new.values() if b.person.team.name == team]
        assert tally.weekly_new == sum(b.indicative_weekly_gbp for b in in_team)


def test_the_version_in_force_counts_everyone_even_those_already_on_it(
    caseload, policy, senior_manager
):
    # Re-pricing leaves out the people already on the policy; the impact does not.
    assert repricing_preview(policy).total.people == 0
    impact = policy_impact(user=senior_manager, policy=policy)
    assert (impact.total.people, impact.total.same) == (3, 3)
    assert impact.total.weekly_difference == 0


def test_the_csv_lists_everyone_beside_their_figure_now(client, caseload, draft, auditor):
    client.force_login(auditor)
    response = client.get(reverse("allocations:policy_impact", args=[draft.pk]), {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="impact-policy-{draft.pk}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_ref = {r["reference"]: r for r in rows}
    assert set(by_ref) == {p.reference for p in caseload}
    ld = by_ref[caseload[1].reference]
    assert (ld["client_group"], ld["current_weekly"], ld["new_weekly"]) == (
        "learning_disability",
        "40.79",
        "34.20",
    )
    assert (ld["weekly_change"], ld["change"], ld["needs_manager_decision"]) == (
        "-6.59",
        "down",
        "yes",
    )
    assert {r["change"] for r in rows if r is not ld} == {"up"}


@pytest.mark.parametrize("role", ["ras_admin", "senior_manager", "auditor"])
def test_ras_administrators_senior_managers_and_auditors_see_the_impact(
    client, caseload, draft, policy, role, request
):
    client.force_login(request.getfixturevalue(role))
    page = client.get(reverse("allocations:policy_impact", args=[draft.pk]))
    assert page.status_code == 200
    assert 'id="impact-people">3<' in page.text
    assert 'id="impact-weekly-new">£110.20<' in page.text
    assert NORTH in page.text and "The biggest changes" in page.text
    # Any version, the one in force too; and its page links there.
    assert client.get(reverse("allocations:policy_impact", args=[policy.pk])).status_code == 200
    detail = client.get(reverse("allocations:policy_detail", args=[policy.pk])).text
    assert reverse("allocations:policy_impact", args=[policy.pk]) in detail


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "panel_member", "panel_chair"])
def test_team_and_panel_roles_are_refused_the_impact(client, caseload, draft, role, request):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(reverse("allocations:policy_impact", args=[draft.pk])).status_code == 403
    csv_url = reverse("allocations:policy_impact", args=[draft.pk]) + "?format=csv"
    assert client.get(csv_url).status_code == 403
    # They still see the policy itself, without the impact or a link to it.
    detail = client.get(reverse("allocations:policy_detail", args=[draft.pk]))
    assert detail.status_code == 200
    assert "impact-summary" not in detail.text
    assert reverse("allocations:policy_impact", args=[draft.pk]) not in detail.text
    with pytest.raises(PermissionDenied, match=NOT_IMPACT_READER):
        policy_impact(user=user, policy=draft)


def test_anonymous_visitors_are_sent_to_log_in(client, draft):
    response = client.get(reverse("allocations:policy_impact", args=[draft.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_no_such_policy_is_404(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("allocations:policy_impact", args=[999999])).status_code == 404


def test_the_approver_sees_the_impact_on_the_approval_page(client, caseload, draft, senior_manager):
    client.force_login(senior_manager)
    page = client.get(reverse("allocations:policy_detail", args=[draft.pk])).text
    assert "Approve</button>" in page
    assert "Impact before approval" in page
    assert 'id="impact-weekly-now">£114.97<' in page
    assert 'id="impact-weekly-new">£110.20<' in page
    assert 'id="impact-up">2<' in page and 'id="impact-down">1<' in page
    assert 'id="impact-weekly-gain">£1.82<' in page and 'id="impact-weekly-loss">−£6.59<' in page
    assert "Learning disability" in page
    assert "Spec example is the version in force today" in page
    assert reverse("allocations:policy_impact", args=[draft.pk]) in page
    # Approving is as before: nothing new refused.
    response = client.post(reverse("allocations:policy_approve", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RasPolicy.Status.APPROVED


def test_an_approved_versions_page_links_to_its_impact_without_working_it_out(
    client, caseload, policy, senior_manager
):
    client.force_login(senior_manager)
    page = client.get(reverse("allocations:policy_detail", args=[policy.pk])).text
    assert "Impact before approval" not in page
    assert reverse("allocations:policy_impact", args=[policy.pk]) in page


@pytest.mark.parametrize("people", [3, 10])
def test_the_impact_is_a_constant_number_of_queries(
    people, caseload, draft, worker_b, senior_manager, django_assert_num_queries
):
    for _ in range(people - len(caseload)):
        make_budgeted_person(actor=worker_b, existing_weekly_cost_gbp=None)
    # PostgreSQL: a savepoint, SET LOCAL jit = off, the one query for every row, the release.
    with django_assert_num_queries(4):
        impact = policy_impact(user=senior_manager, policy=draft)
    assert impact.total.people == people
    # The portable path (SQLite) is constant too: the budgets, and the points of them all.
    with django_assert_num_queries(2):
        assert len(_rows_portable(None)) == people


def test_the_seeded_demos_draft_shows_its_impact(client):
    from django.core.management import call_command

    from assessments.models import User

    call_command("seed_demo")
    draft = RasPolicy.objects.get(status=RasPolicy.Status.DRAFT, name__startswith="Mid-year")
    client.force_login(User.objects.get(username="senior.manager"))
    page = client.get(reverse("allocations:policy_detail", args=[draft.pk])).text
    current = IndicativeBudget.objects.filter(status=Status.CURRENT).count()
    assert current > 0
    assert "Impact before approval" in page and f'id="impact-people">{current}<' in page

"""The report settings (issue 12): the take-up target and the annual budget, changed only by a
RAS administrator, with a reason, every change kept with who, when, what and why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocations.models import ReportSettings
from allocations.reports.targets import report_targets
from allocations.services.report_settings import (
    NOT_SETTINGS_EDITOR,
    REASON_REQUIRED,
    report_settings_update,
)
from allocations.views.report_settings import SETTINGS_REFUSED, SETTINGS_SAVED

pytestmark = pytest.mark.django_db

URL = "allocations:report_settings"
NEW = {"take_up_target_percent": Decimal("35"), "annual_budget_gbp": Decimal("2500000.00")}


def post(client, user, **data):
    client.force_login(user)
    form = {
        "take_up_target_percent": "35",
        "annual_budget_gbp": "2500000",
        "reason": "Budget set by cabinet, 12 May",
    }
    form.update(data)
    return client.post(reverse(URL), form)


# --- the service -----------------------------------------------------------------------------


def test_a_ras_administrator_sets_the_targets_with_history(ras_admin):
    assert report_targets().take_up_target_percent == 30  # the default, before any change
    settings = report_settings_update(actor=ras_admin, data=NEW, reason="Cabinet, 12 May")
    stored = ReportSettings.objects.get()
    assert (stored.pk, stored.take_up_target_percent, stored.annual_budget_gbp) == (
        1,
        Decimal("35.00"),
        Decimal("2500000.00"),
    )
    assert stored.updated_by == ras_admin
    report_settings_update(
        actor=ras_admin,
        data={"take_up_target_percent": Decimal("40"), "annual_budget_gbp": None},
        reason="Budget withdrawn",
    )
    history = list(settings.history.order_by("history_date", "history_id"))
    assert [(h.history_type, h.history_user, h.history_change_reason) for h in history] == [
        ("+", ras_admin, "Cabinet, 12 May"),
        ("~", ras_admin, "Budget withdrawn"),
    ]
    assert (history[1].take_up_target_percent, history[1].annual_budget_gbp) == (40, None)
    assert ReportSettings.objects.count() == 1


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "senior_manager", "auditor"])
def test_only_a_ras_administrator_may_change_them(role, request):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied, match=NOT_SETTINGS_EDITOR):
        report_settings_update(actor=user, data=NEW, reason="Why not")
    assert not ReportSettings.objects.exists()


def test_a_reason_is_required_and_a_bad_value_saves_nothing(ras_admin):
    report_settings_update(actor=ras_admin, data=NEW, reason="First")
    with pytest.raises(ValidationError) as refused:
        report_settings_update(actor=ras_admin, data=NEW, reason="  ")
    assert refused.value.message_dict == {"reason": [REASON_REQUIRED]}
    with pytest.raises(ValidationError) as refused:
        report_settings_update(
            actor=ras_admin,
            data={"take_up_target_percent": Decimal("101"), "annual_budget_gbp": Decimal("-1")},
            reason="Typo",
        )
    assert set(refused.value.message_dict) == {"take_up_target_percent", "annual_budget_gbp"}
    stored = ReportSettings.objects.get()
    assert (stored.take_up_target_percent, stored.annual_budget_gbp) == (35, Decimal("2500000"))
    assert stored.history.count() == 1


# --- the page --------------------------------------------------------------------------------


def test_a_ras_administrator_changes_them_on_the_page(client, ras_admin):
    response = post(client, ras_admin)
    assert response.status_code == 302
    assert response.url == reverse(URL)
    page = client.get(reverse(URL))
    html = page.content.decode()
    assert SETTINGS_SAVED in html
    assert ReportSettings.objects.get().take_up_target_percent == 35
    # The history: who, what and why.
    assert "Budget set by cabinet, 12 May" in html
    assert "Created: take-up target 35.00%; annual budget £2,500,000.00" in html
    assert (ras_admin.get_full_name() or ras_admin.username) in html
    post(client, ras_admin, take_up_target_percent="40", reason="Raised by members")
    html = client.get(reverse(URL)).content.decode()
    assert "Take-up target (%): 35.00 → 40.00" in html
    assert html.index("Raised by members") < html.index("Budget set by cabinet, 12 May")
    assert 'id="report-settings-form"' in html


def test_a_bad_value_is_refused_beside_its_field(client, ras_admin):
    response = post(client, ras_admin, take_up_target_percent="150", reason="")
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["take_up_target_percent"] == [
        "Ensure this value is less than or equal to 100."
    ]
    assert "reason" in form.errors
    html = response.content.decode()
    assert SETTINGS_REFUSED in html
    assert 'id="error_1_id_take_up_target_percent"' in html
    assert 'id="error_1_id_reason"' in html
    assert not ReportSettings.objects.exists()
    response = post(client, ras_admin, annual_budget_gbp="-5")
    assert response.status_code == 400
    assert "annual_budget_gbp" in response.context["form"].errors
    assert not ReportSettings.objects.exists()


def test_who_may_see_and_change_the_page(
    client, ras_admin, worker_a, manager_a, senior_manager, auditor
):
    client.force_login(worker_a)
    assert client.get(reverse(URL)).status_code == 403
    for reader in (manager_a, senior_manager, auditor):
        client.force_login(reader)
        response = client.get(reverse(URL))
        assert response.status_code == 200
        assert 'id="report-settings-form"' not in response.content.decode()
        assert post(client, reader).status_code == 403
    assert not ReportSettings.objects.exists()
    client.force_login(ras_admin)
    assert 'id="report-settings-form"' in client.get(reverse(URL)).content.decode()


def test_the_page_makes_as_many_queries_however_long_the_history(client, ras_admin):
    report_settings_update(actor=ras_admin, data=NEW, reason="First")
    client.force_login(ras_admin)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(URL)).status_code == 200
        return len(queries)

    count()
    before = count()
    for n in range(3):
        report_settings_update(
            actor=ras_admin,
            data={**NEW, "take_up_target_percent": Decimal(31 + n)},
            reason=f"Change {n}",
        )
    assert count() == before

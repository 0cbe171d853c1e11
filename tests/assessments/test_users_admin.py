"""Staff accounts in the Django admin: a change of someone's roles (groups) or team is kept in
the history with who made it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from assessments.models import User
from assessments.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _change_form_data(response) -> dict:
    """The user change form's current values, as the browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        else:
            data[name] = str(value)
    for name in ("date_joined",):  # a split date and time widget
        moment = form[name].value()
        data.pop(name, None)
        data[f"{name}_0"], data[f"{name}_1"] = f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}"
    return data


def test_a_change_of_roles_and_team_is_recorded_with_who_made_it(client, worker_a, team_b):
    admin = make_user("it.admin", None, is_staff=True, is_superuser=True)
    worker_a = User.objects.get(pk=worker_a.pk)
    before = worker_a.history.count()
    manager_group = Group.objects.get(name=Role.TEAM_MANAGER.label)

    client.force_login(admin)
    url = reverse("admin:assessments_user_change", args=[worker_a.pk])
    data = _change_form_data(client.get(url))
    data["team"] = str(team_b.pk)
    data["groups"] = [str(manager_group.pk)]  # social worker -> team manager
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    worker_a.refresh_from_db()
    assert worker_a.team == team_b
    assert list(worker_a.groups.values_list("name", flat=True)) == ["Team manager"]

    rows = list(worker_a.history.order_by("history_date", "history_id")[before:])
    assert rows, "the change wrote no history"
    assert {row.history_user for row in rows} == {admin}
    latest = rows[-1]
    assert latest.team_id == team_b.pk
    assert [g.group.name for g in latest.groups.all()] == ["Team manager"]
    first = worker_a.history.order_by("history_date", "history_id")[before - 1]
    assert [g.group.name for g in first.groups.all()] == ["Social worker"]
    # The page that lists the changes shows who made them.
    history_page = client.get(reverse("admin:assessments_user_history", args=[worker_a.pk]))
    assert "It.Admin" in history_page.text  # the user as named in the admin

"""The sign-in backend reads what every page needs in two queries: the user with their team,
and their permissions (their own and their roles') together, the same set Django's
ModelBackend gives."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.urls import reverse

from assessments.auth import AccountBackend
from assessments.models import User

pytestmark = pytest.mark.django_db


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache


def test_the_user_comes_with_their_team_in_one_query(worker_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = AccountBackend().get_user(worker_a.pk)
        assert user.team.name == worker_a.team.name


def test_an_inactive_or_missing_user_is_no_one(worker_a):
    assert AccountBackend().get_user(10**9) is None
    User.objects.filter(pk=worker_a.pk).update(is_active=False)
    assert AccountBackend().get_user(worker_a.pk) is None


def test_permissions_are_the_roles_and_the_users_own_in_one_query(
    worker_a, auditor, ras_admin, django_assert_num_queries
):
    extra = Permission.objects.get(codename="withdraw_letter")
    worker_a.user_permissions.add(extra)
    superuser = User.objects.create_superuser("root", password="x" * 20)
    for user in (worker_a, auditor, ras_admin, superuser):
        expected = ModelBackend().get_all_permissions(fresh(user))
        user = fresh(user)
        with django_assert_num_queries(1):
            got = AccountBackend().get_all_permissions(user)
            assert AccountBackend().get_all_permissions(user) is got  # cached for the request
        assert got == expected and got
    assert "allocations.withdraw_letter" in AccountBackend().get_all_permissions(fresh(worker_a))
    assert "allocations.withdraw_letter" not in ModelBackend().get_group_permissions(
        fresh(worker_a)
    )


def test_a_page_reads_the_user_with_their_team_and_permissions_in_two_queries(
    client, worker_a, django_assert_max_num_queries
):
    """Besides the session, the rules page's policy and the menu's count: the user with their
    team (named in the menu) and their permissions, one query each."""
    client.force_login(worker_a)
    with django_assert_max_num_queries(5) as captured:
        response = client.get(reverse("allocations:rules"))
    assert response.status_code == 200
    assert worker_a.team.name in response.content.decode()
    sqls = [q["sql"] for q in captured.captured_queries]
    assert not any('FROM "assessments_team"' in sql for sql in sqls), sqls
    assert sum("auth_permission" in sql for sql in sqls) == 1, sqls

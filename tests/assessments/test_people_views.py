"""People pages: the permission matrix, and what each page shows."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from assessments.models import Person, PersonAccess
from tests.factories import form_data, make_person, person_data

pytestmark = pytest.mark.django_db

READ_VIEWS = ["assessments:person_detail"]
CHANGE_VIEWS = ["assessments:person_edit"]
ALL_PERSON_VIEWS = [*READ_VIEWS, *CHANGE_VIEWS, "assessments:person_access_log"]


def url(name, person=None):
    return reverse(name, args=[person.pk]) if person else reverse(name)


# --- anonymous -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PERSON_VIEWS)
def test_anonymous_is_sent_to_login_from_person_pages(client, person_a, name):
    response = client.get(url(name, person_a))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ["assessments:person_list", "assessments:person_create", "home"])
def test_anonymous_is_sent_to_login_from_list_pages(client, db, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_anonymous_post_creates_nobody(client, team_a):
    client.post(url("assessments:person_create"), form_data(person_data(team_a)))
    assert Person.objects.count() == 0


# --- other team: 404, never a hint the person exists ----------------------------------------


@pytest.mark.parametrize("name", ALL_PERSON_VIEWS)
def test_worker_from_another_team_gets_404(client, person_a, worker_b, name):
    client.force_login(worker_b)
    assert client.get(url(name, person_a)).status_code == 404


def test_worker_from_another_team_cannot_edit_by_post(client, person_a, worker_b):
    client.force_login(worker_b)
    data = form_data(person_data(person_a.team, reference=person_a.reference, given_name="X"))
    assert client.post(url("assessments:person_edit", person_a), data).status_code == 404
    person_a.refresh_from_db()
    assert person_a.given_name == "Edith"


def test_list_shows_only_own_team(client, person_a, worker_b):
    theirs = make_person(actor=worker_b, family_name="Brennan")
    client.force_login(worker_b)
    page = client.get(url("assessments:person_list")).content.decode()
    assert theirs.reference in page
    assert person_a.reference not in page


def test_user_without_team_or_service_role_sees_nobody(client, person_a, team_a):
    from assessments.roles import Role
    from tests.factories import make_user

    teamless = make_user("teamless", Role.SOCIAL_WORKER, team=None)
    client.force_login(teamless)
    assert person_a.reference not in client.get(url("assessments:person_list")).content.decode()
    assert client.get(url("assessments:person_detail", person_a)).status_code == 404
    assert client.get(url("assessments:person_create")).status_code == 403


# --- read-only roles: 200 on read, 403 on change --------------------------------------------

# Panel members and chairs read only the people referred to the panel: see
# tests/panels/test_panel_visibility.py.
READ_ONLY_ROLES = ["auditor", "senior_manager", "ras_admin"]


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_whole_service_roles_can_read_any_team(client, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url("assessments:person_detail", person_a)).status_code == 200
    assert person_a.reference in client.get(url("assessments:person_list")).content.decode()


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_read_only_roles_get_403_on_change(client, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url("assessments:person_edit", person_a)).status_code == 403
    data = form_data(person_data(person_a.team, reference=person_a.reference, given_name="X"))
    assert client.post(url("assessments:person_edit", person_a), data).status_code == 403
    assert client.get(url("assessments:person_create")).status_code == 403
    assert client.post(url("assessments:person_create"), data).status_code == 403
    person_a.refresh_from_db()
    assert person_a.given_name == "Edith"
    assert Person.objects.count() == 1


def test_auditor_page_offers_no_edit_but_offers_access_log(client, person_a, auditor):
    client.force_login(auditor)
    page = client.get(url("assessments:person_detail", person_a)).content.decode()
    assert url("assessments:person_edit", person_a) not in page
    assert url("assessments:person_access_log", person_a) in page


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "senior_manager", "ras_admin"])
def test_access_log_is_for_auditors_only(client, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url("assessments:person_access_log", person_a)).status_code == 403


# --- right role: it works -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["worker_a", "manager_a"])
def test_team_roles_create_a_person_on_their_team(client, team_a, role, request):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(url("assessments:person_create")).status_code == 200
    data = form_data(person_data(team_a, reference="asc-777", postcode="nb2 3cd"))
    response = client.post(url("assessments:person_create"), data)
    person = Person.objects.get()
    assert response.status_code == 302
    assert response.url == url("assessments:person_detail", person)
    assert person.reference == "ASC-777"
    assert person.postcode == "NB2 3CD"
    assert person.history.get().history_user == user


def test_worker_cannot_put_a_person_on_another_team(client, worker_a, team_b):
    client.force_login(worker_a)
    response = client.post(url("assessments:person_create"), form_data(person_data(team_b)))
    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert Person.objects.count() == 0


@pytest.mark.parametrize("role", ["worker_a", "manager_a"])
def test_team_roles_edit_a_person(client, person_a, role, request):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(url("assessments:person_edit", person_a)).status_code == 200
    data = form_data(
        person_data(
            person_a.team, reference=person_a.reference, given_name="Edie", needs_increased=True
        )
    )
    data["lock_version"] = person_a.lock_version
    response = client.post(url("assessments:person_edit", person_a), data)
    assert response.status_code == 302
    person_a.refresh_from_db()
    assert (person_a.given_name, person_a.needs_increased) == ("Edie", True)
    latest = person_a.history.latest()
    assert latest.history_user == user
    assert latest.history_type == "~"


def test_person_page_shows_details_and_history_with_who_changed_what(
    client, person_a, worker_a, manager_a
):
    from assessments.services.people import person_update

    person_update(actor=manager_a, person=person_a, data={"needs_increased": True})
    client.force_login(worker_a)
    page = client.get(url("assessments:person_detail", person_a)).content.decode()
    assert "Edith Atkinson" in page
    assert "£120.00 a week" in page
    assert "Created</strong> by Worker.A" in page
    assert "Changed</strong> by Manager.A" in page
    assert "Needs have increased: No → Yes" in page


def test_person_page_query_count_does_not_grow_with_history(
    client, person_a, worker_a, django_assert_max_num_queries
):
    from assessments.services.people import person_update

    client.force_login(worker_a)
    person_detail = url("assessments:person_detail", person_a)
    client.get(person_detail)  # warm the session and permission caches
    with django_assert_max_num_queries(20) as few:
        client.get(person_detail)
    for n in range(6):
        person_update(actor=worker_a, person=person_a, data={"town": f"Town {n}"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(person_detail)


def test_opening_a_record_writes_the_access_log(client, person_a, worker_a, auditor):
    client.force_login(worker_a)
    client.get(url("assessments:person_detail", person_a))
    client.get(url("assessments:person_edit", person_a))
    client.force_login(auditor)
    page = client.get(url("assessments:person_access_log", person_a)).content.decode()
    pages = list(PersonAccess.objects.filter(person=person_a).values_list("user__username", "page"))
    assert pages == [
        ("auditor", "access_log"),
        ("worker.a", "person_edit"),
        ("worker.a", "person_detail"),
    ]
    assert "(worker.a)" in page
    assert "Edit person" in page


def test_denied_opening_writes_no_access_log(client, person_a, worker_b):
    client.force_login(worker_b)
    client.get(url("assessments:person_detail", person_a))
    assert PersonAccess.objects.count() == 0


# --- list, search and pagination ------------------------------------------------------------


def test_search_by_name_reference_and_date_of_birth(client, worker_a):
    import datetime

    patel = make_person(actor=worker_a, given_name="Anil", family_name="Patel", reference="R-1")
    make_person(
        actor=worker_a,
        given_name="Joan",
        family_name="Walsh",
        reference="R-2",
        date_of_birth=datetime.date(1940, 12, 31),
    )
    client.force_login(worker_a)

    def found(query):
        response = client.get(url("assessments:person_list"), {"q": query})
        return [p.reference for p in response.context["page"]]

    assert found("patel") == [patel.reference]
    assert found("anil pat") == ["R-1"]
    assert found("r-2") == ["R-2"]
    assert found("31/12/1940") == ["R-2"]
    assert found("1940-12-31") == ["R-2"]
    assert found("nobody") == []
    assert "No one matches" in client.get(url("assessments:person_list"), {"q": "zz"}).text


def test_people_list_is_paginated_with_constant_queries(
    client, worker_a, django_assert_max_num_queries
):
    for n in range(30):
        make_person(actor=worker_a, family_name=f"Zed{n:02d}")
    client.force_login(worker_a)
    first = client.get(url("assessments:person_list"))
    assert len(first.context["page"]) == 25
    assert "Page 1 of 2" in first.text
    second = client.get(url("assessments:person_list"), {"page": 2})
    assert len(second.context["page"]) == 5
    # Session, user, two permission look-ups, count, team, page, the menu's count of what
    # waits, session save: the same number whether the page holds 25 people or 5.
    with django_assert_max_num_queries(11) as full_page:
        client.get(url("assessments:person_list"))
    with django_assert_max_num_queries(len(full_page.captured_queries)):
        client.get(url("assessments:person_list"), {"page": 2})


# --- two people editing the same record --------------------------------------------------------


def test_a_stale_edit_is_refused_naming_who_changed_it_and_keeping_what_was_typed(
    client, person_a, worker_a, manager_a
):
    import re

    from assessments.services.people import person_update

    client.force_login(worker_a)
    page = client.get(url("assessments:person_edit", person_a)).text
    assert re.search(r'<input type="hidden" name="lock_version" value="1"', page)
    # While the worker is typing, the manager saves a change to the same record.
    manager_a.last_name = "Ahmed"
    manager_a.save()
    person_update(actor=manager_a, person=person_a, data={"town": "Managerton"}, lock_version=1)
    change = person_a.history.latest()

    typed = form_data(
        person_data(person_a.team, reference=person_a.reference, given_name="Edie", town="Typed")
    )
    typed["lock_version"] = "1"
    response = client.post(url("assessments:person_edit", person_a), typed)

    assert response.status_code == 200
    when = timezone.localtime(change.history_date)
    message = f"Manager.A Ahmed changed this record at {when:%H:%M:%S on %d %b %Y}"
    assert message in response.text
    assert re.search(r"\d\d:\d\d:\d\d on \d\d [A-Z][a-z]{2} \d{4}", message)
    form = response.context["form"]
    assert form["given_name"].value() == "Edie" and form["town"].value() == "Typed"
    assert 'value="Edie"' in response.text and 'value="Typed"' in response.text
    assert re.search(r'<input type="hidden" name="lock_version" value="2"', response.text)
    assert "Town or city: Managerton" in response.text  # the colleague's value, to compare
    person_a.refresh_from_db()
    assert (person_a.given_name, person_a.town, person_a.lock_version) == ("Edith", "Managerton", 2)

    # Saving again, now on the latest version, is a deliberate choice and is kept.
    typed["lock_version"] = "2"
    saved = client.post(url("assessments:person_edit", person_a), typed)
    assert saved.status_code == 302
    person_a.refresh_from_db()
    assert (person_a.given_name, person_a.town, person_a.lock_version) == ("Edie", "Typed", 3)
    assert person_a.history.latest().history_user == worker_a


def test_the_add_form_has_no_lock_version(client, worker_a):
    client.force_login(worker_a)
    assert 'name="lock_version"' not in client.get(url("assessments:person_create")).text

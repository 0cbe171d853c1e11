"""A person's title and the name they prefer to be called: kept on their record (with its
history), and what every letter begins with ("Dear …") and puts above the address."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.models import Person
from assessments.services.people import person_update
from tests.factories import form_data, make_person, person_data


@pytest.mark.parametrize(
    ("title", "preferred_name", "salutation", "addressed_as"),
    [
        # The name they prefer comes first, whatever their title.
        ("Mrs", "Peggy", "Peggy", "Mrs Margaret Evans"),
        # Otherwise their title and last name.
        ("Mrs", "", "Mrs Evans", "Mrs Margaret Evans"),
        ("Dr", "", "Dr Evans", "Dr Margaret Evans"),
        ("Mx", "", "Mx Evans", "Mx Margaret Evans"),
        # No title: their first and last names, never "Dear  Evans".
        ("", "", "Margaret Evans", "Margaret Evans"),
        ("", "Maggie", "Maggie", "Margaret Evans"),
    ],
)
def test_salutation_and_address_name(title, preferred_name, salutation, addressed_as):
    person = Person(
        title=title, given_name="Margaret", family_name="Evans", preferred_name=preferred_name
    )
    assert person.salutation == salutation
    assert person.addressed_as == addressed_as


@pytest.mark.django_db
def test_a_worker_adds_a_person_with_a_title_and_preferred_name(client, worker_a, team_a):
    client.force_login(worker_a)
    form = client.get(reverse("assessments:person_create")).content.decode()
    assert '<option value="Mrs">Mrs</option>' in form and "No title" in form
    assert "Preferred name" in form

    data = form_data(person_data(team_a, given_name="Margaret", family_name="Evans"))
    data |= {"title": "Mrs", "preferred_name": "  Peggy "}
    response = client.post(reverse("assessments:person_create"), data)

    person = Person.objects.get()
    assert response.status_code == 302
    assert (person.title, person.preferred_name) == ("Mrs", "Peggy")
    created = person.history.get()
    assert (created.title, created.preferred_name, created.history_user) == (
        "Mrs",
        "Peggy",
        worker_a,
    )
    page = client.get(response.url).content.decode()
    assert "Dear Peggy," in page  # what their letters begin with
    assert '<dd class="col-sm-7" id="person-title">Mrs</dd>' in page


@pytest.mark.django_db
def test_a_title_not_on_the_list_is_refused_and_nothing_is_saved(client, worker_a, team_a):
    client.force_login(worker_a)
    data = form_data(person_data(team_a)) | {"title": "Lord High Admiral"}
    response = client.post(reverse("assessments:person_create"), data)
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert "Select a valid choice" in response.content.decode()
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_editing_the_title_and_preferred_name_is_kept_in_the_history(client, worker_a):
    person = make_person(actor=worker_a, given_name="Margaret", family_name="Evans")
    assert person.salutation == "Margaret Evans"  # made with no title
    client.force_login(worker_a)
    data = form_data(
        person_data(
            person.team,
            reference=person.reference,
            given_name="Margaret",
            family_name="Evans",
            title="Ms",
            preferred_name="",
        )
    )
    data["lock_version"] = person.lock_version
    response = client.post(reverse("assessments:person_edit", args=[person.pk]), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.salutation == "Ms Evans"
    changed = person.history.latest()
    assert changed.history_type == "~" and changed.history_user == worker_a
    changes = changed.diff_against(changed.prev_record).changes
    assert [(c.field, c.old, c.new) for c in changes if c.field != "lock_version"] == [
        ("title", "", "Ms")
    ]
    page = client.get(reverse("assessments:person_detail", args=[person.pk])).content.decode()
    assert "Dear Ms Evans," in page and "Not given" in page  # no preferred name


@pytest.mark.django_db
def test_the_service_saves_a_preferred_name(worker_a, person_a):
    person = person_update(actor=worker_a, person=person_a, data={"preferred_name": "Edie"})
    assert Person.objects.get(pk=person.pk).salutation == "Edie"
    assert person.history.latest().preferred_name == "Edie"

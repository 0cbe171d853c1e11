"""Creating and changing people: history with the acting user, and bad input refused whole."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assessments.models import (
    COST_NEGATIVE_MESSAGE,
    DATE_OF_BIRTH_FUTURE_MESSAGE,
    REFERENCE_DUPLICATE_MESSAGE,
    Person,
    PersonAccess,
    age_band_for,
    age_on,
)
from assessments.services.people import person_access_record, person_create, person_update
from tests.factories import form_data, make_person, person_data

pytestmark = pytest.mark.django_db


def test_create_writes_a_history_row_with_the_actor(worker_a):
    person = make_person(actor=worker_a)
    (row,) = person.history.all()
    assert row.history_type == "+"
    assert row.history_user == worker_a


def test_edit_writes_a_history_row_with_the_actor_and_the_change(person_a, manager_a):
    person_update(
        actor=manager_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("99.50")}
    )
    latest, created = person_a.history.order_by("-history_id")[:2]
    assert latest.history_user == manager_a
    assert (created.lock_version, latest.lock_version) == (1, 2)
    delta = latest.diff_against(created, excluded_fields=["updated_at", "lock_version"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("existing_weekly_cost_gbp", Decimal("120.00"), Decimal("99.50"))
    ]


def test_edit_through_the_page_records_the_request_user(client, person_a, manager_a):
    client.force_login(manager_a)
    data = form_data(person_data(person_a.team, reference=person_a.reference, town="Elsewhere"))
    data["lock_version"] = person_a.lock_version
    client.post(reverse("assessments:person_edit", args=[person_a.pk]), data)
    assert person_a.history.latest().history_user == manager_a


def test_read_only_role_cannot_change_through_the_service(person_a, auditor):
    with pytest.raises(PermissionDenied):
        person_update(actor=auditor, person=person_a, data={"town": "X"})
    with pytest.raises(PermissionDenied):
        person_create(actor=auditor, data=person_data(person_a.team))
    assert person_a.history.count() == 1


def test_service_refuses_another_teams_person(person_a, worker_b):
    with pytest.raises(PermissionDenied):
        person_update(actor=worker_b, person=person_a, data={"town": "X"})


# --- bad input: a message beside the field, nothing saved -----------------------------------

BAD_INPUT = [
    ("reference", "DUP-1", REFERENCE_DUPLICATE_MESSAGE),
    ("date_of_birth", "FUTURE", DATE_OF_BIRTH_FUTURE_MESSAGE),
    ("existing_weekly_cost_gbp", "-0.01", COST_NEGATIVE_MESSAGE),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_is_refused_beside_the_field_and_nothing_saved(
    client, worker_a, field, value, message
):
    make_person(actor=worker_a, reference="DUP-1")
    if value == "FUTURE":
        value = timezone.localdate() + datetime.timedelta(days=1)
    client.force_login(worker_a)
    data = form_data(person_data(worker_a.team, **{field: value}))
    response = client.post(reverse("assessments:person_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    page = response.content.decode()
    # Crispy renders the error right under the field's input, linked for screen readers.
    assert f'id="error_1_id_{field}"' in page
    assert "Nothing has been saved" in page
    assert Person.objects.count() == 1
    assert Person.history.count() == 1


def test_bad_edit_leaves_the_record_and_history_unchanged(client, person_a, worker_a):
    client.force_login(worker_a)
    data = form_data(
        person_data(
            person_a.team,
            reference=person_a.reference,
            given_name="Changed",
            existing_weekly_cost_gbp="-5",
        )
    )
    response = client.post(reverse("assessments:person_edit", args=[person_a.pk]), data)
    assert response.context["form"].errors["existing_weekly_cost_gbp"] == [COST_NEGATIVE_MESSAGE]
    person_a.refresh_from_db()
    assert person_a.given_name == "Edith"
    assert person_a.history.count() == 1


def test_duplicate_reference_via_the_service_is_a_field_error(worker_a):
    make_person(actor=worker_a, reference="SAME-1")
    with pytest.raises(ValidationError) as caught:
        make_person(actor=worker_a, reference="SAME-1")
    assert caught.value.message_dict["reference"] == [REFERENCE_DUPLICATE_MESSAGE]
    assert Person.objects.count() == 1


def test_database_refuses_a_negative_cost_even_without_validation(person_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person_a.pk).update(existing_weekly_cost_gbp=Decimal("-1"))


# --- age band -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (datetime.date(1950, 6, 15), datetime.date(2026, 6, 14), 75),
        (datetime.date(1950, 6, 15), datetime.date(2026, 6, 15), 76),
        (datetime.date(2000, 2, 29), datetime.date(2026, 2, 28), 25),
        (datetime.date(2000, 2, 29), datetime.date(2026, 3, 1), 26),
    ],
)
def test_age_counts_whole_years(born, on, age):
    assert age_on(born, on) == age


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (17, "Under 18"),
        (18, "18–24"),
        (24, "18–24"),
        (25, "25–34"),
        (64, "55–64"),
        (65, "65–74"),
        (84, "75–84"),
        (85, "85 and over"),
        (104, "85 and over"),
    ],
)
def test_age_bands(age, band):
    assert age_band_for(age) == band


# --- the access log is append-only ----------------------------------------------------------


def test_access_log_rows_cannot_be_changed_or_deleted(person_a, worker_a):
    row = person_access_record(user=worker_a, person=person_a, page="person_detail", path="/x")
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        PersonAccess.objects.all().delete()
    with pytest.raises(PermissionError):
        PersonAccess.objects.update(page="x")
    assert PersonAccess.objects.get().page == "person_detail"


def test_postgresql_refuses_raw_update_and_delete_of_the_access_log(person_a, worker_a):
    from django.db import DatabaseError, connection

    person_access_record(user=worker_a, person=person_a, page="person_detail", path="/x")
    for sql in (
        "UPDATE assessments_personaccess SET page = 'tampered'",
        "DELETE FROM assessments_personaccess",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql)
    assert PersonAccess.objects.get().page == "person_detail"

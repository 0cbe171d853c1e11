"""History panels speak human: a save that changed nothing a reader would see (only the
bookkeeping fields) is not listed as an empty "Changed by" row; a real change is, with what
changed."""

from __future__ import annotations

import pytest

from assessments.selectors.history import object_history
from assessments.services.history import save_as
from tests.factories import make_person

pytestmark = pytest.mark.django_db


def test_a_save_that_changed_nothing_visible_is_not_an_empty_row(worker_a):
    person = make_person(actor=worker_a, town="Northby")
    save_as(person, worker_a)  # only updated_at and lock_version move

    assert [(e.action, e.changes) for e in object_history(person)] == [("Created", ())]

    person.town = "Southby"
    save_as(person, worker_a)

    (changed, created) = object_history(person)
    assert (changed.action, created.action) == ("Changed", "Created")
    assert [(c.field, c.old, c.new) for c in changed.changes] == [
        ("Town or city", "Northby", "Southby")
    ]
    assert changed.who == (worker_a.get_full_name() or worker_a.username)

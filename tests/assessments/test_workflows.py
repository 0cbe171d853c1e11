"""The one transition-table helper every workflow uses."""

from __future__ import annotations

import pytest
from django.db import models

from assessments.workflows import IllegalTransition, Workflow


class Light(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    OFF = "off", "Switched off"


LIGHT = Workflow(
    noun="A light",
    status=Light,
    moves={Light.RED: {Light.GREEN, Light.OFF}, Light.GREEN: {Light.RED}, Light.OFF: set()},
)


class Lamp:
    status = Light.RED


def test_a_legal_move_changes_the_status():
    lamp = Lamp()
    LIGHT.move(lamp, Light.GREEN)
    assert lamp.status == "green"


def test_an_illegal_move_names_both_statuses_and_changes_nothing():
    lamp = Lamp()
    lamp.status = Light.OFF
    with pytest.raises(IllegalTransition) as refusal:
        LIGHT.move(lamp, Light.RED)
    assert str(refusal.value) == "A light that is switched off cannot become red."
    assert lamp.status == Light.OFF


def test_a_table_that_forgets_a_status_or_names_an_unknown_one_is_refused_when_made():
    with pytest.raises(ValueError, match="no row for \\['off'\\]"):
        Workflow(noun="A light", status=Light, moves={Light.RED: set(), Light.GREEN: set()})
    with pytest.raises(ValueError, match="unknown statuses \\['blue'\\]"):
        Workflow(
            noun="A light",
            status=Light,
            moves={Light.RED: {"blue"}, Light.GREEN: set(), Light.OFF: set()},
        )

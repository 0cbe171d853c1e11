"""The calibration package is pure, like the engine (HOUSE STYLE §2): it imports nothing from
Django and no app module but `allocations.engine` and the chart set-up every chart shares
(`allocations.charting`, pure too), so a fit needs no database."""

from __future__ import annotations

from pathlib import Path

import allocations.calibration
from tests.allocations.engine.test_no_django import imported_modules

CALIBRATION_DIR = Path(allocations.calibration.__file__).resolve().parent
FORBIDDEN = ("django", "assessments", "panels", "ras_site", "allocations")
ALLOWED = ("allocations.engine", "allocations.calibration", "allocations.charting")
CHARTING = CALIBRATION_DIR.parent / "charting.py"


def forbidden_imports(source: str, filename: str = "<source>") -> set[str]:
    """Django (and django_*), the apps, and any of allocations but its engine and this package."""
    return {
        name
        for name in imported_modules(source, filename)
        if name.startswith(FORBIDDEN)
        and not any(name == ok or name.startswith(f"{ok}.") for ok in ALLOWED)
    }


def test_the_calibration_package_imports_nothing_from_django_or_the_apps():
    found = {
        path.name: sorted(forbidden_imports(path.read_text(), str(path)))
        for path in [*sorted(CALIBRATION_DIR.rglob("*.py")), CHARTING]
    }

    assert "samples.py" in found
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_checker_catches_django_the_apps_and_allocations_models():
    source = """
from decimal import Decimal
from allocations.engine import calculate
from allocations.calibration.samples import SampleCase
import django.db
from assessments.models import ClientGroup
from allocations.models import RasPolicy
from allocations import adapter

def later():
    from panels import services
    import importlib
    importlib.import_module("django_tasks")
"""
    assert forbidden_imports(source) == {
        "django.db",
        "assessments.models",
        "allocations.models",
        "allocations",
        "panels",
        "django_tasks",
    }

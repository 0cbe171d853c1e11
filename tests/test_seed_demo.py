from __future__ import annotations

import pytest
from django.core.management import call_command

from assessments.demo import DEMO_PASSWORD
from assessments.models import ClientGroup, Person, Team, User
from assessments.roles import Role

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_demo_once_and_prints_logins(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert Team.objects.count() == 2
    assert Person.objects.count() == 40
    assert set(Person.objects.values_list("client_group", flat=True)) == set(ClientGroup.values)
    assert {t.people.count() for t in Team.objects.all()} == {20}
    for role in Role:
        assert User.objects.filter(groups__name=role.label).exists(), role
        assert f"{role.label}" in first
    assert "sw.north / personal-budgets-demo" in first
    assert "(40 people added)" in first
    assert "(0 people added)" in second
    assert Person.history.filter(history_type="~").exists()
    assert User.objects.get(username="sw.north").check_password(DEMO_PASSWORD)


def test_seed_demo_builds_a_calibration_sample_of_the_caseload_with_one_run():
    from allocations.demo import CALIBRATION_SAMPLE
    from allocations.models import CalibrationRun, CalibrationSample

    call_command("seed_demo")
    call_command("seed_demo")

    sample = CalibrationSample.objects.get(name=CALIBRATION_SAMPLE)
    assert sample.source == CalibrationSample.Source.CASELOAD
    assert sample.row_count == sample.cases.count() > 0
    run = CalibrationRun.objects.get(sample=sample)
    # Every method is reported, or the report says why the demo's few cases could not be
    # fitted that way.
    reported = {*run.results["methods"], *run.results["unfitted"]}
    if run.results["weights"]:
        reported.add("weights")
    assert reported == {"ratio", "origin", "intercept", "median", "weights"}
    assert "ratio" in run.results["methods"]

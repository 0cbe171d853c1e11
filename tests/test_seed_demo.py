from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db.models import CharField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone

from allocations.models import AgreedBudget
from assessments.demo import DEMO_PASSWORD, DRAFT_QUESTIONNAIRE_CHANGES
from assessments.models import AnswerOption, Assessment, ClientGroup, Person, Team, User
from assessments.roles import Role
from panels.demo import HISTORY_PEOPLE

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_demo_once_and_prints_logins(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert Team.objects.count() == 2
    # The caseload of 40 and the people of the 18 months' history (panels.demo).
    assert Person.objects.count() == 40 + HISTORY_PEOPLE
    assert set(Person.objects.values_list("client_group", flat=True)) == set(ClientGroup.values)
    assert {t.people.count() for t in Team.objects.all()} == {20 + HISTORY_PEOPLE // 2}
    for role in Role:
        assert User.objects.filter(groups__name=role.label).exists(), role
        assert f"{role.label}" in first
    assert "sw.north / personal-budgets-demo" in first
    assert "(40 people added)" in first
    assert "(0 people added)" in second
    assert Person.history.filter(history_type="~").exists()
    # Letters address the demo's people by title (one uses none), some by the name they prefer.
    assert set(Person.objects.values_list("title", flat=True)) >= {
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Mx",
        "",
    }
    assert Person.objects.exclude(preferred_name="").exists()
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


def _month_end(today: datetime.date, months_back: int) -> datetime.datetime:
    """The first moment after the month `months_back` months before today's (its end)."""
    month = today.year * 12 + today.month - 1 - months_back + 1
    first = datetime.date(month // 12, month % 12 + 1, 1)
    return timezone.make_aware(datetime.datetime.combine(first, datetime.time()))


def _take_up(end: datetime.datetime) -> tuple[int, int]:
    """(people receiving support, people with an agreed budget in force) at `end`, as
    REPORTS.md defines them: latest assessment submitted before `end` found eligible; agreed
    before `end` and not ended by then."""
    latest = Assessment.objects.filter(person=OuterRef("pk"), submitted_at__lt=end).order_by(
        "-submitted_at"
    )
    supported = Person.objects.annotate(
        eligible=Subquery(latest.values("eligibility__eligible")[:1])
    ).filter(eligible=True)
    in_force = AgreedBudget.objects.filter(person=OuterRef("pk"), agreed_at__lt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=end)
    )
    return supported.count(), supported.filter(Exists(in_force)).count()


def test_seed_demo_gives_the_reports_months_of_history_every_stage_and_group():
    from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
    from assessments.models import QuestionnaireVersion
    from panels.models import PanelDecision, PanelReferral

    call_command("seed_demo", quiet_logins=True)
    models = [Person, Assessment, IndicativeBudget, SupportPlan, AgreedBudget, PanelReferral]
    counts = [model.objects.count() for model in models]
    call_command("seed_demo", quiet_logins=True)
    assert [model.objects.count() for model in models] == counts  # nothing added again

    today = timezone.localdate()
    agreed = AgreedBudget.objects.all()
    # Budgets were agreed in at least 12 different months, the first over a year ago: the
    # services stamped the dates on the demo's clock.
    months = {(a.year, a.month) for a in agreed.values_list("agreed_at", flat=True)}
    assert len(months) >= 12
    assert agreed.order_by("agreed_at").first().agreed_at.date() < today - datetime.timedelta(
        days=365
    )
    submitted = Assessment.objects.exclude(submitted_at=None).order_by("submitted_at").first()
    assert submitted.submitted_at.date() < today - datetime.timedelta(days=500)
    assert submitted.assessment_date == submitted.submitted_at.date()
    assert submitted.eligibility.decided_at <= submitted.submitted_at
    # Take-up rises: lower on average in the history's first six months than in the last six.
    rates = []
    for back in range(17, -1, -1):
        people, with_budget = _take_up(_month_end(today, back))
        rates.append(with_budget / people if people else 0)
    assert sum(rates[:6]) / 6 < sum(rates[-6:]) / 6

    # Every stage of the pipeline has people in it.
    drafts = Assessment.objects.filter(status=Assessment.Status.DRAFT, eligibility=None)
    assert drafts.filter(informal_support="").exists()  # assessment in progress
    assert drafts.exclude(informal_support="").exists()  # answers done: awaiting eligibility
    budgets = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
    assert budgets.exclude(person__plans__isnull=False).exists()  # indicative budget issued
    for status in ("draft", "awaiting_authorisation", "at_panel", "agreed"):
        assert SupportPlan.objects.filter(status=status).exists(), status

    # Every client group has agreed budgets; equality data is recorded for most, not all.
    current = agreed.filter(status=AgreedBudget.Status.CURRENT)
    groups = set(current.values_list("person__client_group", flat=True))
    assert groups == set(ClientGroup.values)
    assert {"female", "male", ""} <= set(current.values_list("person__sex", flat=True))
    ethnicities = set(current.values_list("person__ethnicity", flat=True))
    assert {"white", ""} <= ethnicities and len(ethnicities) >= 4
    # Every way of managing the money; traditional package costs to compare with.
    assert current.filter(direct_payment_weekly_gbp__gt=0).exists()
    assert current.filter(council_managed_weekly_gbp__gt=0).exists()
    assert current.filter(isf_weekly_gbp__gt=0).exists()
    assert current.filter(person__existing_weekly_cost_gbp__isnull=False).count() >= 10
    # Agreed figures that differ from the indicative one say why.
    different = current.exclude(weekly_gbp=F("indicative_weekly_gbp"))
    assert different.count() >= 5
    assert not different.filter(difference_reason="").exists()
    # The panel decided some referrals (approving and declining) and has some waiting; an
    # agreed budget was replaced at a review, so it ended.
    assert PanelReferral.objects.filter(status="waiting").exists()
    outcomes = set(PanelDecision.objects.values_list("outcome", flat=True))
    assert {"approved_with_conditions", "declined"} <= outcomes
    assert agreed.filter(status=AgreedBudget.Status.ENDED, ended_at__isnull=False).exists()

    # A draft questionnaire: the published one with a few answers weighted differently.
    published = QuestionnaireVersion.objects.get(status="published")
    draft = QuestionnaireVersion.objects.get(status="draft")
    points = {}
    for version in (published, draft):
        points[version.pk] = dict(
            AnswerOption.objects.filter(question__version=version)
            .annotate(key=Concat("question__code", Value(":"), "order", output_field=CharField()))
            .values_list("key", "points")
        )
    assert points[published.pk].keys() == points[draft.pk].keys()
    changed = [k for k in points[draft.pk] if points[draft.pk][k] != points[published.pk][k]]
    assert len(changed) == DRAFT_QUESTIONNAIRE_CHANGES

    # The reports' targets are set (with who and why), and a members' pack has been issued.
    from allocations.models import ReportPack
    from allocations.reports.targets import report_targets

    targets = report_targets()
    assert targets.take_up_target_percent == 30
    assert targets.annual_budget_gbp > 0
    assert targets.history.get().history_user.username == "ras.admin"
    pack = ReportPack.objects.get()
    assert pack.read_pdf().startswith(b"%PDF") and pack.issued_by.username == "senior.manager"


def test_seed_demo_without_the_development_tools_says_what_to_install(monkeypatch):
    from django.core.management import CommandError

    import assessments.management.commands.seed_demo as command

    monkeypatch.setattr(command, "HAS_CLOCK", False)
    with pytest.raises(CommandError, match="make install"):
        call_command("seed_demo")

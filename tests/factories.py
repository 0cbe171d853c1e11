"""Factories for tests. People are made through the same service the pages use."""

from __future__ import annotations

import contextlib
import datetime
import itertools
from decimal import Decimal

from django.contrib.auth.models import Group

from allocations.demo import POLICY_2026
from assessments.models import ClientGroup, Person, Team, User
from assessments.roles import Role
from assessments.services.people import person_create

TEST_PASSWORD = "a-long-test-password-42"
_sequence = itertools.count(1)


def make_team(code: str, name: str | None = None) -> Team:
    team, _ = Team.objects.get_or_create(code=code, defaults={"name": name or f"{code} team"})
    return team


def make_user(username: str, role: Role | None, team: Team | None = None, **extra) -> User:
    user = User(username=username, first_name=username.title(), team=team, **extra)
    user.set_password(TEST_PASSWORD)
    user.save()
    if role is not None:
        user.groups.add(Group.objects.get(name=role.label))
    return user


def person_data(team: Team, **overrides) -> dict:
    n = next(_sequence)
    data = {
        "reference": f"T-{n:05d}",
        "given_name": "Alex",
        "family_name": f"Example{n}",
        "date_of_birth": datetime.date(1950, 3, 14),
        "client_group": ClientGroup.OLDER_PEOPLE,
        "team": team,
        "address_line_1": "1 High Street",
        "address_line_2": "",
        "town": "Northby",
        "postcode": "NB1 1AA",
        "existing_weekly_cost_gbp": Decimal("120.00"),
        "needs_increased": False,
        "sex": "",
        "ethnicity": "",
    }
    data.update(overrides)
    return data


def make_person(*, actor: User, team: Team | None = None, **overrides) -> Person:
    return person_create(actor=actor, data=person_data(team or actor.team, **overrides))


def date_parts(name: str, value: datetime.date | str | None) -> dict[str, str]:
    """A date as the day/month/year boxes post it (ras_site.forms.DayMonthYearWidget):
    <name>_day, <name>_month, <name>_year. A string is "yyyy-mm-dd"; None posts empty boxes."""
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value)
    if value is None:
        return {f"{name}_day": "", f"{name}_month": "", f"{name}_year": ""}
    return {
        f"{name}_day": str(value.day),
        f"{name}_month": str(value.month),
        f"{name}_year": str(value.year),
    }


def form_data(data: dict) -> dict:
    """A person's data as the browser would post it (a date as its three boxes)."""
    posted = {}
    for key, value in data.items():
        if isinstance(value, datetime.date):
            posted.update(date_parts(key, value))
            continue
        if isinstance(value, Team):
            value = value.pk
        elif value is None:
            value = ""
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        posted[key] = str(value)
    return posted


# --- Questionnaires and assessments ----------------------------------------------------------


def questionnaire_data(*, sections: int = 2, questions: int = 2, title: str = "Test SAQ") -> dict:
    """A small valid questionnaire in the export format. Option points are 0, 2 and 5."""
    return {
        "format": "open-ras-questionnaire/1",
        "title": title,
        "notes": "",
        "triggers": [
            {
                "code": "dfg",
                "name": "Disabled Facilities Grant",
                "what_to_consider": "Adapt.",
                "for_the_person": "A grant may pay for changes to your home.",
            }
        ],
        "sections": [
            {
                "code": f"s{s}",
                "title": f"Section {s}",
                "help_text": "",
                "questions": [
                    {
                        "code": f"s{s}_q{q}",
                        "text": f"Question {s}.{q}?",
                        "help_text": "Help.",
                        "options": [
                            {"label": "No help", "points": "0", "triggers": []},
                            {"label": "Some help", "points": "2", "triggers": []},
                            {"label": "Lots of help", "points": "5", "triggers": ["dfg"]},
                        ],
                    }
                    for q in range(1, questions + 1)
                ],
            }
            for s in range(1, sections + 1)
        ],
    }


def questionnaire_publisher() -> User:
    """A senior manager who has touched no questionnaire: publishing needs a second person."""
    user = User.objects.filter(username="questionnaire.publisher").first()
    return user or make_user("questionnaire.publisher", Role.SENIOR_MANAGER)


def make_published_questionnaire(actor, publisher=None, **kwargs):
    """Import a questionnaire as `actor` (a RAS administrator) and publish it as `publisher`
    (by default a senior manager), as four eyes require."""
    from assessments.services.questionnaires import questionnaire_import, questionnaire_publish

    version = questionnaire_import(actor=actor, data=questionnaire_data(**kwargs))
    return questionnaire_publish(actor=publisher or questionnaire_publisher(), version=version)


def answer_everything(assessment, actor, *, option_index: int = 1):
    """Answer every question with the option at `option_index`; returns the fresh draft."""
    from assessments.services.assessments import assessment_save_section

    for section in assessment.questionnaire.sections.all():
        answers = {
            q.pk: (list(q.options.all())[option_index].pk, "")
            for q in section.questions.prefetch_related("options")
        }
        assessment = assessment_save_section(
            actor=actor,
            assessment=assessment,
            section=section,
            answers=answers,
            lock_version=assessment.lock_version,
        )
    return assessment


def complete_assessment(
    assessment,
    actor,
    *,
    eligible: bool = True,
    option_index: int = 1,
    informal_support: str = "none",
    carer_assessed: bool | None = None,
    carer_able_and_willing: bool | None = None,
    carer_impact: str = "",
):
    """Answer everything (with the option at `option_index`), record informal support and
    eligibility: ready to submit."""
    from assessments.services.assessments import assessment_save_informal_support
    from assessments.services.eligibility import eligibility_record

    assessment = answer_everything(assessment, actor, option_index=option_index)
    assessment = assessment_save_informal_support(
        actor=actor,
        assessment=assessment,
        lock_version=assessment.lock_version,
        informal_support=informal_support,
        carer_assessed=carer_assessed,
        carer_able_and_willing=carer_able_and_willing,
        carer_impact=carer_impact,
    )
    eligibility_record(
        actor=actor,
        assessment=assessment,
        lock_version=assessment.lock_version,
        impairment_or_illness=True,
        significant_impact=eligible,
        unable={"nutrition": {"needs_assistance"}, "hygiene": {"endangers"}},
        reasons="Reasons given.",
    )
    assessment.refresh_from_db()
    return assessment


def make_budgeted_person(*, actor: User, **overrides) -> Person:
    """A person of `actor`'s team with a submitted, eligible assessment (8 points) and so a
    current indicative budget under the policy in force (needs a published questionnaire and
    a policy)."""
    from assessments.services.assessments import assessment_start, assessment_submit

    person = make_person(actor=actor, **overrides)
    draft = assessment_start(actor=actor, person=person, supported_by="self")
    ready = complete_assessment(draft, actor)
    assessment_submit(actor=actor, assessment=ready, lock_version=ready.lock_version)
    return person


# --- RAS policies ----------------------------------------------------------------------------

# The worked-example policy of spec/ras-calculation.md, as the demo uses it.
# In force since 1 April 2026 (drafted and approved that day: see make_policy).
SPEC_POLICY = {
    **POLICY_2026,
    "name": "Spec example",
    "notes": "",
    "effective_from": datetime.date(2026, 4, 1),
}


# A new policy version as the browser's form posts it (add "effective_from").
POLICY_FORM = {
    "name": "New rates",
    "notes": "",
    "price_per_point_gbp": "5.10",
    "weeks_per_year": "52",
    "client_group_factors": "learning_disability: 1.10",
    "informal_support_reductions": "none: 0\nsome: 10\nsubstantial: 20\nmost: 30",
    "carer_impact_multipliers": "low: 1\nmoderate: 0.5\nhigh: 0",
    "contingency_bands": "100: 5\n300: 10\nabove: 26",
    "minimum_weekly_gbp": "0",
    "panel_threshold_weekly_gbp": "600",
    "protect_existing_packages": "on",
    "transitional_rule": "existing_package",
    "plan_tolerance_percent": "10",
    "residential_benchmark_annual_gbp": "42000",
}


def make_policy(drafter, approver=None, **overrides):
    """A policy drafted (and, given an approver, approved) through the services. A policy
    cannot take effect before the day it is approved, so one dated in the past is drafted and
    approved on its effective date, as it would have been (time travel, not a bypass)."""
    import time_machine
    from django.utils import timezone

    from allocations.services.policies import policy_approve, policy_create_draft

    data = {**SPEC_POLICY, **overrides}
    effective = data["effective_from"]
    when = None
    if effective < timezone.localdate():
        when = timezone.make_aware(datetime.datetime.combine(effective, datetime.time(9)))
    with time_machine.travel(when, tick=False) if when else contextlib.nullcontext():
        policy = policy_create_draft(actor=drafter, data=data)
        if approver is not None:
            policy = policy_approve(actor=approver, policy=policy)
    return policy


def make_policy_from_today(drafter, approver, price: str = "5.00"):
    """An approved policy at a new price, in force from today: the one re-pricing applies."""
    from django.utils import timezone

    return make_policy(
        drafter,
        approver,
        name=f"£{price}",
        effective_from=timezone.localdate(),
        price_per_point_gbp=Decimal(price),
    )


# --- Support plans ---------------------------------------------------------------------------


def plan_line(*, weekly: str, outcomes=("nutrition", "hygiene"), frequency="week", **extra):
    """Data for one plan line costing `weekly` per `frequency` (quantity 1)."""
    data = {
        "category": "pa_hours",
        "description": "Personal assistant",
        "provider": "",
        "quantity": Decimal("1"),
        "unit": "hour",
        "unit_cost_gbp": Decimal(weekly),
        "frequency": frequency,
        "meets_outcomes": list(outcomes),
    }
    data.update(extra)
    return data


def make_plan(person, worker, *, weekly: str, **settings):
    """A draft plan for a person with a current budget, one line meeting both needs that
    complete_assessment records (nutrition, hygiene)."""
    from allocations.services.plans import plan_line_add, plan_start, plan_update

    plan = plan_start(actor=worker, person=person)
    plan_line_add(actor=worker, plan=plan, data=plan_line(weekly=weekly))
    if settings:
        plan = plan_update(actor=worker, plan=plan, data=settings)
    plan.refresh_from_db()
    return plan

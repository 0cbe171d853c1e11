"""Demo data for `manage.py seed_demo`: two teams, one user per role, 40 people.

Everything is created through the same services the pages use, so the demo has real history
rows. Running it again changes nothing (users and people are looked up by username/reference).
Later capabilities add their stages here, so `make run` shows people at every stage.

The demo is dated: the caseload was assessed over the last ten months, and panels.demo adds
18 months of history. The services stamp their own dates (submitted_at, agreed_at …) while
`demo_clock` sets the clock back; no record's date is rewritten afterwards.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from assessments.models import (
    Assessment,
    CarerImpact,
    ClientGroup,
    Ethnicity,
    InformalSupport,
    Outcome,
    Person,
    QuestionnaireVersion,
    Sex,
    SupportedBy,
    Team,
    Title,
    User,
)
from assessments.notifications import notifications_paused
from assessments.roles import Role, roles_sync
from assessments.selectors.assessments import section_questions
from assessments.services.accounts import user_email_notifications_set
from assessments.services.assessments import (
    assessment_save_informal_support,
    assessment_save_section,
    assessment_start,
    assessment_submit,
)
from assessments.services.eligibility import eligibility_record
from assessments.services.people import person_create, person_update
from assessments.services.questionnaires import (
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
)

DEMO_PASSWORD = "personal-budgets-demo"

TEAMS = [("north", "North Locality Team"), ("south", "South Locality Team")]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: Role
    team_code: str | None = None
    is_staff: bool = False
    # Turned e-mails about waiting work off (accounts/e-mail/), to show the setting.
    emails_off: bool = False


DEMO_USERS = [
    DemoUser("sw.north", "Sarah", "Okafor", Role.SOCIAL_WORKER, "north"),
    DemoUser("sw.south", "Daniel", "Price", Role.SOCIAL_WORKER, "south"),
    DemoUser("tm.north", "Priya", "Sharma", Role.TEAM_MANAGER, "north"),
    DemoUser("tm.south", "Owen", "Parry", Role.TEAM_MANAGER, "south"),
    DemoUser("panel.member", "Gareth", "Hughes", Role.PANEL_MEMBER),
    # A quorum is three without a conflict, so the demo panel has two members and a chair.
    DemoUser("panel.member2", "Fatima", "Begum", Role.PANEL_MEMBER, emails_off=True),
    DemoUser("panel.chair", "Margaret", "Ellis", Role.PANEL_CHAIR),
    DemoUser("ras.admin", "Tom", "Whitfield", Role.RAS_ADMINISTRATOR, is_staff=True),
    DemoUser("senior.manager", "Helen", "Carter", Role.SENIOR_MANAGER),
    DemoUser("auditor", "Imran", "Malik", Role.AUDITOR),
]

_GIVEN = [
    "Edith",
    "Arthur",
    "Joan",
    "Harold",
    "Margaret",
    "Wilfred",
    "Doreen",
    "Stanley",
    "Patricia",
    "Kenneth",
    "Aisha",
    "Tomasz",
    "Grace",
    "Liam",
    "Chloe",
    "Mohammed",
    "Bethany",
    "Ryan",
    "Sophie",
    "Jamal",
    "Hannah",
    "Oliver",
    "Amira",
    "Connor",
    "Leah",
    "Nathan",
    "Priti",
    "Dylan",
    "Megan",
    "Kwame",
    "Eileen",
    "Derek",
    "Sunita",
    "Callum",
    "Rosa",
    "Ifeoma",
    "Frank",
    "Niamh",
    "Gurpreet",
    "Maureen",
]
_FAMILY = [
    "Atkinson",
    "Brennan",
    "Chowdhury",
    "Dawson",
    "Evans",
    "Fletcher",
    "Gill",
    "Hargreaves",
    "Iqbal",
    "Jennings",
    "Khan",
    "Lewandowski",
    "Mensah",
    "Nolan",
    "O'Brien",
    "Patel",
    "Quinn",
    "Robinson",
    "Singh",
    "Thompson",
    "Underwood",
    "Varga",
    "Walsh",
    "Yusuf",
    "Ahmed",
    "Baker",
    "Campbell",
    "Dobson",
    "Ellis",
    "Fraser",
    "Green",
    "Holt",
    "Ibrahim",
    "Jackson",
    "Kowalski",
    "Lloyd",
    "McKenzie",
    "Nwosu",
    "Owusu",
    "Pearson",
]
_STREETS = [
    "Mill Lane",
    "Church Street",
    "Victoria Road",
    "Station Road",
    "Park Avenue",
    "Queen Street",
    "Chapel Walk",
    "Orchard Close",
    "Granby Street",
    "Hollybush Way",
]
_TOWNS = {"north": ("Northby", "NB"), "south": ("Southwold Green", "SG")}

# Age ranges (years) typical of each client group, for believable demo people.
_AGES = {
    ClientGroup.OLDER_PEOPLE: (66, 97),
    ClientGroup.PHYSICAL_DISABILITY: (22, 64),
    ClientGroup.LEARNING_DISABILITY: (18, 58),
    ClientGroup.MENTAL_HEALTH: (20, 70),
    ClientGroup.SENSORY_IMPAIRMENT: (25, 88),
}


# Some of the people prefer a shorter name: their letters begin "Dear Peggy".
_PREFERRED = {"Margaret": "Peggy", "Kenneth": "Ken", "Mohammed": "Mo", "Patricia": "Pat"}
_WOMEN = {
    "Edith", "Joan", "Margaret", "Doreen", "Patricia", "Aisha", "Grace", "Chloe", "Bethany",
    "Sophie", "Hannah", "Amira", "Leah", "Priti", "Megan", "Eileen", "Sunita", "Rosa",
    "Ifeoma", "Niamh", "Maureen",
}  # fmt: skip
_NO_TITLE = {"Gurpreet": "Mx", "Dylan": ""}  # one uses Mx, one no title at all


def demo_addressing(index: int, given_name: str) -> dict[str, str]:
    """How a demo person's letters address them: a title that fits their name (a few are
    doctors, one uses Mx and one no title), and for some the name they prefer."""
    if given_name in _NO_TITLE:
        title = _NO_TITLE[given_name]
    elif index % 11 == 3:
        title = Title.DR
    elif given_name in _WOMEN:
        title = (Title.MRS, Title.MS, Title.MRS, Title.MISS)[index % 4]
    else:
        title = Title.MR
    return {"title": title, "preferred_name": _PREFERRED.get(given_name, "")}


def _postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return (
        f"{area}{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    )


def _teams() -> dict[str, Team]:
    teams = {}
    for code, name in TEAMS:
        teams[code], _ = Team.objects.get_or_create(code=code, defaults={"name": name})
    return teams


def _users(teams: dict[str, Team]) -> dict[str, User]:
    users = {}
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@example.org",
                team=teams[spec.team_code] if spec.team_code else None,
                is_staff=spec.is_staff,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=spec.role.label))
            if spec.emails_off:
                user_email_notifications_set(actor=user, user=user, enabled=False)
        users[spec.username] = user
    return users


def _people(teams: dict[str, Team], users: dict[str, User]) -> int:
    rng = random.Random(2026)  # same people every time
    groups = list(ClientGroup)
    today = datetime.date(2026, 11, 1)
    created = 0
    for index in range(40):
        reference = f"ASC-{100001 + index}"
        team_code = "north" if index % 2 == 0 else "south"
        worker = users["sw.north" if team_code == "north" else "sw.south"]
        group = groups[index % len(groups)]
        low, high = _AGES[group]
        age = rng.randint(low, high)
        born = today - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
        town, area = _TOWNS[team_code]
        has_package = rng.random() < 0.45
        person = Person.objects.filter(reference=reference).first()
        if person is not None:
            continue
        with demo_clock(demo_moment(caseload_day(index) - datetime.timedelta(days=2))):
            person = person_create(
                actor=worker,
                data={
                    "reference": reference,
                    **demo_addressing(index, _GIVEN[index]),
                    "given_name": _GIVEN[index],
                    "family_name": _FAMILY[(index * 7) % len(_FAMILY)],
                    "date_of_birth": born,
                    "client_group": group,
                    "team": teams[team_code],
                    "address_line_1": f"{rng.randint(1, 180)} {rng.choice(_STREETS)}",
                    "town": town,
                    "postcode": _postcode(rng, area),
                    "existing_weekly_cost_gbp": (
                        Decimal(rng.randrange(8000, 62000)) / 100 if has_package else None
                    ),
                    "needs_increased": False,
                    "sex": rng.choice([Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.MALE, ""]),
                    "ethnicity": rng.choice(
                        [Ethnicity.WHITE] * 6
                        + [Ethnicity.ASIAN, Ethnicity.ASIAN, Ethnicity.BLACK, Ethnicity.MIXED, ""]
                    ),
                },
            )
            created += 1
            # A few records have a later change, so the history panel shows a real edit.
            if index % 5 == 0:
                person_update(actor=worker, person=person, data={"needs_increased": True})
    return created


def demo_clock(when: datetime.datetime):
    """Run the services as if it were `when` (the clock ticks on from there), so the demo's
    history carries real record dates (submitted_at, agreed_at …) written by the services
    themselves, under their own rules. Uses time-machine, a development dependency installed
    by `make install`: seed_demo refuses to run without it (DEMO_NEEDS_CLOCK), since the
    services refuse to date things in the past (today's panel meeting, for one)."""
    import time_machine

    return time_machine.travel(when, tick=True)


# The demo's history (panels.demo.seed_history) runs over the last 18 months.
HISTORY_DAYS = 548

HAS_CLOCK = importlib.util.find_spec("time_machine") is not None
DEMO_NEEDS_CLOCK = (
    "seed_demo needs the development tools (time-machine sets the clock back for the demo's "
    "history): install them with `make install` (pip install -e '.[dev]')."
)


def history_start() -> datetime.date:
    """The first day of the demo's history: when the first personal budgets policy took
    effect."""
    return timezone.localdate() - datetime.timedelta(days=HISTORY_DAYS)


def caseload_day(index: int) -> datetime.date:
    """The day the demo caseload's person number `index` was assessed: within the last ten
    months, so the pipeline shows how long people have waited at each stage."""
    return timezone.localdate() - datetime.timedelta(days=14 + (index * 37) % 290)


def demo_moment(day: datetime.date, hour: int = 10) -> datetime.datetime:
    """`day` at `hour` o'clock, local time (a working-day moment for demo_clock)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


DEFAULT_QUESTIONNAIRE = Path(settings.BASE_DIR) / "fixtures" / "default_questionnaire.json"


def _questionnaire(admin: User, publisher: User | None = None) -> QuestionnaireVersion:
    """The default questionnaire, imported once by the RAS administrator and published by
    someone else (four eyes): by default the demo's senior manager."""
    published = QuestionnaireVersion.objects.filter(
        status=QuestionnaireVersion.Status.PUBLISHED
    ).first()
    if published is not None:
        return published
    data = json.loads(DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8"))
    version = questionnaire_import(actor=admin, data=data)
    publisher = publisher or User.objects.get(username="senior.manager")
    return questionnaire_publish(actor=publisher, version=version)


# The next questionnaire, drafted but not published: a copy of the published one with a few
# answers weighted differently (question code, option order → points), so the questionnaire
# impact preview has a proposal to show.
DRAFT_QUESTIONNAIRE_CHANGES = 4


def _draft_questionnaire(admin: User, published: QuestionnaireVersion) -> None:
    if QuestionnaireVersion.objects.filter(status=QuestionnaireVersion.Status.DRAFT).exists():
        return
    data = questionnaire_export(version=published)
    data["notes"] = (
        "Proposed: more weight on the highest levels of need in the first sections, after "
        "the calibration sample."
    )
    changed = 0
    for section in data["sections"]:
        for question in section["questions"][:1]:
            top = question["options"][-1]
            top["points"] = format(Decimal(top["points"]) + 2, "f")
            changed += 1
        if changed == DRAFT_QUESTIONNAIRE_CHANGES:
            break
    questionnaire_import(actor=admin, data=data)


# What stage each demo person has reached, by position in the caseload (cycled): people at
# every stage, from no assessment yet to a reassessment that superseded an earlier one.
_STAGES = [
    "none",
    "submitted",
    "draft",
    "submitted",
    "not_eligible",
    "reassessed",
    "none",
    "submitted",
    "draft_early",
    "submitted",
]


def _answer_all(assessment, worker, rng, *, need: float, sections=None) -> None:
    """Answer every question (or the first `sections` sections) with options drawn around a
    level of need between 0 and 1."""
    steps = list(assessment.questionnaire.sections.all())
    for section in steps[:sections]:
        answers = {}
        for question in section_questions(section=section):
            options = list(question.options.all())
            index = min(len(options) - 1, max(0, round(rng.gauss(need, 0.2) * (len(options) - 1))))
            note = "Confirmed with the person's daughter." if rng.random() < 0.15 else ""
            answers[question.pk] = (options[index].pk, note)
        assessment = assessment_save_section(
            actor=worker,
            assessment=assessment,
            section=section,
            answers=answers,
            lock_version=assessment.lock_version,
        )
    return assessment


def _complete(assessment, worker, rng, *, need: float, eligible: bool = True):
    assessment = _answer_all(assessment, worker, rng, need=need)
    level = rng.choice(list(InformalSupport))
    carer = level != InformalSupport.NONE
    assessment = assessment_save_informal_support(
        actor=worker,
        assessment=assessment,
        lock_version=assessment.lock_version,
        informal_support=level,
        carer_assessed=rng.random() < 0.7 if carer else None,
        carer_able_and_willing=rng.random() < 0.8 if carer else None,
        carer_impact=rng.choice(list(CarerImpact)) if carer else "",
    )
    outcomes = rng.sample(list(Outcome), 4 if eligible else 1)
    eligibility_record(
        actor=worker,
        assessment=assessment,
        lock_version=assessment.lock_version,
        impairment_or_illness=True,
        significant_impact=eligible,
        unable={o.value: {"needs_assistance"} for o in outcomes},
        reasons=(
            "Needs arise from the person's condition; they cannot manage several everyday "
            "outcomes without help, with a significant impact on their wellbeing."
            if eligible
            else "The person manages most outcomes independently; the one they find hard "
            "does not have a significant impact on their wellbeing. Advice given instead."
        ),
    )
    assessment.refresh_from_db()
    return assessment_submit(
        actor=worker, assessment=assessment, lock_version=assessment.lock_version
    )


def _assessments(users: dict[str, User]) -> int:
    rng = random.Random(7)
    started = 0
    people = Person.objects.select_related("team").order_by("reference")
    for index, person in enumerate(people):
        # People alternate between the two teams, so each team gets every stage.
        stage = _STAGES[(index // 2) % len(_STAGES)]
        need = 0.15 + 0.7 * ((index * 37) % 100) / 100
        worker = users["sw.north" if person.team.code == "north" else "sw.south"]
        if stage == "none" or Assessment.objects.filter(person=person).exists():
            continue
        supported_by = rng.choice(list(SupportedBy))
        day = caseload_day(index)
        with demo_clock(demo_moment(day)):
            assessment = assessment_start(actor=worker, person=person, supported_by=supported_by)
            started += 1
            if stage == "draft":
                _answer_all(assessment, worker, rng, need=need, sections=6)
            elif stage == "draft_early":
                _answer_all(assessment, worker, rng, need=need, sections=2)
            elif stage == "not_eligible":
                _complete(assessment, worker, rng, need=0.05, eligible=False)
            else:
                _complete(assessment, worker, rng, need=need)
        if stage == "reassessed":
            with demo_clock(demo_moment(day + datetime.timedelta(days=10))):
                again = assessment_start(actor=worker, person=person, supported_by=supported_by)
                _complete(again, worker, rng, need=min(need + 0.15, 0.95))
    return started


# Apps built on assessments add their stages of the demo here (from AppConfig.ready), so
# seed_demo shows every capability without assessments importing them.
_demo_steps: list = []


def register_demo_step(step) -> None:
    """`step(users)` runs after the people and assessments exist; it must be idempotent."""
    if step not in _demo_steps:
        _demo_steps.append(step)


@transaction.atomic
def seed_demo() -> tuple[dict[str, User], int]:
    """Create whatever part of the demo is missing. Returns the demo users and people created."""
    # Months of demo work written at once: nobody is e-mailed about it.
    with notifications_paused():
        roles_sync()
        teams = _teams()
        users = _users(teams)
        created = _people(teams, users)
        published = _questionnaire(users["ras.admin"], users["senior.manager"])
        _draft_questionnaire(users["ras.admin"], published)
        _assessments(users)
        for step in _demo_steps:
            step(users)
    return users, created


def demo_logins() -> list[str]:
    """One line per demo user: `role: username / password`."""
    lines = []
    for spec in DEMO_USERS:
        team = f" ({dict(TEAMS)[spec.team_code]})" if spec.team_code else ""
        emails = " (e-mails turned off)" if spec.emails_off else ""
        lines.append(f"{spec.role.label}{team}: {spec.username} / {DEMO_PASSWORD}{emails}")
    return lines

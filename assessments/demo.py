"""Demo data for `manage.py seed_demo`: two teams, one user per role, 40 people.

Everything is created through the same services the pages use, so the demo has real history
rows. Running it again changes nothing (users and people are looked up by username/reference).
Later capabilities add their stages here, so `make run` shows people at every stage.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction

from assessments.models import ClientGroup, Ethnicity, Person, Sex, Team, User
from assessments.roles import Role, roles_sync
from assessments.services import person_create, person_update

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


DEMO_USERS = [
    DemoUser("sw.north", "Sarah", "Okafor", Role.SOCIAL_WORKER, "north"),
    DemoUser("sw.south", "Daniel", "Price", Role.SOCIAL_WORKER, "south"),
    DemoUser("tm.north", "Priya", "Sharma", Role.TEAM_MANAGER, "north"),
    DemoUser("panel.member", "Gareth", "Hughes", Role.PANEL_MEMBER),
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
        person = person_create(
            actor=worker,
            data={
                "reference": reference,
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


@transaction.atomic
def seed_demo() -> tuple[dict[str, User], int]:
    """Create whatever part of the demo is missing. Returns the demo users and people created."""
    roles_sync()
    teams = _teams()
    users = _users(teams)
    created = _people(teams, users)
    return users, created


def demo_logins() -> list[str]:
    """One line per demo user: `role: username / password`."""
    lines = []
    for spec in DEMO_USERS:
        team = f" ({dict(TEAMS)[spec.team_code]})" if spec.team_code else ""
        lines.append(f"{spec.role.label}{team}: {spec.username} / {DEMO_PASSWORD}")
    return lines

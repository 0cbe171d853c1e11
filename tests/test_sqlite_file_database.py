"""`make run`'s SQLite file holds up with a handful of users and the background worker.

With no DATABASE_URL the product runs on an SQLite file, beside `manage.py db_worker`. SQLite
lets one connection write at a time. On Django's defaults (a rollback journal, transactions
that start reading and only later ask to write) a request that meets another writer fails at
once with "database is locked" (HTTP 500, the form lost) instead of waiting its turn.

This test uses no test database: it drives real processes on a real file. The worker issues
letter batches while four users, each in a thread of one process (as `runserver` serves
them), save an assessment section, add a plan line and recalculate a budget, round after round.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sqlite-file-test-" + "k" * 40
SEATS, EXTRA_PEOPLE, BATCHES, ROUNDS = 4, 2, 6, 8

# Creates the users, people, assessments and plans the users work on, and queues the worker's
# letter batches (they wait in the queue until the worker starts). Prints one "seat" per user.
SETUP = """
import json, sys
import django
django.setup()
from django.conf import settings
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
from allocations.services.letter_batches import letter_batch_start
from allocations.models import Letter
from allocations.services.plans import plan_start
from assessments.models import Person
from assessments.roles import Role
from assessments.services.assessments import assessment_start, assessment_submit
from tests.factories import (complete_assessment, make_person, make_policy,
    make_published_questionnaire, make_team, make_user)

seats, extra, batches = (int(a) for a in sys.argv[1:4])
admin = make_user("ras.admin", Role.RAS_ADMINISTRATOR, is_staff=True)
make_published_questionnaire(admin)
senior = make_user("senior.manager", Role.SENIOR_MANAGER)
make_policy(admin, senior)

def submitted(worker):
    person = make_person(actor=worker)
    ready = complete_assessment(
        assessment_start(actor=worker, person=person, supported_by="family"), worker)
    assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)
    return person

out = []
for i in range(seats):
    team = make_team(f"t{i}")
    worker = make_user(f"sw{i}", Role.SOCIAL_WORKER, team)
    manager = make_user(f"tm{i}", Role.TEAM_MANAGER, team)
    draft = assessment_start(actor=worker, person=make_person(actor=worker), supported_by="family")
    section = draft.questionnaire.sections.get(order=1)
    person = submitted(worker)
    plan = plan_start(actor=worker, person=person)
    for _ in range(extra):
        submitted(worker)
    out.append({
        "worker": worker.pk, "manager": manager.pk, "assessment": draft.pk,
        "person": person.pk, "plan": plan.pk,
        "questions": [[q.pk, [o.pk for o in q.options.all()]] for q in section.questions.all()],
    })
people = Person.objects.filter(budgets__isnull=False).distinct()
for n in range(batches):  # every team's people: a senior manager's batch (the team rule)
    letter_batch_start(actor=senior, people=people, kind=Letter.Kind.INDICATIVE,
                       description=f"Batch {n}")
print(json.dumps(out))
"""

# Waits until the worker is issuing letters, then runs one thread per user through the pages
# with Django's test Client; when they finish, waits for the worker to empty its queue. Prints
# what every request returned, every exception a request raised, and what the worker did.
DRIVE = """
import json, sys, threading, time
from collections import Counter
import django
django.setup()
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from allocations.models import Letter, LetterBatch
from assessments.models import Assessment, User

seats, rounds = json.loads(sys.argv[1]), int(sys.argv[2])
errors, outcomes, lock = [], Counter(), threading.Lock()

def on_exception(sender, request=None, **kwargs):
    with lock:
        errors.append(f"{getattr(request, 'path', '?')}: {sys.exc_info()[1]!r}"[:300])

got_request_exception.connect(on_exception)

def login(pk):
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(pk=pk))
    return client

clients = [(login(s["worker"]), login(s["manager"])) for s in seats]
deadline = time.monotonic() + 20
while not LetterBatch.objects.filter(status="running").exists():
    assert time.monotonic() < deadline, "the worker never started a letter batch"
    time.sleep(0.05)
letters_before = Letter.objects.count()
connection.close()
start = threading.Barrier(len(seats))

def user(seat, worker, manager):
    step = reverse("assessments:assessment_step", args=[seat["assessment"], 1])
    plan = reverse("allocations:plan_line_add", args=[seat["plan"]])
    recalculate = reverse("allocations:budget_recalculate", args=[seat["person"]])
    start.wait()
    for n in range(rounds):
        try:
            version = Assessment.objects.get(pk=seat["assessment"]).lock_version
            answers = {f"q_{q}": options[n % len(options)] for q, options in seat["questions"]}
            line = {"line-category": "pa_hours",
                    "line-description": f"Visit {n}", "line-quantity": "1", "line-unit": "hour",
                    "line-unit_cost_gbp": "10.00", "line-frequency": "week",
                    "line-meets_outcomes": ["nutrition"]}
            for kind, client, url, data in [
                ("section", worker, step, {"lock_version": version, "action": "exit", **answers}),
                ("plan_line", worker, plan, line),
                ("recalculate", manager, recalculate, {"reason": f"Round {n}"}),
            ]:
                status = client.post(url, data).status_code
                with lock:
                    outcomes[f"{kind} {status}"] += 1
        except Exception as problem:
            with lock:
                outcomes["exception outside a request"] += 1
                errors.append(repr(problem)[:300])
    connection.close()

threads = [threading.Thread(target=user, args=(s, *c)) for s, c in zip(seats, clients)]
began = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
seconds = time.monotonic() - began
letters_during = Letter.objects.count() - letters_before
deadline = time.monotonic() + 25
while DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
    if time.monotonic() > deadline:
        break
    time.sleep(0.2)
tasks = Counter(DBTaskResult.objects.values_list("status", flat=True))
print(json.dumps({"outcomes": outcomes, "errors": errors, "seconds": round(seconds, 1),
                  "letters_during": letters_during, "tasks": tasks}))
"""


def _env(database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in ("DATABASE_URL", "TEST_DATABASE_NAME")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_SETTINGS_MODULE="ras_site.settings",
        DJANGO_ALLOWED_HOSTS="testserver",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        # One process for the PDFs: the worker stores a letter after each one it renders.
        LETTER_PROCESSES="1",
    )
    return env


def _run(args: list[str], env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


def test_users_and_the_worker_write_at_once_without_database_is_locked(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = _env(database)
    (tmp_path / "setup.py").write_text(SETUP)
    (tmp_path / "drive.py").write_text(DRIVE)
    _run(["manage.py", "migrate", "--noinput", "--verbosity", "0"], env, timeout=120)
    seats = _run([str(tmp_path / "setup.py"), str(SEATS), str(EXTRA_PEOPLE), str(BATCHES)], env, 60)

    worker_log = tmp_path / "worker.log"
    started = time.monotonic()
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            report = json.loads(
                _run([str(tmp_path / "drive.py"), seats.strip(), str(ROUNDS)], env, timeout=90)
            )
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    summary = {k: v for k, v in report.items() if k != "errors"}
    print(f"{time.monotonic() - started:.1f} s with the worker: {summary}")

    each = SEATS * ROUNDS
    expected = {"section 302": each, "plan_line 302": each, "recalculate 302": each}
    failed = 3 * each - sum(v for k, v in report["outcomes"].items() if k in expected)
    assert (report["outcomes"], report["errors"]) == (expected, []), (
        f"{failed} of {3 * each} requests failed: {report['outcomes']}; "
        f"first errors: {report['errors'][:5]}"
    )
    # The worker was writing while the users were: letters were stored during their rounds,
    # and every batch finished without a "database is locked" of its own.
    assert report["letters_during"] > 0
    assert report["tasks"] == {"SUCCESSFUL": BATCHES}
    assert "database is locked" not in worker_log.read_text()
    with closing(sqlite3.connect(database)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_only_sqlite_gets_the_sqlite_options(tmp_path):
    """The options go to SQLite only: PostgreSQL's connection settings are left as they were."""
    code = (
        "import json; from ras_site import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    env = _env(tmp_path / "db.sqlite3")
    options = json.loads(_run(["-c", code], env, 60))
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 10
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/ras"
    assert json.loads(_run(["-c", code], env, 60)) == {}


# The reports on `make run`'s file: every section answers (fairness without GROUPING SETS, the
# panel's medians without percentile_cont, take-up and the pipeline counted in Python), the
# dashboard and its workbook open, and the demo's members' pack was issued. Prints the cells of
# the dashboard's take-up and people-by-stage tables as a reader sees them.
REPORTS = """
import json, re
import django
django.setup()
from django.test import Client
from allocations.models import ReportPack
from assessments.models import User

client = Client()
client.force_login(User.objects.get(username="senior.manager"))
pages = {}
for url in ["/reports/", "/reports/export.xlsx", "/reports/table/fairness-client-group.csv",
            "/reports/table/panel-decisions.csv", "/reports/chart/fairness-client-group.svg",
            "/reports/table/take-up-by-month.csv", "/reports/table/pipeline-by-stage.csv",
            "/reports/pipeline/indicative-budget-issued/"]:
    response = client.get(url)
    pages[url] = response.status_code
dashboard = client.get("/reports/").content.decode()

def shown(slug):
    start = dashboard.index(f'id="table-{slug}"')
    following = dashboard.find('id="table-', start + 1)
    block = dashboard[start:following if following > 0 else None]
    body = block.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in block else ""
    return [
        [re.sub(r"<[^>]+>", "", cell).strip()
         for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]

print(json.dumps({"pages": pages, "packs": ReportPack.objects.count(),
                  "whole_service": dashboard.count("Whole service"),
                  "needs_postgresql": "need PostgreSQL" in dashboard,
                  "take_up": shown("take-up-by-month"), "stages": shown("pipeline-by-stage")}))
"""


def test_the_demo_and_its_reports_work_on_the_sqlite_file(tmp_path):
    env = _env(tmp_path / "db.sqlite3")
    (tmp_path / "reports.py").write_text(REPORTS)
    _run(["manage.py", "migrate", "--noinput", "--verbosity", "0"], env, timeout=120)
    _run(["manage.py", "seed_demo", "--quiet-logins"], env, timeout=240)

    report = json.loads(_run([str(tmp_path / "reports.py")], env, timeout=120))

    assert report["pages"] == dict.fromkeys(report["pages"], 200)
    assert report["packs"] == 1
    # The four fairness tables each end with the whole service's row.
    assert report["whole_service"] >= 4
    # Take-up and the pipeline are counted here too: no "need PostgreSQL" note.
    assert not report["needs_postgresql"]
    # Take-up: a row a month (the default period is the twelve months to today), each with its
    # figures — people supported, with an agreed budget, taking a direct payment, as counts and
    # shares; the demo's months of history give people with agreed budgets.
    take_up = report["take_up"]
    assert len(take_up) >= 12
    for month, supported, agreed, _, direct, _, target in take_up:
        assert re.fullmatch(r"\d{4}-\d{2}", month)
        assert int(direct) <= int(agreed) <= int(supported)
        assert target.endswith("%")
    latest = take_up[-1]
    assert int(latest[1]) > 0 and int(latest[2]) > 0
    assert latest[3].endswith("%") and latest[5].endswith("%")
    # The pipeline: every stage, in order, with its people counted, and how long the oldest
    # has waited. The demo has someone in each stage but awaiting eligibility (which only
    # imported records reach: a submitted assessment carries its eligibility decision).
    stages = {row[0]: row[1:] for row in report["stages"]}
    assert list(stages) == [
        "Assessment in progress",
        "Awaiting eligibility",
        "Indicative budget issued",
        "Plan in progress",
        "Awaiting authorisation",
        "At panel",
        "Agreed",
    ]
    assert stages.pop("Awaiting eligibility")[0] == "0"
    for stage, (people, since, days) in stages.items():
        assert int(people) > 0 and re.fullmatch(r"\d+ \w{3} \d{4}", since), (stage, since)
        assert int(days) >= 0
    print(report["take_up"], report["stages"])

"""allocations.adapter is the one place models become the engine's Case and Policy (STYLE.md §2):
the Case a submitted assessment gives equals the Case re-pricing builds from its row, by SQL
and by the portable path, so the copies cannot drift. And no job body imports the task module
back (allocations.tasks gathers the jobs; nothing in allocations imports it)."""

from __future__ import annotations

import ast
import dataclasses
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from allocations.adapter import case_for_assessment, engine_policy, policy_fields
from allocations.demo import POLICY_2026
from allocations.engine import calculate
from allocations.engine.examples import SPEC_POLICY
from allocations.models import RasPolicy
from allocations.selectors import repricing
from assessments.services.assessments import assessment_start, assessment_submit
from tests.factories import complete_assessment, make_person, make_policy_from_today

ALLOCATIONS = Path(__file__).resolve().parents[2] / "allocations"
TASKS = "allocations.tasks"
# Code that runs tasks and may import the task module: the worker (`manage.py db_worker`,
# which finds each job by its path, and imports the module to know which jobs to recover).
TASK_RUNNERS: frozenset[str] = frozenset({"allocations/management/commands/db_worker.py"})


def _rich_assessment(worker):
    """Learning disability, an existing package, needs increased, substantial informal support
    from an assessed carer, and every answer worth 5 points with the same trigger (so the
    answers give the trigger four times; the budget records it once)."""
    person = make_person(
        actor=worker,
        client_group="learning_disability",
        existing_weekly_cost_gbp=Decimal("310.50"),
        needs_increased=True,
    )
    draft = assessment_start(actor=worker, person=person, supported_by="self")
    draft = complete_assessment(
        draft,
        worker,
        option_index=2,
        informal_support="substantial",
        carer_assessed=True,
        carer_able_and_willing=False,
        carer_impact="high",
    )
    return assessment_submit(actor=worker, assessment=draft, lock_version=draft.lock_version)


@pytest.mark.django_db
def test_the_assessment_case_is_the_case_repricing_builds_from_the_row(
    submitted_a, worker_a, ras_admin, senior_manager, monkeypatch
):
    rich = _rich_assessment(worker_a)
    new = make_policy_from_today(ras_admin, senior_manager)
    by_sql = {row.assessment_id: row for row in repricing.repricing_rows(new)}
    # The portable path (SQLite) reads the same rows through the ORM.
    monkeypatch.setattr(repricing, "connection", SimpleNamespace(vendor="sqlite"))
    portable = {row.assessment_id: row for row in repricing.repricing_rows(new)}
    assert portable == by_sql

    rules = engine_policy(new)
    for assessment in (submitted_a, rich):
        case = case_for_assessment(assessment)
        row = by_sql[assessment.pk]
        # Re-pricing sums the points in SQL and reads the triggers the current budget recorded
        # (the engine keeps each once, sorted); everything else is the same fact, mapped once.
        assert row.case == dataclasses.replace(
            case, points=(sum(case.points),), triggers=tuple(sorted(set(case.triggers)))
        )
        assert row.result == calculate(rules, case)
    rich_case = by_sql[rich.pk].case
    assert (rich_case.informal_support, rich_case.carer_impact) == ("substantial", "high")
    assert (rich_case.carer_assessed, rich_case.carer_able_and_willing) == (True, False)
    assert rich_case.existing_weekly_cost == Decimal("310.50")
    assert rich_case.needs_increased and rich_case.triggers == ("dfg",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ALLOCATIONS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module a file imports, at the top or inside a function (`from a import b` counts
    as a.b too, in case b is a module), plus import_module/import_string("…") calls."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in {"import_module", "import_string", "__import__"} and isinstance(
                first, ast.Constant
            ):
                names.add(str(first.value))
    return names


def _imports_tasks(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = _imported_names(tree, _module_name(path), path.name == "__init__.py")
    return any(name == TASKS or name.startswith(TASKS + ".") for name in names)


def test_nothing_in_allocations_imports_the_task_module():
    files = sorted(ALLOCATIONS.rglob("*.py"))
    assert len(files) > 20
    offenders = [
        str(path.relative_to(ALLOCATIONS.parent))
        for path in files
        if str(path.relative_to(ALLOCATIONS.parent)) not in TASK_RUNNERS and _imports_tasks(path)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    from allocations.tasks import apply_repricing\n",
        "def f():\n    import allocations.tasks\n",
        "from allocations import tasks\n",
        "from . import tasks\n",
        "from .tasks import issue_letter_batch\n",
        "import importlib\nimportlib.import_module('allocations.tasks')\n",
    ],
)
def test_the_import_check_sees_every_way_of_importing_tasks(source):
    assert TASKS in _imported_names(ast.parse(source), "allocations.costing", False)


def test_policy_fields_is_engine_policys_inverse_so_the_demo_policy_is_the_specs():
    assert engine_policy(RasPolicy(**policy_fields(SPEC_POLICY))) == SPEC_POLICY
    demo = {k: v for k, v in POLICY_2026.items() if k in policy_fields(SPEC_POLICY)}
    assert engine_policy(RasPolicy(**demo)) == SPEC_POLICY

"""HOUSE STYLE §2b: dependencies run panels → allocations → assessments. Nothing in a lower app
names a higher one: not a hard import, not an import inside a function, not an
`import_module` / `import_string` / `__import__` string, and not a string that looks like a
higher app's permission or model ("allocations.add_letter", "panels.PanelReferral").
Template names ("allocations/plan.html") and URL names ("allocations:policy_detail") are
not dependencies; migrations are left out (they name other apps' labels by design)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each app, with the apps above it that it must never name.
HIGHER = {
    "assessments": ("allocations", "panels"),
    "allocations": ("panels",),
}
DYNAMIC_IMPORTS = {"import_module", "import_string", "__import__"}


def _is_higher_module(name: str, higher: tuple[str, ...]) -> bool:
    return name.split(".", 1)[0] in higher


def violations(source: str, higher: tuple[str, ...], filename: str = "<source>") -> list:
    """(line, what) for every reference in `source` to one of the `higher` apps."""
    # "allocations.add_letter", "panels.PanelReferral": app label, a dot, one identifier.
    dotted = re.compile(rf"^({'|'.join(map(re.escape, higher))})\.\w+$")
    # An f-string that starts with a higher app's label and a dot: f"allocations.{action}_plan".
    prefix = re.compile(rf"^({'|'.join(map(re.escape, higher))})\.\w*$")
    found: list[tuple[int, str]] = []
    # String nodes already reported as part of an f-string or a dynamic import.
    seen: set[int] = set()
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            seen.update(id(value) for value in node.values)
            if isinstance(first, ast.Constant) and prefix.match(str(first.value)):
                found.append((node.lineno, f"f-string {first.value!r}…"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_higher_module(alias.name, higher):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _is_higher_module(node.module, higher):
                found.append((node.lineno, f"from {node.module} import …"))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                called in DYNAMIC_IMPORTS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_higher_module(first.value, higher)
            ):
                seen.add(id(first))
                found.append((node.lineno, f"{called}({first.value!r})"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in seen
            and dotted.match(node.value)
        ):
            found.append((node.lineno, f"string {node.value!r}"))
    return sorted(set(found))


def app_files(app: str) -> list[Path]:
    return sorted(
        path
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def test_lower_apps_never_name_a_higher_app():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for app, higher in HIGHER.items()
        for path in app_files(app)
        for line, what in violations(path.read_text(), higher, str(path))
    ]

    assert found == []


def test_the_walk_sees_each_apps_modules_but_not_migrations():
    assessments = {str(p.relative_to(ROOT)) for p in app_files("assessments")}
    allocations = {str(p.relative_to(ROOT)) for p in app_files("allocations")}

    assert {"assessments/roles.py", "assessments/selectors/people.py"} <= assessments
    assert {"allocations/permissions.py", "allocations/engine/calculate.py"} <= allocations
    assert not any("migrations" in name for name in assessments | allocations)


def test_the_walker_catches_each_form():
    source = """
import panels
import allocations.models as am
from allocations.permissions import LETTER_ISSUE
from panels import services

def later(user):
    from panels.selectors import panel_people_visible
    import importlib
    from django.utils.module_loading import import_string
    importlib.import_module("allocations.services.plans")
    import_string("panels.services.panel_decide")
    __import__("allocations")
    user.has_perm(f"allocations.{action}_supportplan")
    apps.get_model("panels.PanelReferral")
    return user.has_perm("allocations.add_letter")
"""
    assert [what for _, what in violations(source, ("allocations", "panels"))] == [
        "import panels",
        "import allocations.models",
        "from allocations.permissions import …",
        "from panels import …",
        "from panels.selectors import …",
        "import_module('allocations.services.plans')",
        "import_string('panels.services.panel_decide')",
        "__import__('allocations')",
        "f-string 'allocations.'…",
        "string 'panels.PanelReferral'",
        "string 'allocations.add_letter'",
    ]


def test_the_walker_names_the_line():
    source = 'x = 1\n\n\ndef f(user):\n    return user.has_perm("panels.add_paneldecision")\n'

    assert violations(source, ("panels",)) == [(5, "string 'panels.add_paneldecision'")]


def test_the_walker_allows_what_is_not_a_dependency():
    source = """
from assessments.roles import PEOPLE_ALL_TEAMS
from allocations.permissions import PLAN_VIEW
from .models import Letter
template_name = "panels/meeting.html"
url = reverse("panels:meeting_detail")
own = "allocations.add_letter"
prose = "Decided by the panel. See panels.services for the rules."
"""
    # Seen from allocations: its own permissions and assessments are fine; panels' templates,
    # URL names and prose are not dependencies.
    assert violations(source, ("panels",)) == []

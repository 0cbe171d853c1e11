"""HOUSE STYLE §2: the RAS engine is plain Python. Nothing in allocations/engine/ may import Django,
directly, through a dynamic import, or through a django_* package."""

from __future__ import annotations

import ast
from pathlib import Path

import allocations.engine

ENGINE_DIR = Path(allocations.engine.__file__).resolve().parent


def imported_modules(source: str, filename: str = "<source>") -> set[str]:
    """Every module name the source imports: `import x`, `from x import y`, and
    `importlib.import_module("x")` / `__import__("x")` with a literal name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if called in {"import_module", "__import__"} and literal:
                names.add(first.value)
    return names


def django_imports(source: str, filename: str = "<source>") -> set[str]:
    """Django itself and the django_* packages built on it (django_tasks, django_csp, ...)."""
    return {name for name in imported_modules(source, filename) if name.startswith("django")}


def engine_files() -> list[Path]:
    return sorted(ENGINE_DIR.rglob("*.py"))


def test_the_engine_imports_nothing_from_django():
    found = {
        str(path.relative_to(ENGINE_DIR)): sorted(django_imports(path.read_text(), str(path)))
        for path in engine_files()
    }

    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_walk_sees_every_engine_module():
    names = {path.name for path in engine_files()}
    assert {"__init__.py", "types.py", "calculate.py", "serialise.py"} <= names
    # And it does read their imports: the engine is built on decimal.
    calculate_imports = imported_modules((ENGINE_DIR / "calculate.py").read_text())
    assert "decimal" in calculate_imports
    assert "allocations.engine.types" in calculate_imports


def test_the_checker_catches_django_imports():
    source = """
import decimal
import django
from django.db import models
import django.utils.timezone as tz
from django_tasks import task

def later():
    from django.conf import settings
    import importlib
    importlib.import_module("django.core.management")
    return __import__("django.apps")
"""
    assert django_imports(source) == {
        "django",
        "django.db",
        "django.utils.timezone",
        "django_tasks",
        "django.conf",
        "django.core.management",
        "django.apps",
    }


def test_the_checker_passes_plain_python():
    source = (
        "from __future__ import annotations\nfrom decimal import Decimal\nfrom . import types\n"
    )

    assert django_imports(source) == set()
    assert imported_modules(source) == {"__future__", "decimal"}

"""The README's Architecture section stays true: every file or folder it names exists, and
every function, class or constant it names after a module is defined in that module."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ARCHITECTURE = README[README.index("## Architecture") : README.index("## Deploying")]

# `allocations/services/plans.py`, `allocations/letters/`, `templates/...` (not the STYLE link)
PATHS = sorted(
    {
        path
        for path in re.findall(r"`([a-z_]+(?:/[A-Za-z0-9_.<>-]*)+)`", ARCHITECTURE)
        if "<" not in path and not path.startswith("../")
    }
)
# "`allocations/services/plans.py` `plan_submit`" and "…plans.py`: `plan_agree_by_panel`"
NAMED = re.findall(r"`([a-z_/]+\.py)`:? `([A-Za-z_]+)`", ARCHITECTURE)


def _exists(path: str) -> bool:
    if path.endswith(".html"):  # a template name: in an app's templates/ or the site's
        return any(ROOT.glob(f"*/templates/{path}")) or (ROOT / "templates" / path).exists()
    return (ROOT / path).exists()


def test_every_path_the_architecture_names_exists():
    # Paths from the top of the repository ("services/" alone names a room, not a path).
    named = [path for path in PATHS if (ROOT / path.split("/")[0]).is_dir()]
    assert len(named) >= 10
    assert [path for path in named if not _exists(path)] == []


def test_every_name_given_with_its_module_is_defined_there():
    assert len(NAMED) >= 5
    source = {path: (ROOT / path).read_text() for path, _ in NAMED}
    undefined = [
        (path, name)
        for path, name in NAMED
        if not re.search(rf"^(?:def|class) {name}\b|^{name}\b\s*[:=]", source[path], re.M)
    ]
    assert undefined == []


def test_every_door_the_architecture_lists_is_a_selector():
    doors = set(re.findall(r"`(\w+_get_for_user)`", ARCHITECTURE))
    assert len(doors) >= 8
    defined = {
        name
        for path in ROOT.glob("*/selectors*/**/*.py")
        for name in re.findall(r"^def (\w+_get_for_user)\b", path.read_text(), re.M)
    } | {
        name
        for path in ROOT.glob("*/selectors.py")
        for name in re.findall(r"^def (\w+_get_for_user)\b", path.read_text(), re.M)
    }
    assert doors - defined == set()

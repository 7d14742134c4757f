"""The suite's own layout: no test module imports another, and the e2e mark is registered.

Shared helpers live in `tests/helpers/` (and `tests/harness.py`, `tests/fakes/`): importing a
test module from another one runs its module code twice under two names and ties the two files
together, so one cannot be moved, run alone or deleted without breaking the other. Ruff has no
rule that bans a pattern of modules (TID251 takes exact names), hence this small check.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.fakes.process import BotProcess, Launcher

TESTS = Path(__file__).resolve().parent

# The "until it is wired in" scaffolding of the case-admin feature, which the layer move
# (issue 12, part A) deletes together with this import.
ALLOWED = {("test_e2e_cases.py", "tests.test_case_admin")}


def imported_test_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            names = [module] if node.module else [f".{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            last = name.lstrip(".").split(".")[-1]
            if last.startswith("test_") or name.startswith(("tests.test_", ".test_")):
                found.add(name)
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {
        (path.relative_to(TESTS).as_posix(), module)
        for path in TESTS.rglob("*.py")
        for module in imported_test_modules(path)
    }
    assert offenders <= ALLOWED, sorted(offenders - ALLOWED)


def test_the_check_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from tests.test_survey import setup_sale\n"
        "from .test_sale import SaleBot\n"
        "from . import test_find\n"
        "import tests.test_cadence\n"
        "def f():\n"
        "    from tests.test_replay import Crash\n"
        "from tests.helpers.survey import setup_sale\n"
        "from tests.harness import Harness\n",
        encoding="utf-8",
    )
    assert imported_test_modules(sample) == {
        "tests.test_survey",
        ".test_sale",
        ".test_find",
        "tests.test_cadence",
        "tests.test_replay",
    }


def test_the_e2e_mark_is_registered() -> None:
    """`pytest -m "not e2e"` is the fast lane; --strict-markers refuses an unregistered mark."""
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    options = config["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in options["addopts"]
    assert any(marker.startswith("e2e:") for marker in options["markers"])


async def test_a_test_without_the_e2e_mark_cannot_start_the_bot(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"mark it @pytest.mark.e2e"):
        await BotProcess(tmp_path, {}).start()
    with pytest.raises(AssertionError, match=r"mark it @pytest.mark.e2e"):
        await Launcher().bot(tmp_path, {}).start()

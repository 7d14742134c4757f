"""The layer contract of issue 12, checked: import-linter's contract in pyproject.toml (bot -> api
-> handlers -> scheduler -> views -> storage -> domain, nothing upwards), every module importable on
its own, the FSM state names pinned (they are stored data, so a move must not change them), and
every root package shipped by the Dockerfile and by `packages.find`.

One decision: "imports on its own" runs every module in ONE fresh interpreter, dropping our own
modules from `sys.modules` before each; aiogram & co. stay loaded. That reproduces "import X
first" failures (an import cycle) without a hundred interpreter start-ups."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from aiogram.fsm.state import State, StatesGroup

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("domain", "storage", "views", "scheduler", "crm", "handlers", "api", "bot")
PACKAGES = tuple(p for p in LAYERS if (ROOT / p / "__init__.py").is_file())


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_layers_contract() -> None:
    r = _run("import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())")
    assert r.returncode == 0, r.stdout + r.stderr


_EACH = """
import importlib, json, pkgutil, sys
P = %r
# First what the bot itself imports at start: matplotlib and openpyxl must not come.
for start in ("bot.__main__", "bot.app", "bot.routers", "scheduler.jobs"):
    importlib.import_module(start)
heavy = sorted(m for m in ("matplotlib", "openpyxl") if m in sys.modules)
names = sorted({n for top in P for n in [top, *(m.name for m in pkgutil.walk_packages(
    importlib.import_module(top).__path__, top + "."))]})
bad = {}
for name in names:
    for m in [m for m in sys.modules if m.split(".")[0] in P]:
        del sys.modules[m]
    try:
        importlib.import_module(name)
    except Exception as exc:
        bad[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"n": len(names), "bad": bad, "heavy": heavy}))
"""


def test_every_module_imports_on_its_own() -> None:
    r = _run(_EACH % (PACKAGES,))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] > 100
    assert out["bad"] == {}
    # matplotlib and openpyxl load with the first chart, export, template or XLSX import (about
    # 45 MiB and a second of start-up); the bot's start-up imports neither.
    assert out["heavy"] == []


# Every FSM state as stored in the fsm table: "Group:name". Moving the module cannot change them
# (no module path in a state name); renaming a group or a state would strand stored conversations.
STATES = {
    "Sale:kind",
    "Sale:name",
    "Sale:organization",
    "Sale:phone",
    "Sale:birthday",
    "Sale:product",
    "Sale:deal_date",
    "Sale:confirm",
    "SurveyFlow:score",
    "SurveyFlow:reason",
    "SurveyFlow:consent",
    "SurveyFlow:phone",
    "TaskFlow:start_date",
    "TaskFlow:note",
    "ContactFlow:comment",
    "ContactFlow:birthday",
    "CaseFlow:note",
    "CaseFlow:resolution",
    "ReferralFlow:name",
    "ReferralFlow:phone",
    "SettingsFlow:value",
    "HooksFlow:url",
    "CrmFlow:bitrix_url",
    "CrmFlow:amo_account",
    "CrmFlow:amo_token",
}


def test_fsm_state_names_are_pinned() -> None:
    from handlers import states

    groups = [
        g
        for g in vars(states).values()
        if isinstance(g, type) and issubclass(g, StatesGroup) and g is not StatesGroup
    ]
    found = {s.state for g in groups for s in vars(g).values() if isinstance(s, State)}
    assert found == STATES


def test_every_package_is_shipped() -> None:
    """A package missing from the image or from the wheel breaks only in production."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) /src/\1$", dockerfile, re.M))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    roots = pyproject["tool"]["importlinter"]["root_packages"]
    assert copied == set(PACKAGES)
    assert found == set(PACKAGES)
    assert set(roots) == set(PACKAGES)


def test_the_contract_catches_an_upward_and_an_impure_import(tmp_path: Path) -> None:
    """The same contract, on a scratch tree where domain imports storage and sqlite3: refused."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "storage" / "fsm.py").write_text("import aiogram\n")
    (tmp_path / "domain" / "rules.py").write_text("import sqlite3\n\nimport storage\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=300,
    )
    assert r.returncode != 0
    assert "domain.rules -> storage" in r.stdout
    assert "domain.rules -> sqlite3" in r.stdout

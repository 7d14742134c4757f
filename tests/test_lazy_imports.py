"""The bot starts without matplotlib and openpyxl: they load with the first chart, export, template
or XLSX import. Checked in a fresh interpreter, since this test process has them loaded already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_starting_the_bot_loads_neither_matplotlib_nor_openpyxl() -> None:
    code = (
        "import json, sys\n"
        "import bot.__main__, bot.app, handlers, scheduler.jobs\n"
        "print(json.dumps(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_the_copied_illegal_characters_pattern_is_openpyxls() -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from views.exports import ILLEGAL_CHARACTERS_RE as ours

    assert ours.pattern == ILLEGAL_CHARACTERS_RE.pattern

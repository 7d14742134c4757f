# Shared by scripts/run and scripts/test: find Python 3.11+, create .venv and install the project
# into it. Silent unless something fails (then the pip log is shown), so that `scripts/run`
# prints nothing but the bot's own messages. Re-installs only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRA="${1:-}"

pick_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 or newer is required (tried python3.11 … python3)." >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(pick_python)"
    "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.installed${EXTRA:+-$EXTRA}"
WANT="$(cat "$ROOT/pyproject.toml" | cksum)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    LOG="$VENV/install.log"
    TARGET="$ROOT"
    [ -n "$EXTRA" ] && TARGET="$ROOT[$EXTRA]"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$TARGET" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "Installing dependencies failed; the log above is also in $LOG" >&2
        exit 1
    fi
    echo "$WANT" >"$STAMP"
fi

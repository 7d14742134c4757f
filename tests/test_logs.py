"""Log lines as the running bot writes them: one line per event, `time level module [context]
message`, never the token or a phone number, and the update or outbox id of what it is about."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.logs import RedactingFilter, build_handler, redact_phones
from scheduler.jobs import tick
from storage import Database
from storage.outbox import enqueue
from tests.conftest import OWNER_ID
from tests.harness import BOT_USERNAME, TOKEN, Harness, replies

LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<module>[\w.]+) "
    r"\[(?P<context>[^\]]+)\] (?P<message>.*)$"
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The production handler (format, redaction, context) on the root logger, into a string."""
    stream = io.StringIO()
    handler = build_handler([TOKEN], stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[re.Match[str]]:
    out = stream.getvalue().splitlines()
    matches = [LINE_RE.match(line) for line in out]
    assert all(matches), out
    return [m for m in matches if m]


def test_token_is_redacted_from_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
        try:
            raise ConnectionError(f"cannot reach /bot{TOKEN}/sendMessage")
        except ConnectionError:
            logger.exception("send failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out
    assert out.count("<redacted>") == 2
    assert "ConnectionError" in out


def test_a_line_has_time_level_module_and_context(captured: io.StringIO) -> None:
    logging.getLogger("bot.sample").warning("disk %s is %d%% full", "/data", 91)
    (line,) = lines(captured)
    assert line["level"] == "WARNING" and line["module"] == "bot.sample"
    assert line["context"] == "-"
    assert line["message"] == "disk /data is 91% full"


def test_phones_are_masked_in_messages_and_args(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.sample")
    log.info("contact +7 912 345-67-89 saved for update 123456789")
    log.info("phone %s of user %d, chat %d", "89123456789", 7123456789, -1001234567890)
    log.info("call %s at 2026-11-20 07:00:00+03:00", "8 (912) 345-67-89")
    log.info("Norway %s", "+47 912 34 567")
    messages = [line["message"] for line in lines(captured)]
    assert messages == [
        "contact <phone ..89> saved for update 123456789",
        "phone <phone ..89> of user 7123456789, chat -1001234567890",
        "call <phone ..89> at 2026-11-20 07:00:00+03:00",
        "Norway <phone ..67>",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+79123456789", "<phone ..89>"),
        ("79123456789", "<phone ..89>"),
        ("912 345-67-89", "<phone ..89>"),
        ("8-912-345-67-89.", "<phone ..89>."),
        # ids and dates are digits too, and stay
        ("update 987654321", "update 987654321"),
        ("user 8123456789", "user 8123456789"),
        ("planned 1500 contacts for 2026-11-20: 37 new", None),
        ("12.11.2026 09:00", None),
        ("retry at 2026-11-20 07:01:00+00:00", None),
        ("outbox 12: chat 5123456789 unreachable", None),
    ],
)
def test_phone_rule(text: str, expected: str | None) -> None:
    assert redact_phones(text) == (text if expected is None else expected)


def test_a_traceback_stays_on_one_line(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.sample")
    try:
        raise ValueError("bad phone +7 912 345-67-89\nsecond line")
    except ValueError:
        log.exception("import of row %d failed", 3)
    out = captured.getvalue()
    assert out.count("\n") == 1  # the line's own end
    (line,) = lines(captured)
    assert line["level"] == "ERROR"
    message = line["message"]
    assert message.startswith("import of row 3 failed | Traceback (most recent call last): | ")
    assert "ValueError: bad phone <phone ..89> | second line" in message
    assert "912 345" not in out


async def test_handler_lines_carry_the_update_id(harness: Harness, captured: io.StringIO) -> None:
    sent = await harness.send(harness.user(OWNER_ID, "Ольга"), "/invite")
    link = re.search(rf"t\.me/{BOT_USERNAME}\?start=(i_[A-Za-z0-9_-]+)", replies(sent)[0])
    assert link
    await harness.send(harness.user(222, "Пётр"), f"/start {link.group(1)}")
    (line,) = [m for m in lines(captured) if "registered through an invite" in m["message"]]
    assert line["module"] == "handlers.start"
    assert line["context"] == f"update {harness.last_update_id}"
    assert line["message"] == f"manager 222 registered through an invite of {OWNER_ID}"
    # after the update, lines are about nothing in particular again
    logging.getLogger("bot.sample").info("idle")
    assert lines(captured)[-1]["context"] == "-"


async def test_failure_lines_carry_the_update_id(harness: Harness, captured: io.StringIO) -> None:
    """aiogram's errors middleware runs before any middleware of ours: the error handler's line
    (and aiogram's own "Update id=... is handled") must still say which update it is about."""
    harness.session.fail_next("SendMessage", error_code=400, description="Bad Request: odd")
    sent = await harness.send(harness.user(777, "Гость"), "/help")
    update = f"update {harness.last_update_id}"
    (failed,) = [m for m in lines(captured) if m["message"].startswith(f"{update} failed")]
    assert (failed["level"], failed["module"], failed["context"]) == ("ERROR", "bot.app", update)
    assert "TelegramBadRequest" in failed["message"]
    (done,) = [m for m in lines(captured) if "is handled" in m["message"]]
    assert done["context"] == update
    assert "что-то пошло не так" in replies(sent)[-1]  # and the person was told


async def test_scheduler_and_sender_lines_carry_the_tick_and_outbox_id(
    harness: Harness, captured: io.StringIO, db: Database
) -> None:
    await tick(harness.dp["followup"])
    (planned,) = [m for m in lines(captured) if m["message"].startswith("daily planning ")]
    assert (planned["module"], planned["context"]) == ("scheduler.followup", "tick")

    async with db.transaction() as conn:
        row_id = await enqueue(
            conn, chat_id=555, purpose="test", payload={"text": "привет"}, now=harness.clock()
        )
    harness.session.fail_next("SendMessage", error_code=403, description="Forbidden: blocked")
    await harness.drain()
    (refused,) = [m for m in lines(captured) if "unreachable" in m["message"]]
    assert (refused["module"], refused["context"]) == ("scheduler.sender", f"outbox {row_id}")
    assert refused["level"] == "WARNING"

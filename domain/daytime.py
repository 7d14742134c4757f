"""When the bot may write first to a respondent: only in daytime (`RESPONDENT_HOURS`, in
`TIMEZONE`), every day of the week. Staff messages (plans, alerts, reminders) are not bound by it.

The one decision: a message that falls due at night is not dropped but moved to the next start of
the window, so "a nudge due at 23:40" goes at 10:00 the next morning.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from domain.settings import Cadence


def respondent_moment(now: datetime, cadence: Cadence, tz: tzinfo) -> datetime:
    """The first moment at or after `now` at which the bot may write first to a respondent."""
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), cadence.respondent_start, tz)
    if local < start:
        return start
    if local.time() < cadence.respondent_end:
        return now
    return datetime.combine(local.date() + timedelta(days=1), cadence.respondent_start, tz)


def in_respondent_hours(now: datetime, cadence: Cadence, tz: tzinfo) -> bool:
    return respondent_moment(now, cadence, tz) == now

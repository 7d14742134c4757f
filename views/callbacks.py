"""All `CallbackData` factories (at most 64 bytes each: ids, never names).

Every handler re-checks on the server that the person may press the button: callback data can be
forged by any client, so it only says what was pressed, never that it is allowed.

Every field is bounded here, so a forged button fails to parse and falls through to the polite
fallback ("this button no longer works") instead of reaching SQLite: ids are positive and fit its
signed 64-bit integer (a bigger one raised OverflowError inside the driver), pages are small
non-negative numbers, and enum-like strings are `Literal`s or enums (packed as their values).
Prefixes and field order are stored data (buttons already in chats and outbox rows hold them):
never rename or reorder them (tests/test_callback_bounds.py pins them).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import AfterValidator, Field

from domain.outcomes import Action

SQLITE_MAX_INT = 2**63 - 1
MAX_PAGE = 100_000  # far beyond any list we show; page * page size stays a small number

RowId = Annotated[int, Field(ge=1, le=SQLITE_MAX_INT)]
"""A row id of ours or a Telegram user id: positive, and within SQLite's INTEGER."""
ManagerFilter = Annotated[int, Field(ge=0, le=SQLITE_MAX_INT)]  # 0: all managers
Anchor = Annotated[int, Field(ge=0, le=SQLITE_MAX_INT)]  # a survey id a page starts from; 0: none
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]
ScoreValue = Annotated[int, Field(ge=0, le=10)]
Weekday = Annotated[int, Field(ge=0, le=6)]  # Monday = 0
PeriodCode = Annotated[str, Field(pattern=r"^(7|30|90|y|all|m[0-9]{4}-[0-9]{2})$")]
"""A `domain.periods` code: 7, 30, 90, y, all, or mYYYY-MM (a typed month)."""


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # ValueError for 2026-02-30: the button is refused
    return value


IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_real_date)]

Kind = Literal["client", "supplier", "contractor", "partner"]
KindOrAll = Literal["all", "client", "supplier", "contractor", "partner"]
SaleField = Literal["kind", "name", "org", "phone", "birthday", "product", "date"]
SkippableField = Literal["org", "phone", "birthday"]
SaleActionName = Literal[
    "save", "cancel", "kind", "name", "org", "phone", "birthday", "product", "date", "rest"
]
CommentCategory = Literal["all", "promoter", "passive", "detractor"]
ExportCode = Literal["30", "90", "y", "all"]
CaseAction = Literal["take", "note", "resolve", "reopen"]
ForgetAction = Literal["ask", "yes", "no"]
SettingKey = Literal[
    "company_name", "company_name_en", "digest_time", "workdays", "offer_interval",
    "birthday_lead_days", "contact_min_days", "default_language",
]  # fmt: skip
SettingView = Literal[
    "card", "company_name", "company_name_en", "digest_time", "workdays", "offer_interval",
    "birthday_lead_days", "contact_min_days", "default_language",
]  # fmt: skip
PickableKey = Literal[
    "digest_time", "offer_interval", "birthday_lead_days", "contact_min_days", "default_language"
]
PickedValue = Literal[
    "08.00", "09.00", "10.00", "30-60", "45-90", "60-90", "1", "3", "7", "14", "ru", "en",
]  # fmt: skip
"""Every value a preset or language button carries (`domain.tunables.PRESETS`, ":" as ".")."""


class ManagerToggle(CallbackData, prefix="mg"):
    user_id: RowId
    active: bool
    period: PeriodCode = "30"  # the /managers view the toggle sits under, shown again after it
    page: Page = 0


class SaleKind(CallbackData, prefix="sk"):
    kind: Kind


class SaleSkip(CallbackData, prefix="ss"):
    field: SkippableField


class SaleDate(CallbackData, prefix="sd"):
    day: IsoDate  # the date the button showed


class SaleAction(CallbackData, prefix="sa"):
    action: SaleActionName  # save, cancel, rest (save now), or the name of a field to edit


class Score(CallbackData, prefix="q1"):
    survey_id: RowId
    score: ScoreValue


class ReasonSkip(CallbackData, prefix="q2"):
    survey_id: RowId


class Consent(CallbackData, prefix="q3"):
    survey_id: RowId
    yes: bool


class CaseTake(CallbackData, prefix="ct"):
    case_id: RowId


class NpsView(CallbackData, prefix="nv"):
    period: PeriodCode
    kind: KindOrAll
    manager: ManagerFilter  # 0: all managers


class NpsPickManager(CallbackData, prefix="nm"):
    period: PeriodCode
    kind: KindOrAll


class ManagersPeriod(CallbackData, prefix="ms"):
    period: PeriodCode
    page: Page = 0


class CommentsView(CallbackData, prefix="cm"):
    """A page of /comments: the answers just older than survey `anchor` (▶), or with `back` just
    newer (◀); anchor 0 is the newest page. `page` is only the number the page shows."""

    category: CommentCategory
    kind: KindOrAll
    page: Page
    anchor: Anchor = 0
    back: bool = False


class AnswerText(CallbackData, prefix="aw"):
    """Send an answer's whole reason (from the contact card or /comments; the card's viewer rule
    is checked again)."""

    survey_id: RowId


class CaseReason(CallbackData, prefix="kw"):
    """Send a case's whole reason (from the case card; the card's viewer rule is checked again)."""

    case_id: RowId


class PlanPage(CallbackData, prefix="pp"):
    page: Page


class TaskOpen(CallbackData, prefix="to"):
    task_id: RowId
    page: Page = 0


class TaskAct(CallbackData, prefix="ta"):
    task_id: RowId
    action: Action  # packed as its value, the code the button has always carried
    page: Page = 0


class SurveyResume(CallbackData, prefix="sr"):
    survey_id: RowId


class FindOpen(CallbackData, prefix="fc"):
    """Open a contact's card (from the /find result list)."""

    contact_id: RowId


class FindDeal(CallbackData, prefix="fn"):
    contact_id: RowId


class FindComment(CallbackData, prefix="fm"):
    contact_id: RowId


class FindBirthday(CallbackData, prefix="fb"):
    contact_id: RowId


class CaseList(CallbackData, prefix="kl"):
    """A page of /cases."""

    page: Page


class CaseOpen(CallbackData, prefix="ko"):
    """Open a case's card (from /cases; `page` is where "back" returns)."""

    case_id: RowId
    page: Page = 0


class CaseAct(CallbackData, prefix="ka"):
    case_id: RowId
    action: CaseAction  # see handlers/cases.py
    page: Page = 0


class CaseConfirm(CallbackData, prefix="kc"):
    """The person's answer to "Has your issue been resolved?"."""

    case_id: RowId
    yes: bool


class ExportPeriod(CallbackData, prefix="xp"):
    """The period chosen for /export (30, 90, y or all; see handlers/reports.py)."""

    period: ExportCode


class SettingOpen(CallbackData, prefix="so"):
    key: SettingView  # a `domain.tunables` key, or "card" for the list


class SettingPick(CallbackData, prefix="sv"):
    key: PickableKey
    value: PickedValue  # canonical value with ":" written as "." (the separator of callback data)


class SettingDay(CallbackData, prefix="sw"):
    day: Weekday
    on: bool  # what the tap asks for (so a double tap does not switch the day back)


class SettingReset(CallbackData, prefix="sz"):
    key: SettingKey


class ForgetMe(CallbackData, prefix="fg"):
    """A person's answer to "delete my data?"; whose data is decided by who pressed, never here."""

    yes: bool


class ForgetContact(CallbackData, prefix="fo"):
    """An owner erasing a contact from its card (re-checked: only owners may)."""

    contact_id: RowId
    action: ForgetAction  # ask (the confirmation card), yes (erase), no (back to the card)


class ApiTokenAction(CallbackData, prefix="at"):
    """An owner's /api menu: make a token of a scope, or revoke one (re-checked: owners only)."""

    action: Literal["new", "revoke"]
    scope: Literal["write", "read", "-"]  # write: deals:write (":" is the data's separator)
    token_id: Anchor  # 0 with "new"


HooksScreen = Literal["menu", "add", "cancel"]
HookAction = Literal["open", "ev", "pause", "resume", "rotate", "del", "delok"]
EventIndex = Annotated[int, Field(ge=0, le=7)]  # a position in storage.events.EVENT_TYPES (8)


class HooksMenu(CallbackData, prefix="hooks"):
    """The webhooks screen (`hooks:menu` is also the /api menu's button), adding, cancelling."""

    action: HooksScreen


class HookAct(CallbackData, prefix="hk"):
    """One endpoint: open it, toggle event `arg`, pause, resume, new secret, delete (ask, do)."""

    action: HookAction
    endpoint_id: RowId
    arg: EventIndex = 0


CrmMenuAction = Literal["bitrix24", "amocrm", "users", "menu"]
CrmUserId = Annotated[str, Field(pattern=r"^[0-9]{1,18}$")]
"""A user id of Bitrix24 or amoCRM: digits only (both number their users)."""


class CrmMenu(CallbackData, prefix="cr"):
    """/crm: connect a CRM, the users to match, or back to the status."""

    action: CrmMenuAction


class CrmDisconnect(CallbackData, prefix="cx"):
    connection_id: RowId


class CrmUserPick(CallbackData, prefix="cu"):
    """A CRM user to match: the staff list comes next."""

    connection_id: RowId
    user: CrmUserId


class CrmUserMatch(CallbackData, prefix="cz"):
    connection_id: RowId
    user: CrmUserId
    staff_id: RowId

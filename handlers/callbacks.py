"""All `CallbackData` factories (at most 64 bytes each: ids, never names).

Every handler re-checks on the server that the person may press the button: callback data can be
forged by any client, so it only says what was pressed, never that it is allowed.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ManagerToggle(CallbackData, prefix="mg"):
    user_id: int
    active: bool


class SaleKind(CallbackData, prefix="sk"):
    kind: str


class SaleSkip(CallbackData, prefix="ss"):
    field: str


class SaleDate(CallbackData, prefix="sd"):
    day: str  # ISO date the button showed


class SaleAction(CallbackData, prefix="sa"):
    action: str  # save, cancel, or the name of a field to edit


class Score(CallbackData, prefix="q1"):
    survey_id: int
    score: int


class ReasonSkip(CallbackData, prefix="q2"):
    survey_id: int


class Consent(CallbackData, prefix="q3"):
    survey_id: int
    yes: bool


class CaseTake(CallbackData, prefix="ct"):
    case_id: int


class NpsView(CallbackData, prefix="nv"):
    period: str  # 7, 30, 90, y, all, or mYYYY-MM
    kind: str  # all, client, supplier, contractor, partner
    manager: int  # 0: all managers


class NpsPickManager(CallbackData, prefix="nm"):
    period: str
    kind: str


class ManagersPeriod(CallbackData, prefix="ms"):
    period: str


class CommentsView(CallbackData, prefix="cm"):
    category: str  # all, promoter, passive, detractor
    kind: str  # all or a kind of person
    page: int


class PlanPage(CallbackData, prefix="pp"):
    page: int


class TaskOpen(CallbackData, prefix="to"):
    task_id: int
    page: int = 0


class TaskAct(CallbackData, prefix="ta"):
    task_id: int
    action: str  # an outcome, a snooze, or a menu to open (see handlers/tasks.py)
    page: int = 0


class SurveyResume(CallbackData, prefix="sr"):
    survey_id: int


class FindOpen(CallbackData, prefix="fc"):
    """Open a contact's card (from the /find result list)."""

    contact_id: int


class FindDeal(CallbackData, prefix="fn"):
    contact_id: int


class FindComment(CallbackData, prefix="fm"):
    contact_id: int


class FindBirthday(CallbackData, prefix="fb"):
    contact_id: int


class CaseList(CallbackData, prefix="kl"):
    """A page of /cases."""

    page: int


class CaseOpen(CallbackData, prefix="ko"):
    """Open a case's card (from /cases; `page` is where "back" returns)."""

    case_id: int
    page: int = 0


class CaseAct(CallbackData, prefix="ka"):
    case_id: int
    action: str  # take, note, resolve, reopen (see handlers/case_admin.py)
    page: int = 0


class CaseConfirm(CallbackData, prefix="kc"):
    """The person's answer to "Has your issue been resolved?"."""

    case_id: int
    yes: bool


class ExportPeriod(CallbackData, prefix="xp"):
    """The period chosen for /export (30, 90, y or all; see handlers/reports.py)."""

    period: str


class SettingOpen(CallbackData, prefix="so"):
    key: str  # a `bot.tunables` key, or "card" for the list


class SettingPick(CallbackData, prefix="sv"):
    key: str
    value: str  # canonical value with ":" written as "." (the separator of callback data)


class SettingDay(CallbackData, prefix="sw"):
    day: int  # Monday = 0
    on: bool  # what the tap asks for (so a double tap does not switch the day back)


class SettingReset(CallbackData, prefix="sz"):
    key: str


class ForgetMe(CallbackData, prefix="fg"):
    """A person's answer to "delete my data?"; whose data is decided by who pressed, never here."""

    yes: bool


class ForgetContact(CallbackData, prefix="fo"):
    """An owner erasing a contact from its card (re-checked: only owners may)."""

    contact_id: int
    action: str  # ask (the confirmation card), yes (erase), no (back to the card)

"""All FSM states. Their names are stored in SQLite: never rename one that has shipped."""

from aiogram.fsm.state import State, StatesGroup


class Sale(StatesGroup):
    kind = State()
    name = State()
    organization = State()
    phone = State()
    birthday = State()
    product = State()
    deal_date = State()
    confirm = State()


class SurveyFlow(StatesGroup):
    """Which survey question a respondent's next message answers (the survey row says the rest)."""

    score = State()
    reason = State()
    consent = State()
    phone = State()


class TaskFlow(StatesGroup):
    """A manager typing something for a task: the start date a client named, or a note."""

    start_date = State()
    note = State()


class ContactFlow(StatesGroup):
    """A staff member typing something for a contact card (the contact id is in the FSM data)."""

    comment = State()
    birthday = State()


class CaseFlow(StatesGroup):
    """Staff typing something for a case (the case id is in the FSM data): a note, a resolution."""

    note = State()
    resolution = State()


class ReferralFlow(StatesGroup):
    """A person who came by a promoter's link leaves a name and a phone."""

    name = State()
    phone = State()


class SettingsFlow(StatesGroup):
    """An owner typing a new value for the setting named in the state data."""

    value = State()


class HooksFlow(StatesGroup):
    """An owner typing the URL of a new webhook endpoint."""

    url = State()


class CrmFlow(StatesGroup):
    """An owner connecting a CRM in /crm: Bitrix24's webhook URL, or amoCRM's account and token."""

    bitrix_url = State()
    amo_account = State()
    amo_token = State()

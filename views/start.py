"""What /start and /help say: each role's introduction, in the person's language."""

from __future__ import annotations

from domain.roles import Role
from domain.settings import Settings
from views.texts import t


def role_help(role: Role, lang: str, name: str, settings: Settings) -> str:
    if role is Role.OWNER:
        return t(lang, "start.owner", name=name, company=settings.company(lang))
    if role is Role.MANAGER:
        return t(lang, "start.manager", name=name, company=settings.company(lang))
    return guest_greeting(lang, settings)


def guest_greeting(lang: str, settings: Settings) -> str:
    """The full greeting of anybody who is not staff (a stranger hears it at most once a day)."""
    return t(lang, "start.guest", company=settings.company(lang))

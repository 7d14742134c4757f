"""Who is writing: an owner (from OWNER_IDS), an active manager, or anybody else; and a staff
member as stored."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    GUEST = "guest"

    @property
    def is_staff(self) -> bool:
        return self in (Role.OWNER, Role.MANAGER)


@dataclass(frozen=True, slots=True)
class StaffMember:
    user_id: int
    role: str
    full_name: str
    username: str | None
    language: str | None
    active: bool
    created_at: datetime


def viewer_scope(role: Role, user_id: int) -> int | None:
    """Whose contacts and cases this person may see: None (an owner: everybody's) or their own
    id (a manager: the people of their deals, and the cases they took)."""
    return None if role is Role.OWNER else user_id

"""Who is writing: an owner (from OWNER_IDS), an active manager, or anybody else."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    GUEST = "guest"

    @property
    def is_staff(self) -> bool:
        return self in (Role.OWNER, Role.MANAGER)

"""Texts for the owner's /settings."""

TEXTS: dict[str, str] = {
    "cmd.settings": "Настройки бота",
}

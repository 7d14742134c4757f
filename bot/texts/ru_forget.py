"""Texts for /forget: erasing a person's personal data."""

TEXTS: dict[str, str] = {
    "cmd.forget": "Удалить мои данные",
}

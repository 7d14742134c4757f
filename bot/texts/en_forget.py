"""Texts for /forget: erasing a person's personal data."""

TEXTS: dict[str, str] = {
    "cmd.forget": "Delete my data",
}

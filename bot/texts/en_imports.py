"""Texts for importing a client base from a CSV or XLSX file."""

TEXTS: dict[str, str] = {
    "cmd.import": "Import a client base",
}

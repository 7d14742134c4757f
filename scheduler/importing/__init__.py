"""Importing a client base from a CSV or XLSX file a manager sends to the bot: the work outside
the update.

The pipeline: `sources` recognises the file and streams raw rows (CSV through `csv.reader`,
XLSX through our own streaming reader in `xlsx`); domain/importing finds the header (`columns`)
and turns each raw row into a clean `ImportRow` or the reasons to reject it (`rows`, phones
through `phones`); `runner` checks the whole file first, spooling clean rows to a temporary
file, and only then writes them in chunks through `storage.imports`. views/imports.py renders
progress, the summary and the example file. The handler is `handlers/imports.py`.
"""

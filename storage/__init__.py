"""SQLite storage: the connection, the schema, and every SQL query of the bot."""

from storage.db import Database

__all__ = ["Database"]

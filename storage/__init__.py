"""SQLite storage: the connection, the schema (migrations), the FSM storage, and every SQL query
and transaction of the bot, one module per feature. It imports only domain/."""

from storage.db import Database

__all__ = ["Database"]

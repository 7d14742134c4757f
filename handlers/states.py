"""All FSM states. Their names are stored in SQLite: never rename one that has shipped."""

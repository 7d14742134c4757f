"""The domain: the pure rules and vocabulary of the follow-up method (no aiogram, no SQL, no I/O;
an import-linter contract forbids them). Every layer may import it; it imports nothing of ours
but itself."""

"""The domain: pure rules and vocabulary (no aiogram, no SQL, no I/O); every layer may import it."""

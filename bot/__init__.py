"""The post-sale follow-up bot: entry point (`python -m bot`) and wiring."""

"""The post-sale follow-up bot's composition root: the entry point (`python -m bot`), the factories
that build the bot, the dispatcher and the scheduler from the settings, the router tree, polling
and webhook, and the plumbing around them (middlewares, logging, retries, the instance lock).

Nothing below imports this package: the settings type every layer takes is domain/settings.py;
reading it from the environment is bot/config.py."""

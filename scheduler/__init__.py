"""APScheduler jobs and the follow-up rules (the cadence arrives with the follow-up issue)."""

"""Work outside an update: the APScheduler jobs (the daily plan, the follow-up tick, delivery
health), the follow-up routine that turns due tasks, nudges and case deadlines into outbox rows,
the outbox sender, case alerts, the import runner, and the background jobs an update starts.

APScheduler only ticks: what is due and what was sent live in our own tables (storage/)."""

"""Time-driven jobs (reminders, escalations, recurring tasks, digests) and their APScheduler wiring."""

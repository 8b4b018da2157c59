"""Scheduled jobs: the job file, its lock, the run, and the mail to responsible managers (docs/jobs.md)."""

"""Telling people and systems what the log records: an outbox fed by a cursor over the log, e-mail, webhooks,
periodic-review reminders, and the worker that sends them."""

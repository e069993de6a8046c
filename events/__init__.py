"""The write side: event types, the policy aggregate, domain errors and the event store."""

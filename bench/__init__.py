"""Benchmarks: the ledger's figures next to plain database baselines and a peer event store, in one run."""

"""The auditor's trail export of a long log (the other trail tests share one history: see test_audit_reads.py)."""
from __future__ import annotations

import csv
import io

from events.application import Context
from events.domain import commands as cmd
from events.domain.policy import Actor
from tests.support import bearer
from tests.support.lifecycle import run_lifecycle

PID = "oshsu-quality"


def _get(client, tokens, path: str, **query):
    return client.get(f"/api/v1/policies/{PID}/{path}", query_string=query, headers=bearer(tokens["auditor"]))


def test_an_export_of_many_rows_streams_whole(client, tokens, ledger, clock):
    run_lifecycle(ledger, clock, PID)
    author = Context(actor=Actor(name="dean", role="author"))
    for n in range(1100):  # more than one export batch
        ledger.handle(cmd.OpenRevision(policy_id=PID, summary=f"№{n} түзөтүү"), author)
    response = _get(client, tokens, "audit", format="csv", action="revision_opened")
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert len(rows) == 1103 and rows[-1]["detail"] == "№1099 түзөтүү"

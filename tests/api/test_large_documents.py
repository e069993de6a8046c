"""A document of 20,001 sections: written in calls of at most 5,000, published, and read back on both engines.

On PostgreSQL such a version once answered every read with 503: the states query listed one parameter per
section, past the driver's 65,535. The read is one query with one parameter however many sections there are.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.application import Context
from events.domain import commands as cmd
from events.domain import rules
from events.domain.policy import Actor
from tests.support.api import API

PID = "big-policy"
AUTHOR = Context(actor=Actor(name="dean", role="author"))
BATCH = rules.MAX_SECTIONS_PER_CALL - 1  # items under one heading per call: the heading is the 5,000th


def _item(n: int) -> cmd.SectionDraft:
    return cmd.SectionDraft(kind="item", label=f"{n}.", text=f"Пункт {n}: ү ө ң.")


def build(ledger, headings: int, extra: int = 1) -> tuple[str, list[str]]:
    """A draft of `headings` headings with BATCH items each, plus `extra` paragraphs; return it and its heading ids."""
    first = cmd.SectionDraft(kind="heading", title="Бөлүм 1", children=tuple(_item(n) for n in range(BATCH)))
    draft = ledger.handle(cmd.CreatePolicy(policy_id=PID, title="Чоң саясат", language="ky", review_interval_days=365,
                                           sections=(first,)), AUTHOR).result["draft_revision_id"]
    ids = [ledger.load(PID).revisions[draft].preview.children[None][0]]
    for number in range(2, headings + 1):
        ids.append(change(ledger, draft, [cmd.AddSection(kind="heading", title=f"Бөлүм {number}")])[0])
        change(ledger, draft, [cmd.AddSection(kind="item", parent_id=ids[-1], label=f"{n}.", text=f"Пункт {n}.")
                               for n in range(BATCH)])
    if extra:
        change(ledger, draft, [cmd.AddSection(kind="paragraph", text=f"Кошумча {n}.") for n in range(extra)])
    return draft, ids


def change(ledger, draft: str, ops: list[cmd.Change]) -> list[str]:
    return ledger.handle(cmd.ChangeRevision(policy_id=PID, revision_id=draft, changes=tuple(ops)),
                         AUTHOR).result["section_ids"]


@pytest.fixture
def big_version(app) -> int:
    with app.app_context():
        from service.bootstrap import services
        ledger = services().ledger
        draft, _ = build(ledger, headings=4)
        ledger.handle(cmd.AdoptRevision(policy_id=PID, revision_id=draft,
                                        effective_from=datetime(2024, 1, 1, tzinfo=UTC)),
                      Context(actor=Actor(name="rector", role="admin"), reason="кабыл алынган"))
    return 1


def test_a_version_of_20001_sections_is_read_whole_on_both_engines(client, big_version):
    response = client.get(f"{API}/{PID}/versions/{big_version}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    sections = response.json["sections"]
    assert sum(1 + len(s["children"]) for s in sections) == 4 * (BATCH + 1) + 1 == 20_001
    # Each call placed its sections first: the paragraph, then headings 4 to 2 with their items last to first.
    assert (sections[0]["kind"], sections[1]["title"], sections[-1]["title"]) == ("paragraph", "Бөлүм 4", "Бөлүм 1")
    assert sections[1]["children"][0]["text"] == f"Пункт {BATCH - 1}."
    assert sections[-1]["children"][0]["text"] == "Пункт 0: ү ө ң."
    assert client.get(f"{API}/{PID}").status_code == 200  # the version in force: the same read
    assert client.get(f"/policies/{PID}").status_code == 200  # and its page

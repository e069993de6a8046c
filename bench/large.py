"""A document of 20,000 sections: a write to its draft against one to a 200-section draft, and a read of its
version against a 200-section one, on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import projections
from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain import rules
from events.domain.policy import Actor
from events.store import EventStore
from events.store.engine import make_engine, read_transaction
from projections import documents as versions
from service.db import upgrade

from .databases import Scratch
from .figures import Figure, interleaved, median, seconds

AUTHOR = Context(actor=Actor(name="dean", role="author"))
ADMIN = Context(actor=Actor(name="rector", role="admin"), reason="кабыл алынган")
PER_CALL = rules.MAX_SECTIONS_PER_CALL
AMENDS = 50  # amendments timed together in each sample: one takes about a millisecond, near the clock's noise


def _items(start: int, count: int) -> tuple[cmd.SectionDraft, ...]:
    return tuple(cmd.SectionDraft(kind="item", label=f"{n}.", text=f"Пункт {n}: билим берүүнүн сапаты ү ө ң.")
                 for n in range(start, start + count))


def _policy(ledger: Ledger, pid: str, size: int) -> tuple[str, str]:
    """Publish a policy of `size` sections (headings of up to PER_CALL - 1 items, a call each), open a draft on
    it, and return the draft and the id of an item in it."""
    per_heading = min(PER_CALL - 1, size - 1)
    first = cmd.SectionDraft(kind="heading", title="Бөлүм 1", children=_items(0, per_heading))
    draft = ledger.handle(cmd.CreatePolicy(policy_id=pid, title="Чоң саясат", language="ky", review_interval_days=365,
                                           sections=(first,)), AUTHOR).result["draft_revision_id"]
    made = per_heading + 1
    while made < size:
        heading = ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=draft, changes=(
            cmd.AddSection(kind="heading", title=f"Бөлүм {made}"),)), AUTHOR).result["section_ids"][0]
        count = min(per_heading, size - made - 1)
        ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=draft, changes=tuple(
            cmd.AddSection(kind="item", parent_id=heading, label=f"{n}.", text=f"Пункт {n}.")
            for n in range(count))), AUTHOR)
        made += count + 1
    ledger.handle(cmd.AdoptRevision(policy_id=pid, revision_id=draft, effective_from=datetime(2024, 1, 1, tzinfo=UTC)),
                  ADMIN)
    revision = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Түзөтүү"), AUTHOR).result["revision_id"]
    preview = ledger.load(pid).revisions[revision].preview
    item = next(sid for sid, section in preview.sections.items() if section.kind == "item")
    return revision, item


def measure_one(url: str, *, size: int, small: int, rounds: int, backend: str) -> list[Figure]:
    """Time one amendment to each draft and one read of each version, interleaved."""
    engine = make_engine(url)
    upgrade(engine)
    projections.register()
    ledger = Ledger(store=EventStore(engine))
    drafts = {"big": _policy(ledger, "big-policy", size), "small": _policy(ledger, "small-policy", small)}
    turn = {"big": 0, "small": 0}

    def write(which: str) -> Callable[[], float]:
        pid = f"{which}-policy"
        revision, item = drafts[which]

        def amend() -> None:
            for _ in range(AMENDS):
                turn[which] += 1
                ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=revision, changes=(
                    cmd.AmendSection(section_id=item, text=f"Жаңы текст {turn[which]} ү ө ң."),)), AUTHOR)
        return lambda: seconds(amend) * 1000 / AMENDS

    def read(which: str) -> Callable[[], float]:
        def go() -> None:
            with read_transaction(engine) as connection:
                assert versions.get(connection, f"{which}-policy", 1) is not None
        return lambda: seconds(go) * 1000

    runs = {"write big": write("big"), "write small": write("small"), "read big": read("big"),
            "read small": read("small")}
    for warm in runs.values():
        warm()
    samples = interleaved(runs, rounds)
    engine.dispose()
    group = f"a {size:,}-section document ({backend})"
    return [
        Figure(group, f"amend one section of a {size:,}-section draft vs a {small}-section one", "ms",
               median(samples["write big"]), median(samples["write small"]), f"{small}-section draft", threshold=2.0,
               higher_is_better=False, samples={k: samples[k] for k in ("write big", "write small")},
               note=f"Ledger.handle(ChangeRevision) with every read model; the median of {rounds} rounds, each the "
                    f"mean of {AMENDS} amendments"),
        Figure(group, f"read a {size:,}-section version vs a {small}-section one", "ms",
               median(samples["read big"]), median(samples["read small"]), f"{small}-section version",
               higher_is_better=False, samples={k: samples[k] for k in ("read big", "read small")},
               note="projections.documents.get: the version's row and one query for its section states"),
    ]


def measure(scratch: Scratch, *, size: int, small: int, rounds: int, postgres: bool) -> list[Figure]:
    """Run the large-document figures on SQLite and, when reachable, PostgreSQL."""
    figures = measure_one(scratch.sqlite_url("large"), size=size, small=small, rounds=rounds, backend="SQLite")
    if postgres:
        figures += measure_one(scratch.postgres_url("large"), size=size, small=small, rounds=rounds,
                               backend="PostgreSQL")
    return figures

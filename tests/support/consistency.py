"""Checks on a database that servers wrote to: a whole chain, contiguous streams, whole appends, rebuildable reads;
and the writes the load tests send, with the only appends they can make."""
from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select

from events.store import EventStore
from events.store.engine import make_engine
from events.store.tables import events
from projections.rebuild import rebuild, snapshot

# The policies the load tests write, the changes they make, and the only appends those writes can leave.
SECTIONS = [{"kind": "paragraph", "text": text} for text in
            ("Саясат жетекчилик тарабынан үзгүлтүксүз талданат.",
             "Зарыл болгондо саясат кайра каралып, өзгөртүлүшү мүмкүн.",
             "Ар бир кызматкер иштин сапаты үчүн жеке жооп берет.")]
CHANGES = [{"op": "add", "parent_id": None, "after_id": None, "kind": "item", "label": "•",
            "text": f"жаңы жобо №{n}: сапатты өнүктүрүү"} for n in (1, 2, 3)]
# Anything else in the log is a torn write.
WHOLE_APPENDS = {("PolicyCreated", "RevisionOpened", *["SectionAdded"] * len(SECTIONS)),
                 ("RevisionOpened",), ("SectionAdded",) * len(CHANGES)}


def check_log_is_whole(database_url: str, append_fits: Callable[[tuple[str, ...]], bool]) -> list[tuple[str, ...]]:
    """Assert the chain verifies, streams have no gaps, each append fits a known shape, and a rebuild changes nothing.

    Returns the type sequence of every append, in log order.
    """
    engine = make_engine(database_url)
    try:
        store = EventStore(engine)
        result = store.verify()
        assert result.ok, f"chain broken at {result.first_bad_position}: {result.problem}"
        with engine.connect() as connection:
            rows = connection.execute(select(events.c.position, events.c.stream, events.c.version, events.c.type,
                                             events.c.meta, events.c.recorded_at).order_by(events.c.position)).all()
        assert result.events_checked == len(rows)

        versions: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            versions[row.stream].append(row.version)
        for stream, seen in versions.items():
            assert seen == list(range(1, len(seen) + 1)), f"{stream} has gaps or repeats: {seen}"

        # One append = consecutive events of one stream sharing one meta (actor, time, request id) and record time.
        appends = [tuple(row.type for row in group) for _, group in
                   itertools.groupby(rows, key=lambda row: (row.stream, row.meta, row.recorded_at))]
        unfit = [types for types in appends if not append_fits(types)]
        assert not unfit, f"partial or unknown appends: {unfit[:5]}"

        live = snapshot(store)
        rebuild(store)
        assert snapshot(store) == live, "read models differ from a rebuild of the log"
        return appends
    finally:
        engine.dispose()

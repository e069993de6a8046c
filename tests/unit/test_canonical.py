"""The exact texts the hash chain and content hashes cover: times, event bodies and documents."""
from __future__ import annotations

import contextlib
import json
from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from events.domain import types as ev
from events.domain.canonical import TIME_FORMAT, canonical_json, content_hash, event_body, event_body_bytes, format_time
from events.domain.document import Document
from events.domain.errors import InvalidInput, NotFound

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.datetimes(timezones=st.timezones()))
def test_a_time_is_written_exactly_as_the_documented_format_gives_it(moment):
    assert format_time(moment) == moment.astimezone(UTC).strftime(TIME_FORMAT)


@given(position=st.integers(1, 2**62), stream=TEXT, version=st.integers(1, 2**31 - 1), type=TEXT,
       schema=st.integers(1, 9), data=st.dictionaries(TEXT, TEXT, max_size=3),
       meta=st.dictionaries(TEXT, st.none() | TEXT, max_size=3), recorded_at=TEXT)
def test_an_event_body_is_the_canonical_json_of_its_fields(position, stream, version, type, schema, data, meta,
                                                           recorded_at):
    body = event_body(position=position, stream=stream, version=version, type=type, schema=schema,
                      data_json=canonical_json(data), meta_json=canonical_json(meta), recorded_at=recorded_at)
    assert body == canonical_json({"data": data, "meta": meta, "position": position, "recorded_at": recorded_at,
                                   "schema": schema, "stream": stream, "type": type, "version": version})
    assert json.loads(body)["stream"] == stream
    # What verify hashes, built from the payloads' UTF-8 as the database hands them over: the same bytes.
    assert event_body_bytes(position, stream, version, type, schema, canonical_json(data).encode("utf-8"),
                            canonical_json(meta).encode("utf-8"), recorded_at) == body.encode("utf-8")


SECTION = st.fixed_dictionaries({"kind": st.sampled_from(["heading", "paragraph", "item"]),
                                 "label": st.none() | TEXT, "title": st.none() | TEXT,
                                 "text": TEXT.filter(lambda t: t.strip())})


@settings(deadline=None)  # a property of the bytes, not a timing: a loaded machine must not fail it
@given(st.lists(st.tuples(SECTION, st.lists(SECTION, max_size=3)), max_size=5), TEXT, TEXT)
def test_a_documents_canonical_form_and_hash_match_the_generic_serialisation(tree, title, language):
    counter = iter(range(10_000))
    sections = [{**top, "id": f"s-{next(counter)}", "children": [{**child, "id": f"s-{next(counter)}"}
                                                                 for child in children]}
                for top, children in tree]
    document = Document.from_tree(title, sections)
    assert document.sections_json() == canonical_json(document.tree())
    assert document.content_hash("policy", language) == content_hash(document.render("policy", language))
    assert document.canonical("policy", language) == canonical_json(document.render("policy", language))
    if sections:
        first = sections[0]["id"]
        assert document.sections_json(first) == canonical_json(document.tree(first))


@settings(deadline=None)  # a property of the bytes, not a timing: a loaded machine must not fail it
@given(st.data())
def test_a_documents_hash_after_any_changes_hashed_between_them_matches_a_fresh_serialisation(data):
    # The document keeps each parent's encoded children between hashes: every change must drop what it changed.
    document = Document.from_tree("Саясат", [{"id": "s-0", "kind": "heading", "title": "Бөлүм", "text": "",
                                              "children": [{"id": "s-1", "kind": "item", "label": "1.", "text": "ү"}]}])
    made = iter(range(2, 10_000))
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        document.content_hash("policy", "ky")  # fill the cache before each change
        ids = sorted(document.sections)
        kind = data.draw(st.sampled_from(["add", "amend", "move", "remove"] if ids else ["add"]))
        parent = data.draw(st.sampled_from([None, *ids]), label="parent")
        siblings = document.children.get(parent, [])
        after = data.draw(st.sampled_from([None, *siblings]), label="after")
        change: ev.Event
        if kind == "add":
            change = ev.SectionAdded(revision_id="r", section_id=f"s-{next(made)}", parent_id=parent, after_id=after,
                                     kind="item", label=None, title=None, text=data.draw(TEXT.filter(str.strip)))
        elif kind == "amend":
            change = ev.SectionAmended(revision_id="r", section_id=data.draw(st.sampled_from(ids)),
                                       text=data.draw(TEXT.filter(str.strip)), title=None, label="•")
        elif kind == "move":
            change = ev.SectionMoved(revision_id="r", section_id=data.draw(st.sampled_from(ids)), parent_id=parent,
                                     after_id=after)
        else:
            change = ev.SectionRemoved(revision_id="r", section_id=data.draw(st.sampled_from(ids)))
        with contextlib.suppress(InvalidInput, NotFound):  # a move into its own subtree and the like: refused
            document.apply(change)
        assert document.content_hash("policy", "ky") == content_hash(document.render("policy", "ky"))
        assert document.copy().content_hash("policy", "ky") == content_hash(document.render("policy", "ky"))

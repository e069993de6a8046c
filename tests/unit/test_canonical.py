"""The exact texts the hash chain and content hashes cover: times, event bodies and documents."""
from __future__ import annotations

import json
from datetime import UTC

from hypothesis import given
from hypothesis import strategies as st

from events.domain.canonical import TIME_FORMAT, canonical_json, content_hash, event_body, event_body_bytes, format_time
from events.domain.document import Document

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

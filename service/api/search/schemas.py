"""What the search resource parses and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.common import Cursor, ListQuery, Page, Text


class SearchQuery(ListQuery):
    q = Text(load_default="", metadata={"description": 'words (each also finds words it begins), "phrases in '
                                                       'quotes"; every one must match'})
    scope = fields.String(data_key="in", load_default="current", validate=validate.OneOf(("current", "all")),
                          metadata={"description": "current: the versions in force now; all: every version "
                                                   "(staff)"})
    language = fields.String(validate=validate.Length(1, 35), metadata={"description": "the policy's language"})
    policy = fields.String(validate=validate.Length(1, 200), metadata={"description": "one policy's id"})
    cursor = Cursor(int)


class HeldIn(Schema):
    from_ = fields.Integer(data_key="from", attribute="from")
    to = fields.Integer()


class SearchItem(Schema):
    policy_id = fields.String()
    language = fields.String()
    title = fields.String(metadata={"description": "the policy's title in the version shown"})
    version = fields.Integer(metadata={"description": "the version in force, or else the newest that held the text"})
    in_force = fields.Boolean()
    effective_from = fields.String()
    section_id = fields.String()
    label = fields.String(allow_none=True)
    snippet = fields.String(metadata={"description": "HTML: the text around the match, matched words in <mark>"})
    versions = fields.Nested(HeldIn, metadata={"description": "the versions that held this text, from and to"})
    exact = fields.Boolean(metadata={"description": "false: found only as a keyboard without Kyrgyz letters "
                                                    "types the words (у for ү)"})


class SearchPage(Page):
    items = fields.List(fields.Nested(SearchItem))

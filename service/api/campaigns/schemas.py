"""What the campaigns resource parses and answers: a campaign to start, a campaign's roster."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.rules import ROLES
from service.api.common import CommandInput, Moment, NonBlank, Strict, Text, reason, time


class CampaignInput(CommandInput):
    """Ask people, by role or by name (or both), to acknowledge the version by a time."""

    command = cmd.StartCampaign

    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=list,
                        validate=validate.Length(max=len(ROLES)))
    users = fields.List(Text(validate=[validate.Length(min=1, max=200), NonBlank()]), load_default=list,
                        validate=validate.Length(max=10_000))
    due = Moment(required=True, metadata={"description": "acknowledge by this time (a time to come)"})
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "roles": tuple(data["roles"]), "users": tuple(data["users"]), "due": parse_time(data["due"])}


class RosterQuery(Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: the roster as a UTF-8 file (with a BOM), one row a person"})


class CampaignCreated(Schema):
    id = fields.String()
    version = fields.Integer()
    due = time()


class Person(Schema):
    user = fields.String()
    full_name = fields.String(allow_none=True)
    acknowledged_at = time(allow_none=True)


class Roster(Schema):
    id = fields.String()
    policy_id = fields.String()
    version = fields.Integer()
    due = time()
    roles = fields.List(fields.String())
    users = fields.List(fields.String())
    started_at = time()
    started_by = fields.String()
    follows = fields.String(allow_none=True, metadata={"description": "the campaign of an earlier version this "
                                                                      "one renews (a substantive new version)"})
    total = fields.Integer()
    acknowledged = fields.Integer()
    rate = fields.Float(metadata={"description": "acknowledged / total, from 0 to 1"})
    counted_versions = fields.List(fields.Integer(), metadata={
        "description": "the versions whose acknowledgement counts: this one and the editorial ones right after it"})
    people = fields.List(fields.Nested(Person))

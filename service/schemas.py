"""Marshmallow schemas for the management and frontend API: every body and query parsed, every answer shaped."""
from __future__ import annotations

import json
import re
from copy import deepcopy
from functools import wraps
from datetime import timezone
from typing import Any

import flask_smorest
from flask import request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from events.domain.canonical import format_time
from events.domain.document import KINDS
from events.domain.errors import NotFound
from events.domain.rules import MEANINGS, PARTY_KINDS, PERIODIC_OUTCOMES, ROLES, VERDICTS

from events.domain.policy import POLICY_ID as POLICY_ID_RULE

from .http.conventions import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor

MAX_INT = 2**31 - 1
STATUSES = ("draft", "in_review", "approved", "published", "rejected", "withdrawn")
POLICY_ID = POLICY_ID_RULE.pattern + r"\Z"  # marshmallow's Regexp anchors only the start
LANGUAGE = r"[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z"
# Ids in paths are generated slugs: anything else cannot name a resource, so it is a 404 before any query.
PATH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_JSON_DEPTH = 64
QUERY = {"location": "query", "unknown": RAISE}  # webargs would otherwise drop unknown query parameters


# ---- request guards ----------------------------------------------------------------------------

def guard_request() -> None:
    """Refuse, before any view runs, ids that cannot exist and write bodies that are not JSON objects of sane depth."""
    for name, value in (request.view_args or {}).items():
        if (not PATH_ID.fullmatch(value)) if isinstance(value, str) else value > MAX_INT:
            raise NotFound(f"no such {name}", field=name)
    if request.method != "POST":
        return
    if not request.is_json:
        error = UnsupportedMediaType("the request body must be JSON, sent as Content-Type: application/json")
        error.data = {"message": error.description,
                      "messages": {"headers": {"Content-Type": ["must be application/json"]}}}
        raise error
    try:
        too_deep = _depth(json.loads(request.get_data())) > MAX_JSON_DEPTH
    except ValueError:
        return  # malformed JSON: the body parser answers it with a 400 naming the body
    except RecursionError:
        too_deep = True
    if too_deep:
        error = BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        error.data = {"message": error.description, "messages": {"json": [error.description]}}
        raise error


def _depth(value: Any) -> int:
    deepest, level, todo = 0, 0, [(value, 1)]
    while todo:
        value, level = todo.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            todo.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


# ---- fields ------------------------------------------------------------------------------------

class Text(fields.String):
    """A string without NUL or other control characters (tabs and line breaks allowed)."""

    _CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self._CONTROL.search(text):
            raise ValidationError("must not contain control characters")
        return text


class Moment(fields.AwareDateTime):
    """An RFC 3339 time with an offset, loaded as the ledger's fixed-width UTC text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:  # type: ignore[override]
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise ValidationError("time is out of range") from None
        if not 1000 <= moment.year <= 9999:
            raise ValidationError("the year must be from 1000 to 9999")
        return format_time(moment)


class Cursor(fields.String):
    """An opaque paging cursor holding the last key of the page before, checked against the key's shape."""

    def __init__(self, *shape: type, **kwargs: Any) -> None:
        super().__init__(**kwargs, metadata={"description": "opaque; pass next_cursor from the page before"})
        self.shape = shape

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            key = decode_cursor(text)
        except BadRequest:
            raise ValidationError("not a cursor this service issued") from None
        parts = key if len(self.shape) > 1 else [key]
        if (not isinstance(parts, list) or len(parts) != len(self.shape)
                or not all(type(p) is t for p, t in zip(parts, self.shape))):
            raise ValidationError("not a cursor this service issued")
        return tuple(parts) if len(self.shape) > 1 else key


def _count(minimum: int = 1, maximum: int = MAX_INT, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def _time(**kwargs: Any) -> fields.String:
    return fields.String(metadata={"format": "date-time", "description": "UTC"}, **kwargs)


def _reason() -> Text:
    return Text(validate=validate.Length(max=2000), metadata={"description": "why: shown in the audit trail"})


class Strict(Schema):
    """Refuse unknown fields, naming them."""

    class Meta:
        unknown = RAISE


class NonBlank(validate.Validator):
    """Refuse a string of only white space."""

    error = "must not be blank"

    def __call__(self, value: str) -> str:
        if not value.strip():
            raise ValidationError(self.error)
        return value


# ---- query strings -----------------------------------------------------------------------------

class ListQuery(Strict):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"items per page, 1 to {MAX_LIMIT}"})


class PolicyListQuery(ListQuery):
    cursor = Cursor(str)


class NumberedListQuery(ListQuery):
    cursor = Cursor(int)


class VersionListQuery(NumberedListQuery):
    as_of = Moment(metadata={"description": "only versions whose publication the ledger had recorded by this time"})


class RevisionListQuery(NumberedListQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))


class PolicyReadQuery(Strict):
    at = Moment(metadata={"description": "the version in force at this time (default: now)"})
    as_of = Moment(metadata={"description": "only what the ledger had recorded by this time"})
    version = fields.Integer(validate=validate.Range(min=1, max=MAX_INT),
                             metadata={"description": "this published version instead of the one in force"})

    @validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "version" in data and "at" in data:
            raise ValidationError("give either version or at, not both", field_name="version")


class AsOfQuery(Strict):
    as_of = Moment(metadata={"description": "only what the ledger had recorded by this time"})


class DiffQuery(Strict):
    from_version = fields.Integer(data_key="from", required=True, validate=validate.Range(min=1, max=MAX_INT))
    to_version = fields.Integer(data_key="to", required=True, validate=validate.Range(min=1, max=MAX_INT))


class ResponsibilityQuery(ListQuery):
    at = Moment(metadata={"description": "assignments valid at this time (default: now)"})
    section_id = Text(validate=validate.Length(min=1, max=64))
    cursor = Cursor(str, str)


class AcknowledgementQuery(Strict):
    person = Text(validate=validate.Length(min=1, max=200), metadata={"description": "default: the caller"})


# ---- request bodies ----------------------------------------------------------------------------

class SectionInput(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = Text(allow_none=True, validate=validate.Length(max=50))
    title = Text(allow_none=True, validate=validate.Length(max=2000))
    text = Text(load_default="", validate=validate.Length(max=100_000))
    children = fields.List(fields.Nested(lambda: SectionInput()), validate=validate.Length(max=2000))


class ApprovalRuleInput(Strict):
    approvals = _count(maximum=20, load_default=1)
    roles = fields.List(fields.String(validate=validate.OneOf(("approver", "admin"))), load_default=["approver"],
                        validate=validate.Length(min=1))


class PolicyCreate(Strict):
    id = fields.String(required=True, validate=validate.Regexp(POLICY_ID, error="2 to 100 lowercase letters, "
                                                                                 "digits and hyphens"))
    title = Text(required=True, validate=[validate.Length(min=1, max=2000), NonBlank()])
    language = fields.String(required=True, validate=validate.Regexp(LANGUAGE, error="a language tag such as ky"))
    review_interval_days = _count(maximum=3660, required=True)
    approval_rule = fields.Nested(ApprovalRuleInput)
    sections = fields.List(fields.Nested(SectionInput), validate=validate.Length(max=2000))
    summary = Text(validate=validate.Length(max=2000), metadata={"description": "summary of the draft revision"})
    reason = _reason()


class RevisionOpen(Strict):
    summary = Text(required=True, validate=validate.Length(max=2000))
    base_version = _count(minimum=0, metadata={"description": "default: the newest published version"})
    reason = _reason()


_CHANGE_FIELDS = {
    "add": ({"kind"}, {"parent_id", "after_id", "label", "title", "text"}),
    "amend": ({"section_id"}, {"text", "title", "label"}),
    "move": ({"section_id"}, {"parent_id", "after_id"}),
    "remove": ({"section_id"}, set()),
    "retitle": ({"title"}, set()),
}


class ChangeOp(Strict):
    """One change; which fields it takes depends on `op` (see the API contract)."""

    op = fields.String(required=True, validate=validate.OneOf(tuple(_CHANGE_FIELDS)))
    section_id = Text(validate=validate.Length(min=1, max=64))
    parent_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    after_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf(KINDS))
    label = Text(allow_none=True, validate=validate.Length(max=50))
    title = Text(allow_none=True, validate=validate.Length(max=2000))
    text = Text(validate=validate.Length(max=100_000))

    @validates_schema
    def _fields_of_op(self, data: dict[str, Any], **kwargs: Any) -> None:
        required, optional = _CHANGE_FIELDS[data["op"]]
        errors = {name: [f"required for {data['op']}"] for name in sorted(required - set(data))}
        extra = set(data) - required - optional - {"op"}
        errors.update({name: [f"not allowed for {data['op']}"] for name in sorted(extra)})
        if data["op"] == "retitle" and data.get("title") is None and "title" not in errors:
            errors["title"] = ["must be a text"]
        if errors:
            raise ValidationError(errors)


class ChangesInput(Strict):
    changes = fields.List(fields.Nested(ChangeOp), required=True, validate=validate.Length(min=1, max=2000))
    reason = _reason()


class SubmitInput(Strict):
    reviewers = fields.List(Text(validate=[validate.Length(min=1, max=200), NonBlank()]), required=True,
                            validate=validate.Length(max=50))
    reason = _reason()


class ReviewInput(Strict):
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    comment = Text(load_default="", validate=validate.Length(max=10_000))
    reason = _reason()


class ApprovalInput(Strict):
    meaning = fields.String(required=True, validate=validate.OneOf(MEANINGS))
    comment = Text(load_default="", validate=validate.Length(max=10_000))
    reason = _reason()


class PublishInput(Strict):
    effective_from = Moment(metadata={"description": "default: now; a past time needs a reason"})
    editorial = fields.Boolean(load_default=False, truthy={True}, falsy={False},
                               metadata={"description": "an editorial version asks for no new acknowledgement"})
    reason = _reason()


class FinalInput(Strict):
    reason = Text(required=True, validate=[validate.Length(min=1, max=2000), NonBlank()])


class ResponsibilityInput(Strict):
    action = fields.String(required=True, validate=validate.OneOf(("assign", "revoke")))
    party = Text(validate=[validate.Length(min=1, max=200), NonBlank()])
    party_kind = fields.String(validate=validate.OneOf(PARTY_KINDS))
    section_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    duty = Text(validate=[validate.Length(min=1, max=2000), NonBlank()])
    valid_from = Moment(metadata={"description": "assign: default now"})
    valid_to = Moment(metadata={"description": "revoke: default now"})
    assignment_id = Text(validate=validate.Length(min=1, max=64))
    reason = _reason()

    @validates_schema
    def _fields_of_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["action"] == "assign":
            required, allowed = {"party", "duty"}, {"party_kind", "section_id", "valid_from"}
        else:
            required, allowed = {"assignment_id"}, {"valid_to"}
        errors = {name: [f"required to {data['action']}"] for name in sorted(required - set(data))}
        errors.update({name: [f"not allowed to {data['action']}"]
                       for name in sorted(set(data) - required - allowed - {"action", "reason"})})
        if errors:
            raise ValidationError(errors)


class PeriodicReviewInput(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(PERIODIC_OUTCOMES))
    notes = Text(load_default="", validate=validate.Length(max=10_000))
    reason = _reason()


class AcknowledgementInput(Strict):
    version = _count(required=True)
    reason = _reason()


# ---- answers -----------------------------------------------------------------------------------

class Problem(Schema):
    """An RFC 9457 problem document."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages per field, dotted for nested fields"})
    conflicts = fields.List(fields.String(), metadata={"description": "409: sections changed since the base"})


class Section(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": list(KINDS)})
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    children = fields.List(fields.Nested(lambda: Section()))


class ScheduledVersion(Schema):
    version = fields.Integer()
    effective_from = _time()


class PolicyDocument(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    version = fields.Integer()
    effective_from = _time()
    published_at = _time()
    revision_id = fields.String()
    log_position = fields.Integer(attribute="position",
                                  metadata={"description": "global log position of the publication"})
    content_hash = fields.String()
    sections = fields.List(fields.Nested(Section))
    scheduled = fields.Nested(ScheduledVersion, allow_none=True,
                              metadata={"description": "the next published version, not yet in force"})


class PolicySummary(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    version = fields.Integer(allow_none=True, metadata={"description": "in force now; null before the first"})
    effective_from = _time(allow_none=True)
    latest_version = fields.Integer()
    next_review_due = _time(allow_none=True)


class PolicyPage(Schema):
    items = fields.List(fields.Nested(PolicySummary))
    next_cursor = fields.String(allow_none=True)


class ApprovalRule(Schema):
    approvals = fields.Integer()
    roles = fields.List(fields.String())


class PolicyCreated(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    owner = fields.String()
    review_interval_days = fields.Integer()
    approval_rule = fields.Nested(ApprovalRule)
    created_at = _time()
    latest_version = fields.Integer()
    draft_revision_id = fields.String(allow_none=True)


class Signature(Schema):
    approver = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    meaning = fields.String(metadata={"enum": list(MEANINGS)})
    at = _time()
    content_hash = fields.String()


class VersionSummary(Schema):
    version = fields.Integer()
    title = fields.String()
    effective_from = _time()
    published_at = _time()
    recorded_at = _time()
    log_position = fields.Integer(attribute="position")
    revision_id = fields.String()
    summary = fields.String()
    author = fields.String()
    publisher = fields.String()
    approvers = fields.List(fields.Nested(Signature))
    content_hash = fields.String()
    editorial = fields.Boolean()
    backdated = fields.Boolean()
    adopted = fields.Boolean()


class VersionPage(Schema):
    items = fields.List(fields.Nested(VersionSummary))
    next_cursor = fields.String(allow_none=True)


class Segment(Schema):
    op = fields.String(metadata={"enum": ["equal", "insert", "delete"]})
    text = fields.String()


class TitleChange(Schema):
    from_ = fields.String(allow_none=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)
    segments = fields.List(fields.Nested(Segment))


class LabelChange(Schema):
    from_ = fields.String(allow_none=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)


class Placement(Schema):
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)


class SectionMove(Schema):
    section_id = fields.String()
    from_ = fields.Nested(Placement, data_key="from", attribute="from")
    to = fields.Nested(Placement)


class SectionAddition(Schema):
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()


class SectionRemoval(Schema):
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()


class SectionAmendment(Schema):
    section_id = fields.String()
    changed = fields.List(fields.String(metadata={"enum": ["text", "title", "label"]}))
    text = fields.List(fields.Nested(Segment), metadata={"description": "word-level diff of the text"})
    title = fields.Nested(TitleChange, allow_none=True)
    label = fields.Nested(LabelChange, allow_none=True)


class DiffSide(Schema):
    version = fields.Integer()
    title = fields.String()
    effective_from = _time()
    content_hash = fields.String()


class Diff(Schema):
    policy_id = fields.String()
    from_ = fields.Nested(DiffSide, data_key="from", attribute="from")
    to = fields.Nested(DiffSide)
    title = fields.Nested(TitleChange, allow_none=True)
    added = fields.List(fields.Nested(SectionAddition))
    removed = fields.List(fields.Nested(SectionRemoval))
    moved = fields.List(fields.Nested(SectionMove))
    amended = fields.List(fields.Nested(SectionAmendment))


class SectionChange(Schema):
    version = fields.Integer()
    changes = fields.List(fields.String(metadata={"enum": ["added", "amended", "moved", "removed"]}))
    revision_id = fields.String()
    author = fields.String()
    approvers = fields.List(fields.Nested(Signature))
    effective_from = _time()
    published_at = _time()
    log_position = fields.Integer(attribute="position")
    text = fields.String(allow_none=True, metadata={"description": "the text after; null once removed"})


class SectionHistory(Schema):
    section_id = fields.String()
    items = fields.List(fields.Nested(SectionChange))
    next_cursor = fields.String(allow_none=True)


class ChangeRecord(Schema):
    op = fields.String(metadata={"enum": list(_CHANGE_FIELDS)})
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    actor = fields.String()
    at = _time()


class ReviewRecord(Schema):
    reviewer = fields.String()
    role = fields.String()
    verdict = fields.String(metadata={"enum": list(VERDICTS)})
    comment = fields.String()
    at = _time()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "the content changed since this review"})


class ApprovalRecord(Schema):
    approver = fields.String()
    role = fields.String()
    meaning = fields.String(metadata={"enum": list(MEANINGS)})
    comment = fields.String()
    reason = fields.String(allow_none=True)
    at = _time()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "the content changed since this signature"})


class Preview(Schema):
    title = fields.String()
    sections = fields.List(fields.Nested(Section))


class RevisionSummary(Schema):
    id = fields.String(attribute="revision_id")
    policy_id = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    author = fields.String()
    base_version = fields.Integer()
    summary = fields.String()
    reviewers = fields.List(fields.String())
    opened_at = _time()
    updated_at = _time()
    published_version = fields.Integer(allow_none=True)


class Revision(RevisionSummary):
    changes = fields.List(fields.Nested(ChangeRecord))
    reviews = fields.List(fields.Nested(ReviewRecord))
    approvals = fields.List(fields.Nested(ApprovalRecord))
    conflicts = fields.List(fields.String(), metadata={"description": "touched sections changed since the base"})
    content_hash = fields.String()
    preview = fields.Nested(Preview)


class RevisionChanged(Revision):
    section_ids = fields.List(fields.String(), metadata={
        "description": "per change in order: the section it touched (new ids for adds; `title` for a retitle)"})


class RevisionPage(Schema):
    items = fields.List(fields.Nested(RevisionSummary))
    next_cursor = fields.String(allow_none=True)


class Transition(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    role = fields.String()
    at = _time()
    reason = fields.String(allow_none=True)
    log_position = fields.Integer(attribute="position")


class RevisionHistoryItem(RevisionSummary):
    transitions = fields.List(fields.Nested(Transition))


class RevisionHistory(Schema):
    items = fields.List(fields.Nested(RevisionHistoryItem))
    next_cursor = fields.String(allow_none=True)


class Published(Schema):
    version = fields.Integer()
    effective_from = _time()


class Assignment(Schema):
    assignment_id = fields.String()
    party = fields.String()
    party_kind = fields.String(metadata={"enum": list(PARTY_KINDS)})
    section_id = fields.String(allow_none=True)
    duty = fields.String()
    valid_from = _time()
    valid_to = _time(allow_none=True)
    assigned_by = fields.String()
    revoked_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class AssignmentPage(Schema):
    items = fields.List(fields.Nested(Assignment))
    next_cursor = fields.String(allow_none=True)


class PeriodicReview(Schema):
    review_id = fields.String()
    outcome = fields.String(metadata={"enum": list(PERIODIC_OUTCOMES)})
    notes = fields.String()
    version = fields.Integer()
    reviewer = fields.String()
    at = _time()
    next_review_due = _time()


class Acknowledgement(Schema):
    person = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    at = _time()


class DueVersion(Schema):
    version = fields.Integer()
    effective_from = _time()
    content_hash = fields.String()


class AcknowledgementStatus(Schema):
    person = fields.String()
    acknowledged = fields.List(fields.Nested(Acknowledgement))
    latest_acknowledged = fields.Integer(allow_none=True)
    must_acknowledge = fields.Boolean(metadata={"description": "a substantive version newer than the last "
                                                               "acknowledged one exists"})
    due = fields.Nested(DueVersion, allow_none=True)


# ---- OpenAPI documentation of headers and problems ---------------------------------------------

IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "an ETag from an earlier read: 304 when nothing changed"}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "the ETag of the last read of this policy or revision: 412 and nothing written when stale"}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "maxLength": 200},
                   "description": "a retry with the same key and body gets the first answer and writes nothing"}
PROBLEMS = {
    400: "malformed JSON or a body nested too deep",
    401: "no token, or a bad one",
    403: "the role or separation of duties refuses",
    404: "no such policy, version, revision or section",
    409: "the revision's state does not allow it, or its sections changed since its base (`conflicts`)",
    412: "If-Match is stale: nothing was written",
    413: "the body is larger than the deployment allows",
    415: "the body is not sent as application/json",
    422: "a field is missing, unknown or invalid; `errors` names it",
}


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose views can document request headers beside the query parameters their schemas give."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_header_doc)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """Parse a view's arguments with one schema instance made now, not one made per request.

        webargs instantiates a schema class on every request (deep-copying its fields); a marshmallow schema
        keeps no state between loads, so one instance serves every request. A request without a query
        string parses to the same values every time (the schema's defaults), so those are parsed once here
        and handed to the view directly; any query string is parsed in full.
        """
        schema = schema() if isinstance(schema, type) else schema
        decorate = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location") != "query":
            return decorate
        try:
            empty = schema.load({})
        except ValidationError:
            return decorate  # a required parameter: every request is parsed, and answered 422 without it

        def with_shortcut(view: Any) -> Any:
            parsed = decorate(view)

            @wraps(parsed)
            def wrapper(*view_args: Any, **view_kwargs: Any) -> Any:
                if request.query_string:
                    return parsed(*view_args, **view_kwargs)
                return view(*view_args, dict(empty), **view_kwargs)

            return wrapper

        return with_shortcut

    @staticmethod
    def headers(*parameters: dict[str, Any]) -> Any:
        """Document request headers a view reads (`blp.doc(parameters=…)` would replace the query's)."""

        def decorate(view: Any) -> Any:
            view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
            view._apidoc.setdefault("header_parameters", []).extend(parameters)
            return view

        return decorate

    @staticmethod
    def _prepare_header_doc(doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        headers = doc_info.get("header_parameters", [])
        doc.setdefault("parameters", []).extend(headers)
        if IF_NONE_MATCH in headers:  # a conditional read also answers 304, with no body
            doc.setdefault("responses", {})["304"] = {"description": "Not Modified: the ETag still matches"}
        return doc


def problems(blp: Any, *codes: int) -> Any:
    """Document the problem documents a view may answer."""

    def decorate(view: Any) -> Any:
        for code in codes:
            view = blp.alt_response(code, schema=Problem, description=PROBLEMS[code],
                                    content_type="application/problem+json")(view)
        return view

    return decorate

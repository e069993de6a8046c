#!/usr/bin/env python3
"""Verify a Policy Ledger evidence bundle offline: hash chain, signatures, manifest, and a replay of every version."""
# Standalone on purpose: Python 3.11+ and the `cryptography` package, nothing from the service it audits.
from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

FORMAT = "policy-ledger-evidence-bundle/1"
CHECKPOINT_STATEMENT = "policy-ledger checkpoint v1"
GENESIS_HASH = "0" * 64
PARTS = ("events", "links", "checkpoint", "public_key", "versions", "verifier")
BODY_KEYS = ("data", "meta", "position", "recorded_at", "schema", "stream", "type", "version")
CHANGES = ("SectionAdded", "SectionAmended", "SectionMoved", "SectionRemoved", "PolicyRetitled")
MAX_REPORTED = 25


# ---- the exact bytes the ledger hashes ----------------------------------------------------------

def canonical_json(value: Any) -> str:
    """Serialise as the ledger does: sorted keys, no white space, Unicode unescaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    """Return the hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, body_digest: str) -> str:
    """Link an event: SHA-256 of the previous hash followed by the body's digest."""
    return hashlib.sha256((prev_hash + body_digest).encode("ascii")).hexdigest()


def body_digest(event: dict[str, Any]) -> str:
    """Recompute an event's body digest from its fields: canonical {data, meta, position, …, version}."""
    return sha256_hex(canonical_json({key: event[key] for key in BODY_KEYS}))


# ---- a small document model, enough to replay section changes -----------------------------------

class Document:
    """A title and a tree of sections keyed by id; children lists keep the order."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: dict[str, dict[str, Any]] = {}
        self.children: dict[str | None, list[str]] = {None: []}
        self.parents: dict[str, str | None] = {}

    def _place(self, section_id: str, parent_id: str | None, after_id: str | None) -> None:
        if parent_id is not None and parent_id not in self.sections:
            raise ValueError(f"parent {parent_id!r} does not exist")
        siblings = self.children.setdefault(parent_id, [])
        if after_id is not None and after_id not in siblings:
            raise ValueError(f"{after_id!r} is not a child of {parent_id!r}")
        siblings.insert(0 if after_id is None else siblings.index(after_id) + 1, section_id)
        self.parents[section_id] = parent_id

    def _subtree(self, section_id: str) -> list[str]:
        found = [section_id]
        for child in self.children.get(section_id, []):
            found += self._subtree(child)
        return found

    def apply(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one change event's data."""
        if kind == "PolicyRetitled":
            self.title = data["title"]
            return
        section_id = data["section_id"]
        if kind == "SectionAdded":
            if section_id in self.sections:
                raise ValueError(f"section {section_id!r} is added twice")
            self._place(section_id, data["parent_id"], data["after_id"])
            self.sections[section_id] = {k: data[k] for k in ("kind", "label", "title", "text")}
            return
        if section_id not in self.sections:
            raise ValueError(f"section {section_id!r} does not exist")
        if kind == "SectionAmended":
            self.sections[section_id].update({k: data[k] for k in ("text", "title", "label")})
        elif kind == "SectionMoved":
            if data["parent_id"] in self._subtree(section_id):
                raise ValueError(f"section {section_id!r} cannot move into its own subtree")
            self.children[self.parents[section_id]].remove(section_id)
            self._place(section_id, data["parent_id"], data["after_id"])
        elif kind == "SectionRemoved":
            gone = self._subtree(section_id)
            self.children[self.parents[section_id]].remove(section_id)
            for removed in gone:
                self.sections.pop(removed)
                self.parents.pop(removed)
                self.children.pop(removed, None)

    def tree(self, parent_id: str | None = None) -> list[dict[str, Any]]:
        """Return the sections nested as the ledger hashes them."""
        return [{"id": sid, **self.sections[sid], "children": self.tree(sid)}
                for sid in self.children.get(parent_id, [])]

    def content_hash(self, policy_id: str, language: str) -> str:
        """Return `sha256:` and the hex digest of canonical {id, language, title, sections}."""
        content = {"id": policy_id, "language": language, "title": self.title, "sections": self.tree()}
        return "sha256:" + sha256_hex(canonical_json(content))


def replay(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold a policy's events into each published version: number, effective date, recorded and replayed hash."""
    policy_id = language = created_title = ""
    changes: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    published: list[Document] = []
    versions: list[dict[str, Any]] = []
    for event in events:
        kind, data = event["type"], event["data"]
        if kind == "PolicyCreated":
            policy_id, language, created_title = data["policy_id"], data["language"], data["title"]
        elif kind == "RevisionOpened":
            changes[data["revision_id"]] = []
        elif kind in CHANGES:
            changes[data["revision_id"]].append((kind, data))
        elif kind == "RevisionPublished":
            # A publication applies its revision's changes to the newest published document.
            document = copy.deepcopy(published[-1]) if published else Document(created_title)
            for change_kind, change in changes.get(data["revision_id"], []):
                try:
                    document.apply(change_kind, change)
                except (KeyError, ValueError) as error:
                    raise ValueError(f"version {data['version']} cannot be rebuilt: {error}") from None
            published.append(document)
            versions.append({"version": data["version"], "effective_from": data["effective_from"],
                             "recorded_hash": data["content_hash"],
                             "content_hash": document.content_hash(policy_id, language)})
    return versions


# ---- the checks ---------------------------------------------------------------------------------

class Report:
    """What was checked and what is wrong."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.lines: list[str] = []

    def fail(self, problem: str) -> None:
        """Note a problem."""
        self.problems.append(problem)

    def say(self, line: str) -> None:
        """Note a line for the auditor."""
        self.lines.append(line)


def check_chain(bundle: dict[str, Any], report: Report) -> None:
    """Walk every position from the first included event to the checkpoint: present once, linked, unaltered."""
    manifest, checkpoint = bundle["manifest"], bundle["checkpoint"]
    first, last = manifest["first_position"], checkpoint["position"]
    entries: dict[int, tuple[str, dict[str, Any]]] = {}
    for part, kind in (("events", "event"), ("links", "link")):
        previous = None
        for index, entry in enumerate(bundle[part]):
            position = entry["position"]
            if previous is not None and position <= previous:
                report.fail(f"{part}[{index}]: position {position} comes after {previous} (reordered)")
            previous = position
            if position in entries:
                report.fail(f"position {position} appears more than once (an inserted event)")
                continue
            if not first <= position <= last:
                report.fail(f"position {position} lies outside the bundle's range {first}..{last} "
                            "(an inserted event)")
                continue
            entries[position] = (kind, entry)
    prev_hash = GENESIS_HASH if first == 1 else None
    for position in range(first, last + 1):
        if position not in entries:
            report.fail(f"position {position} is missing (a deleted event)")
            prev_hash = None
            continue
        kind, entry = entries[position]
        digest = body_digest(entry) if kind == "event" else entry["body_digest"]
        if prev_hash is not None and entry["prev_hash"] != prev_hash:
            report.fail(f"position {position}: prev_hash does not link to position {position - 1} "
                        "(reordered, inserted or altered)")
        if chain_hash(entry["prev_hash"], digest) != entry["hash"]:
            what = "the event's content (data, meta or fields)" if kind == "event" else "the foreign body digest"
            report.fail(f"position {position}: {what} does not match its hash (altered)")
        prev_hash = entry["hash"]
    if prev_hash != checkpoint["hash"]:
        report.fail(f"the chain ends at hash {prev_hash}, but the checkpoint signs {checkpoint['hash']} "
                    f"for position {last}")
    report.say(f"chain: positions {first}..{last} checked ({len(bundle['events'])} policy events, "
               f"{len(bundle['links'])} links to other streams)")


def check_stream(bundle: dict[str, Any], report: Report) -> None:
    """Check the policy's own events: one stream, versions 1..n in order, starting with its creation."""
    stream = "policy-" + bundle["manifest"]["policy_id"]
    for event in bundle["events"]:
        if event["stream"] != stream:
            report.fail(f"position {event['position']}: an event of stream {event['stream']!r} "
                        f"in a bundle for {stream!r}")
    versions = [event["version"] for event in bundle["events"]]
    expected = list(range(1, len(versions) + 1))
    if versions != expected:
        wrong = next(i for i, (got, want) in enumerate(zip(versions, expected, strict=False)) if got != want)
        report.fail(f"the policy's stream is not whole: events[{wrong}] is version {versions[wrong]}, "
                    f"not {expected[wrong]}")
    if bundle["events"] and bundle["events"][0]["type"] != "PolicyCreated":
        report.fail("the policy's first event is not PolicyCreated")


def _verify(public_key: Ed25519PublicKey, signature: str, message: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message.encode("utf-8"))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True


def check_signatures(bundle: dict[str, Any], public_key: Ed25519PublicKey, report: Report) -> None:
    """Check the checkpoint's and the manifest's signatures against the auditor's copy of the public key."""
    expected_id = hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
    checkpoint, manifest = bundle["checkpoint"], bundle["manifest"]
    if checkpoint["key_id"] != expected_id:
        report.fail(f"the checkpoint names key {checkpoint['key_id']}, not the given public key ({expected_id})")
    statement = canonical_json({
        "statement": CHECKPOINT_STATEMENT, "position": checkpoint["position"], "hash": checkpoint["hash"],
        "recorded_at": checkpoint["recorded_at"], "signed_at": checkpoint["signed_at"],
        "key_id": checkpoint["key_id"]})
    if _verify(public_key, checkpoint["signature"], statement):
        report.say(f"checkpoint: position {checkpoint['position']} signed at {checkpoint['signed_at']} "
                   f"by key {expected_id[:16]}…: signature good")
    else:
        report.fail("the checkpoint's signature is not valid for the given public key (altered checkpoint "
                    "or another key)")
    if not _verify(public_key, bundle["manifest_signature"], canonical_json(manifest)):
        report.fail("the manifest's signature is not valid for the given public key")
    if bundle["public_key"].strip() != public_pem(public_key).strip():
        report.say("note: the public key inside the bundle differs from the one given; only the given one counts")


def check_manifest(bundle: dict[str, Any], report: Report) -> None:
    """Check the manifest: format, range, counts and each part's SHA-256."""
    manifest = bundle["manifest"]
    if bundle.get("format") != FORMAT or manifest["format"] != FORMAT:
        report.fail(f"not a bundle of format {FORMAT}")
    if manifest["checkpoint_position"] != bundle["checkpoint"]["position"]:
        report.fail("the manifest and the checkpoint disagree on the position covered")
    for part in ("events", "links", "versions"):
        if manifest["counts"][part] != len(bundle[part]):
            report.fail(f"the manifest counts {manifest['counts'][part]} {part}, the bundle holds {len(bundle[part])}")
    for part in PARTS:
        if sha256_hex(canonical_json(bundle[part])) != manifest["sha256"][part]:
            report.fail(f"part {part!r} does not match the manifest's sha256")


def check_versions(bundle: dict[str, Any], report: Report) -> None:
    """Replay the policy's events into each published version and compare the content hashes."""
    replayed = replay(bundle["events"])
    listed = {item["version"]: item["content_hash"] for item in bundle["versions"]}
    for version in replayed:
        number, computed = version["version"], version["content_hash"]
        verdicts = []
        if computed != version["recorded_hash"]:
            report.fail(f"version {number}: the replay gives {computed}, its publication event recorded "
                        f"{version['recorded_hash']}")
            verdicts.append("differs from the log")
        if number not in listed:
            report.fail(f"version {number}: the bundle does not list it")
        elif listed[number] != computed:
            report.fail(f"version {number}: the bundle lists {listed[number]}, the replay gives {computed}")
            verdicts.append("differs from the listed hash")
        report.say(f"version {number} (effective {version['effective_from']}): {computed} "
                   f"{'; '.join(verdicts) if verdicts else 'matches'}")
    for number in sorted(set(listed) - {v["version"] for v in replayed}):
        report.fail(f"version {number}: listed in the bundle but no publication of it is in the events")


def public_pem(public_key: Ed25519PublicKey) -> str:
    """Return a public key as PEM text."""
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def verify(bundle: Any, public_key: Ed25519PublicKey) -> Report:
    """Run every check; a malformed part is reported, never a traceback."""
    report = Report()
    if not isinstance(bundle, dict):
        report.fail("the file does not hold a bundle (a JSON object)")
        return report
    for name, check in (("chain", check_chain), ("stream", check_stream), ("manifest", check_manifest),
                        ("signatures", lambda b, r: check_signatures(b, public_key, r)),
                        ("versions", check_versions)):
        try:
            check(bundle, report)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
            report.fail(f"{name}: malformed bundle ({detail})")
    return report


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key from a PEM file."""
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def main(argv: list[str] | None = None) -> int:
    """Verify one bundle; exit 0 when everything checks, 1 naming what does not."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", type=Path, help="the bundle file (JSON)")
    parser.add_argument("--public-key", type=Path, required=True,
                        help="the ledger's public key (PEM), obtained independently of the bundle")
    args = parser.parse_args(argv)
    try:
        bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: cannot read the bundle {args.bundle}: {error}", file=sys.stderr)
        return 1
    try:
        public_key = load_public_key(args.public_key)
    except (OSError, ValueError) as error:
        print(f"error: cannot read the public key {args.public_key}: {error}", file=sys.stderr)
        return 1
    report = verify(bundle, public_key)
    manifest = bundle.get("manifest") if isinstance(bundle, dict) else None
    if isinstance(manifest, dict):
        print(f"bundle: policy {manifest.get('policy_id')}, generated {manifest.get('generated_at')}")
    for line in report.lines:
        print(line)
    if report.problems:
        for problem in report.problems[:MAX_REPORTED]:
            print(f"FAILED: {problem}", file=sys.stderr)
        if len(report.problems) > MAX_REPORTED:
            print(f"FAILED: … and {len(report.problems) - MAX_REPORTED} more", file=sys.stderr)
        print(f"NOT VERIFIED: {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    print("verified: the chain is whole up to the signed checkpoint and every version replays to its hash")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The standalone verifier, run as an auditor runs it: good bundles pass, every kind of tampering is named."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import select

from events.domain.canonical import canonical_json, chain_hash, sha256_hex
from events.domain import commands as cmd
from events.domain.rules import ApprovalRule
from events.domain.canonical import parse_time
from projections.documents import policy_versions
from service.evidence import bundle as evidence
from service.evidence.checkpoints import SigningKey, generate_key_file, load_key
from service.content.textformat import parse_policy_text

from tests.support.lifecycle import ADMIN, AUTHOR, QA, RECTOR, run_lifecycle
from tests.support import REPO, SEED_POLICY, bearer

VERIFIER = REPO / "service" / "evidence" / "verify_bundle.py"
PID = "oshsu-quality"
BODY_KEYS = ("data", "meta", "position", "recorded_at", "schema", "stream", "type", "version")


@pytest.fixture
def key_pair(tmp_path) -> tuple[SigningKey, Path]:
    path = tmp_path / "ledger-key.pem"
    public = generate_key_file(path)
    return load_key(path), public


@pytest.fixture
def lifecycle_bundle(ledger, clock, store, key_pair) -> dict:
    """The lifecycle policy's bundle, with another policy's events interleaved so links are in it."""
    clock.set("2019-06-01T09:00:00+00:00")
    ledger.handle(cmd.CreatePolicy(policy_id="library", title="Китепкана", language="ky", review_interval_days=365), AUTHOR)
    run_lifecycle(ledger, clock, PID)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Жаңы бөлүм"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id=PID, summary="Акыркы"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Дагы бир"), AUTHOR)
    return json.loads("".join(evidence.build(store, key_pair[0], PID).chunks))


def _verify(tmp_path: Path, bundle: dict | str, public_key: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "bundle.json"
    path.write_text(bundle if isinstance(bundle, str) else json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    # Run from an empty directory with a bare environment: nothing of the project is importable.
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(path), "--public-key", str(public_key)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)


def _projected(store, pid: str) -> dict[int, str]:
    with store.engine.connect() as connection:
        return dict(connection.execute(select(policy_versions.c.version, policy_versions.c.content_hash)
                                       .where(policy_versions.c.policy_id == pid)).all())


# ---- good bundles -------------------------------------------------------------------------------

def test_the_verifier_imports_nothing_from_the_project():
    source = VERIFIER.read_text(encoding="utf-8")
    imports = [line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert {name.split(".")[0] for name in imports} <= {
        "__future__", "argparse", "base64", "binascii", "copy", "hashlib", "json", "sys", "pathlib", "typing",
        "cryptography"}


def test_a_lifecycle_bundle_verifies_and_each_version_replays_to_the_services_hash(tmp_path, store, key_pair,
                                                                                   lifecycle_bundle):
    result = _verify(tmp_path, lifecycle_bundle, key_pair[1])
    assert result.returncode == 0, result.stderr
    assert lifecycle_bundle["links"], "the bundle should hold links to another stream"
    for version, content_hash in _projected(store, PID).items():
        assert f"version {version} (effective" in result.stdout and f"{content_hash} matches" in result.stdout
    assert result.stdout.strip().endswith("every version replays to its hash")


def test_the_seed_policy_with_moves_removals_and_a_new_title_verifies(tmp_path, ledger, clock, store, key_pair):
    parsed = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))
    pid = "oshsu-education-quality"
    clock.set("2020-01-15T09:00:00+00:00")
    draft = ledger.handle(cmd.CreatePolicy(policy_id=pid, title=parsed.title, language="ky", review_interval_days=365, approval_rule=ApprovalRule(approvals=2, roles=("approver",)), sections=cmd.section_drafts(parsed.sections)), AUTHOR).result
    ledger.handle(cmd.AdoptRevision(policy_id=pid, revision_id=draft["draft_revision_id"], effective_from=parse_time("2020-02-01T00:00:00Z")), ADMIN)
    document = ledger.load(pid).document_at(1)
    top = document.children[None]
    nested = next(s for s in top if document.children.get(s))
    first_child, second_child = document.children[nested][:2]
    clock.set("2021-03-01T09:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Түзөтүүлөр"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=rid, changes=(cmd.AmendSection(section_id=first_child, text="Өзгөртүлгөн жобо: сапат ар бир деңгээлде."), cmd.MoveSection(section_id=second_child, parent_id=None, after_id=top[-1]), cmd.RemoveSection(section_id=top[-2]), cmd.AddSection(parent_id=nested, after_id=first_child, kind="item", label="•", text="жаңы пункт; «тырмакча» жана ң, ө, ү"), cmd.RetitlePolicy(title=parsed.title + " (жаңы редакция)"))), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id=pid, revision_id=rid, reviewers=()), AUTHOR)
    ledger.handle(cmd.ApproveRevision(policy_id=pid, revision_id=rid, meaning="approved as quality assurance director"), QA)
    ledger.handle(cmd.ApproveRevision(policy_id=pid, revision_id=rid, meaning="approved as rector"), RECTOR)
    ledger.handle(cmd.PublishRevision(policy_id=pid, revision_id=rid, effective_from=parse_time("2021-09-01T00:00:00Z")), RECTOR)
    bundle = json.loads("".join(evidence.build(store, key_pair[0], pid).chunks))
    result = _verify(tmp_path, bundle, key_pair[1])
    assert result.returncode == 0, result.stderr
    projected = _projected(store, pid)
    assert len(projected) == 2
    for content_hash in projected.values():
        assert f"{content_hash} matches" in result.stdout


# ---- tampering ----------------------------------------------------------------------------------

def _rechain(bundle: dict) -> None:
    """Recompute every hash from the first entry on, as a forger with no key could."""
    entries = sorted([("event", e) for e in bundle["events"]] + [("link", e) for e in bundle["links"]],
                     key=lambda pair: pair[1]["position"])
    prev = entries[0][1]["prev_hash"]
    for kind, entry in entries:
        digest = (sha256_hex(canonical_json({k: entry[k] for k in BODY_KEYS})) if kind == "event"
                  else entry["body_digest"])
        entry["prev_hash"], entry["hash"] = prev, chain_hash(prev, digest)
        prev = entry["hash"]


def _index(bundle: dict, type_name: str) -> int:
    return next(i for i, e in enumerate(bundle["events"]) if e["type"] == type_name)


def _alter_data(bundle: dict) -> str:
    # The revision's last amendment, so the published text itself changes.
    event = [e for e in bundle["events"] if e["type"] == "SectionAmended"][-1]
    event["data"]["text"] = "сапатты кепилдөө милдеттүү эмес;"
    return f"position {event['position']}: the event's content"


def _alter_meta(bundle: dict) -> str:
    event = bundle["events"][_index(bundle, "RevisionApproved")]
    event["meta"]["actor"] = "dean"
    return f"position {event['position']}: the event's content"


def _delete_event(bundle: dict) -> str:
    event = bundle["events"].pop(_index(bundle, "RevisionReviewed"))
    return f"position {event['position']} is missing"


def _swap_order(bundle: dict) -> str:
    events, k = bundle["events"], _index(bundle, "RevisionSubmitted")
    events[k], events[k + 1] = events[k + 1], events[k]
    return "(reordered)"


def _insert_forged(bundle: dict) -> str:
    # A forged approval placed at the end of the range, linked properly to the event before it.
    forged = copy.deepcopy(bundle["events"][_index(bundle, "RevisionApproved")])
    last = bundle["checkpoint"]["position"]
    forged.update(position=last + 1, version=bundle["events"][-1]["version"] + 1)
    forged["data"]["approver"] = forged["meta"]["actor"] = "forger"
    bundle["events"].append(forged)
    return f"position {last + 1} lies outside the bundle's range"


def _insert_and_rechain(bundle: dict) -> str:
    # A forger who renumbers everything after the insertion and recomputes every hash still misses the signature.
    k = _index(bundle, "RevisionApprovalCompleted")
    forged = copy.deepcopy(bundle["events"][k - 1])
    forged["data"]["meaning"] = "approved as chair of the academic council"
    position = forged["position"] + 1
    for entry in bundle["events"] + bundle["links"]:
        if entry["position"] >= position:
            entry["position"] += 1
    for entry in bundle["events"][k:]:
        entry["version"] += 1
    forged.update(position=position, version=forged["version"] + 1)
    bundle["events"].insert(k, forged)
    bundle["checkpoint"]["position"] += 1
    _rechain(bundle)
    return "the chain ends at hash"


def _alter_and_rechain(bundle: dict) -> str:
    _alter_data(bundle)
    _rechain(bundle)
    return "the replay gives"


def _alter_foreign_digest(bundle: dict) -> str:
    link = bundle["links"][1]
    link["body_digest"] = sha256_hex("another policy's secret text")
    return f"position {link['position']}: the foreign body digest does not match its hash"


def _hide_event_as_link(bundle: dict) -> str:
    # The newest policy event turned into a bare link: the chain still checks, the signed manifest does not.
    event = bundle["events"].pop()
    body = sha256_hex(canonical_json({k: event[k] for k in BODY_KEYS}))
    bundle["links"].append({"position": event["position"], "prev_hash": event["prev_hash"], "hash": event["hash"],
                            "body_digest": body})
    bundle["links"].sort(key=lambda link: link["position"])
    return "part 'events' does not match the manifest's sha256"


def _alter_checkpoint(bundle: dict) -> str:
    bundle["checkpoint"]["signed_at"] = "2030-01-01T00:00:00.000000Z"
    return "the checkpoint's signature is not valid"


def _alter_version_hash(bundle: dict) -> str:
    bundle["versions"][0]["content_hash"] = "sha256:" + "0" * 64
    return "version 1: the bundle lists sha256:000"


def _alter_manifest(bundle: dict) -> str:
    bundle["manifest"]["generated_at"] = "2030-01-01T00:00:00.000000Z"
    return "the manifest's signature is not valid"


TAMPERING: dict[str, Callable[[dict], str]] = {
    "altered event data": _alter_data,
    "altered meta": _alter_meta,
    "deleted event": _delete_event,
    "swapped order": _swap_order,
    "inserted forged event": _insert_forged,
    "inserted event with every hash recomputed": _insert_and_rechain,
    "altered event with every hash recomputed": _alter_and_rechain,
    "altered foreign digest": _alter_foreign_digest,
    "policy event hidden as a link": _hide_event_as_link,
    "altered checkpoint": _alter_checkpoint,
    "altered version hash": _alter_version_hash,
    "altered manifest": _alter_manifest,
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_each_kind_of_tampering_fails_verification_naming_what_is_wrong(tmp_path, key_pair, lifecycle_bundle, kind):
    bundle = copy.deepcopy(lifecycle_bundle)
    expected = TAMPERING[kind](bundle)
    result = _verify(tmp_path, bundle, key_pair[1])
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert "NOT VERIFIED" in result.stderr


def test_a_bundle_checked_against_another_public_key_fails(tmp_path, lifecycle_bundle):
    other = generate_key_file(tmp_path / "other.pem")
    result = _verify(tmp_path, lifecycle_bundle, other)
    assert result.returncode == 1
    assert "not the given public key" in result.stderr
    assert "the checkpoint's signature is not valid" in result.stderr


def test_an_unreadable_bundle_or_key_fails_with_one_line(tmp_path, key_pair, lifecycle_bundle):
    truncated = json.dumps(lifecycle_bundle, ensure_ascii=False)[:5000]
    result = _verify(tmp_path, truncated, key_pair[1])
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the bundle")
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    result = _verify(tmp_path, lifecycle_bundle, not_a_key)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the public key")


def test_a_malformed_bundle_is_reported_not_a_traceback(tmp_path, key_pair, lifecycle_bundle):
    bundle = copy.deepcopy(lifecycle_bundle)
    del bundle["links"]
    bundle["events"][3]["data"] = None
    result = _verify(tmp_path, bundle, key_pair[1])
    assert result.returncode == 1
    assert "malformed bundle" in result.stderr and "Traceback" not in result.stderr


def test_the_verifier_embedded_in_the_bundle_is_the_one_that_checks_it(tmp_path, key_pair, lifecycle_bundle):
    embedded = tmp_path / "embedded_verify.py"
    embedded.write_text(lifecycle_bundle["verifier"]["source"], encoding="utf-8")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(lifecycle_bundle, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", str(embedded), str(path), "--public-key", str(key_pair[1])],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_bundle_downloaded_over_http_verifies_with_the_published_public_key(app, client, tokens, ledger, clock,
                                                                              tmp_path):
    key_path = tmp_path / "served.pem"
    generate_key_file(key_path)
    app.config["SIGNING_KEY_FILE"] = str(key_path)
    run_lifecycle(ledger, clock, PID)
    downloaded = client.get(f"/api/v1/policies/{PID}/bundle", headers=bearer(tokens["auditor"]))
    public = tmp_path / "published.pem"
    public.write_bytes(client.get("/api/v1/ledger/public-key").get_data())
    result = _verify(tmp_path, downloaded.get_data(as_text=True), public)
    assert result.returncode == 0, result.stderr


def test_the_verifier_without_a_public_key_is_a_usage_error(tmp_path, lifecycle_bundle):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(lifecycle_bundle), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", str(VERIFIER), str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--public-key" in result.stderr


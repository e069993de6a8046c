"""The standalone verifier, run as an auditor runs it, on one lifecycle bundle built once per database for the
module: it passes, and every kind of tampering, a wrong key and bad input are named.

Every test here only reads (`nothing_written` fails one that writes); bundles written for one test are in
test_verify_bundle.py.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from events.domain.canonical import canonical_json, chain_hash, sha256_hex
from service.evidence import bundle as evidence
from service.evidence.checkpoints import SigningKey, generate_key_file
from tests.support import DATABASES, FakeClock
from tests.support.lifecycle import ledger_on, run_interleaved_lifecycle
from tests.support.verifier import VERIFIER, projected_hashes, run_verifier
from tests.support.verifier import key_pair as new_key_pair

PID = "oshsu-quality"

pytestmark = pytest.mark.usefixtures("nothing_written")

BODY_KEYS = ("data", "meta", "position", "recorded_at", "schema", "stream", "type", "version")


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("bundle")) as url:
        yield url


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> tuple[SigningKey, Path]:
    return new_key_pair(tmp_path_factory.mktemp("key"))


@pytest.fixture(scope="module")
def bundle_made_once(database_url, clock, key_pair) -> dict:
    with ledger_on(database_url, clock) as ledger:
        run_interleaved_lifecycle(ledger, clock, PID)
        return json.loads("".join(evidence.build(ledger.store, key_pair[0], PID).chunks))


@pytest.fixture
def lifecycle_bundle(bundle_made_once) -> dict:
    """The lifecycle policy's bundle, with another policy's events interleaved so links are in it (each test
    gets a copy of the one built for the module)."""
    return copy.deepcopy(bundle_made_once)


# ---- the bundle as built ------------------------------------------------------------------------

def test_a_lifecycle_bundle_verifies_and_each_version_replays_to_the_services_hash(tmp_path, store, key_pair,
                                                                                   lifecycle_bundle):
    result = run_verifier(tmp_path, lifecycle_bundle, key_pair[1])
    assert result.returncode == 0, result.stderr
    assert lifecycle_bundle["links"], "the bundle should hold links to another stream"
    for version, content_hash in projected_hashes(store, PID).items():
        assert f"version {version} (effective" in result.stdout and f"{content_hash} matches" in result.stdout
    assert result.stdout.strip().endswith("every version replays to its hash")


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
    result = run_verifier(tmp_path, bundle, key_pair[1])
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert "NOT VERIFIED" in result.stderr


def test_a_bundle_checked_against_another_public_key_fails(tmp_path, lifecycle_bundle):
    other = generate_key_file(tmp_path / "other.pem")
    result = run_verifier(tmp_path, lifecycle_bundle, other)
    assert result.returncode == 1
    assert "not the given public key" in result.stderr
    assert "the checkpoint's signature is not valid" in result.stderr


def test_an_unreadable_bundle_or_key_fails_with_one_line(tmp_path, key_pair, lifecycle_bundle):
    truncated = json.dumps(lifecycle_bundle, ensure_ascii=False)[:5000]
    result = run_verifier(tmp_path, truncated, key_pair[1])
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the bundle")
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    result = run_verifier(tmp_path, lifecycle_bundle, not_a_key)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the public key")


def test_a_malformed_bundle_is_reported_not_a_traceback(tmp_path, key_pair, lifecycle_bundle):
    bundle = copy.deepcopy(lifecycle_bundle)
    del bundle["links"]
    bundle["events"][3]["data"] = None
    result = run_verifier(tmp_path, bundle, key_pair[1])
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


def test_the_verifier_without_a_public_key_is_a_usage_error(tmp_path, lifecycle_bundle):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(lifecycle_bundle), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", str(VERIFIER), str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--public-key" in result.stderr


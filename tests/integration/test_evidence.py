"""The evidence bundle as built: every part, the chain links between, the signed manifest, streaming and the CLI."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from events.domain import commands as cmd
from events.domain.canonical import canonical_json, chain_hash, event_body, sha256_hex
from events.domain.streams import stream_for
from projections.documents import policy_versions
from service.evidence import bundle as evidence
from service.evidence import checkpoints
from service.evidence.checkpoints import generate_key_file, load_key
from tests.support import REPO
from tests.support.lifecycle import AUTHOR, run_interleaved_lifecycle

PID = "oshsu-quality"


@pytest.fixture
def key(tmp_path) -> checkpoints.SigningKey:
    path = tmp_path / "ledger-key.pem"
    generate_key_file(path)
    return load_key(path)


@pytest.fixture
def history(ledger, clock) -> None:
    """Another policy's events before, between and after the lifecycle policy's own."""
    run_interleaved_lifecycle(ledger, clock, PID)


def _bundle(store, key, pid: str = PID) -> dict:
    return json.loads("".join(evidence.build(store, key, pid).chunks))


def test_the_bundle_holds_the_policys_whole_stream_as_the_log_returns_it(store, key, history):
    bundle = _bundle(store, key)
    assert bundle["events"] == [e.to_json() for e in store.read_stream(stream_for(PID))]


def test_other_streams_appear_only_as_links_between_the_first_event_and_the_checkpoint(store, key, history):
    bundle = _bundle(store, key)
    first = bundle["events"][0]["position"]
    others = [e for e in store.read_all() if e.stream != stream_for(PID) and e.position >= first]
    assert [link["position"] for link in bundle["links"]] == [e.position for e in others]
    assert all(set(link) == {"position", "prev_hash", "hash", "body_digest"} for link in bundle["links"])
    assert "Китепкана" not in json.dumps(bundle["links"], ensure_ascii=False)
    for link, event in zip(bundle["links"], others, strict=True):
        body = event_body(position=event.position, stream=event.stream, version=event.version, type=event.type,
                          schema=event.schema, data_json=canonical_json(event.data),
                          meta_json=canonical_json(event.meta), recorded_at=event.recorded_at)
        assert link["body_digest"] == sha256_hex(body)
        assert chain_hash(link["prev_hash"], link["body_digest"]) == link["hash"] == event.hash


def test_the_bundle_signs_a_fresh_checkpoint_at_the_head(store, key, history):
    before = checkpoints.page(store.engine, None, 10)
    bundle = _bundle(store, key)
    (stored,) = checkpoints.page(store.engine, None, 10)
    assert before == []
    assert bundle["checkpoint"] == {k: v for k, v in stored.items() if k != "id"}
    assert (bundle["checkpoint"]["position"], bundle["checkpoint"]["hash"]) == store.head()[:2]
    assert checkpoints.verify_checkpoint(bundle["checkpoint"], key.private.public_key())
    assert bundle["public_key"] == key.public_pem


def test_the_manifest_counts_and_hashes_every_part_and_is_signed(store, key, history):
    bundle = _bundle(store, key)
    manifest = bundle["manifest"]
    assert manifest["format"] == bundle["format"] == "policy-ledger-evidence-bundle/1"
    assert (manifest["policy_id"], manifest["stream"]) == (PID, stream_for(PID))
    assert manifest["first_position"] == bundle["events"][0]["position"]
    assert manifest["checkpoint_position"] == bundle["checkpoint"]["position"]
    assert manifest["counts"] == {"events": len(bundle["events"]), "links": len(bundle["links"]), "versions": 2}
    assert set(manifest["sha256"]) == {"events", "links", "checkpoint", "public_key", "versions", "verifier"}
    for part, digest in manifest["sha256"].items():
        assert sha256_hex(canonical_json(bundle[part])) == digest, part
    key.private.public_key().verify(base64.b64decode(bundle["manifest_signature"]),
                                    canonical_json(manifest).encode("utf-8"))


def test_the_bundle_lists_each_published_versions_hash_and_carries_the_verifier(store, key, history):
    bundle = _bundle(store, key)
    with store.engine.connect() as connection:
        hashes = connection.execute(select(policy_versions.c.version, policy_versions.c.content_hash)
                                    .where(policy_versions.c.policy_id == PID)
                                    .order_by(policy_versions.c.version)).all()
    assert [(v["version"], v["content_hash"]) for v in bundle["versions"]] == [tuple(h) for h in hashes]
    verifier = REPO / "service" / "evidence" / "verify_bundle.py"
    assert bundle["verifier"] == {"path": "verify_bundle.py", "source": verifier.read_text(encoding="utf-8")}


def test_the_bundle_streams_in_chunks_and_ends_at_its_checkpoint_whatever_is_appended_meanwhile(store, key, history,
                                                                                                  ledger):
    built = evidence.build(store, key, PID)
    first = next(built.chunks)
    ledger.handle(cmd.OpenRevision(policy_id=PID, summary="бундл учурунда"), AUTHOR)
    rest = list(built.chunks)
    assert len(rest) > 3
    bundle = json.loads(first + "".join(rest))
    covered = [e["position"] for e in bundle["events"]] + [link["position"] for link in bundle["links"]]
    assert max(covered) == built.checkpoint["position"] == store.head()[0] - 1
    assert bundle["events"][-1]["data"]["summary"] == "Акыркы"


def test_a_bundle_of_an_unknown_policy_is_refused_and_signs_nothing(store, key, history):
    from events.domain.errors import NotFound
    with pytest.raises(NotFound):
        evidence.build(store, key, "nowhere")
    assert checkpoints.page(store.engine, None, 10) == []


# ---- the command line ---------------------------------------------------------------------------

@pytest.fixture
def configured(app, tmp_path) -> Path:
    path = tmp_path / "cli-key.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


def test_the_bundle_command_writes_the_bundle_to_a_file(runner, store, history, configured, tmp_path):
    target = tmp_path / "out" / "bundle.json"
    target.parent.mkdir()
    result = runner.invoke(args=["bundle", PID, "-o", str(target)])
    assert result.exit_code == 0, result.output
    bundle = json.loads(target.read_text(encoding="utf-8"))
    assert bundle["manifest"]["policy_id"] == PID
    assert bundle["checkpoint"]["key_id"] == load_key(configured).key_id
    assert f"written to {target}" in result.output
    assert [p.name for p in target.parent.iterdir()] == ["bundle.json"]  # no temporary file left behind


def test_the_bundle_command_writes_to_standard_output_with_a_dash(runner, history, configured):
    result = runner.invoke(args=["bundle", PID, "-o", "-"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["manifest"]["counts"]["events"] > 0


def test_the_bundle_command_refuses_an_unknown_policy_in_one_line(runner, history, configured, tmp_path):
    target = tmp_path / "never.json"
    result = runner.invoke(args=["bundle", "nowhere", "-o", str(target)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no policy 'nowhere'"
    assert not target.exists()


def test_the_bundle_command_refuses_an_unwritable_target_in_one_line(runner, history, configured, tmp_path):
    result = runner.invoke(args=["bundle", PID, "-o", str(tmp_path / "missing-dir" / "b.json")])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot write")

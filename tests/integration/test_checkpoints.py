"""Signing keys and signed checkpoints: key files, the signed statement, intervals, the CLI and the write hook."""
from __future__ import annotations

import hashlib
import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import func, select

from events.application import Context
from events.domain import commands as cmd
from events.domain import types as ev
from events.domain.canonical import chain_hash, event_body_bytes
from events.domain.errors import WrongState
from events.domain.policy import Actor
from events.domain.types import Meta
from service.evidence import checkpoints, verification
from service.evidence.checkpoints import (
    KeyFileError,
    generate_key_file,
    load_key,
    load_public_key,
    sign_head,
    verify_checkpoint,
)
from tests.support import bearer
from tests.support.databases import tamper
from tests.support.lifecycle import run_lifecycle


@pytest.fixture
def key(tmp_path) -> checkpoints.SigningKey:
    path = tmp_path / "ledger-key.pem"
    generate_key_file(path)
    return load_key(path)


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(checkpoints.checkpoints)).scalar_one()


# ---- key files ----------------------------------------------------------------------------------

def test_a_generated_key_is_private_to_its_owner_and_its_public_half_lies_beside_it(tmp_path):
    path = tmp_path / "keys" / "ledger.pem"
    public = generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public == tmp_path / "keys" / "ledger.pub.pem"
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert load_public_key(public.read_text()) is not None
    assert load_key(path).public_pem == public.read_text()


def test_generating_over_an_existing_key_is_refused_unless_forced(tmp_path):
    path = tmp_path / "ledger.pem"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_file(path)
    assert path.read_bytes() == before
    generate_key_file(path, overwrite=True)
    assert path.read_bytes() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_that_is_not_an_ed25519_private_key_is_refused_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(KeyFileError, match="not an unencrypted PEM private key"):
        load_key(garbage)
    rsa_file = tmp_path / "rsa.pem"
    rsa_file.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                         .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(KeyFileError, match="Ed25519"):
        load_key(rsa_file)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key(tmp_path / "missing.pem")


def test_the_key_id_is_the_sha256_of_the_raw_public_key(key):
    import hashlib

    from cryptography.hazmat.primitives.serialization import PublicFormat
    raw = key.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()


# ---- signing the head ---------------------------------------------------------------------------

def test_a_checkpoint_signs_the_head_as_it_is_stored(ledger, clock, store, key):
    run_lifecycle(ledger, clock)
    made = sign_head(store, key)
    position, head_hash, recorded_at = store.head()
    assert (made["position"], made["hash"], made["recorded_at"]) == (position, head_hash, recorded_at)
    assert made["key_id"] == key.key_id
    assert verify_checkpoint(made, key.private.public_key())
    assert checkpoints.page(store.engine, None, 10) == [made]


def test_the_signature_covers_every_field_of_the_statement(ledger, clock, store, key, tmp_path):
    run_lifecycle(ledger, clock)
    made = sign_head(store, key)
    for field, value in (("position", made["position"] - 1), ("hash", "0" * 64), ("recorded_at", "2030"),
                         ("signed_at", "2030"), ("key_id", "f" * 64)):
        assert not verify_checkpoint({**made, field: value}, key.private.public_key()), field
    assert not verify_checkpoint({**made, "signature": "not base64!"}, key.private.public_key())
    other = tmp_path / "other.pem"
    generate_key_file(other)
    assert not verify_checkpoint(made, load_key(other).private.public_key())


def test_the_statement_is_canonical_json_naming_what_it_is(key):
    text = checkpoints.statement({"position": 7, "hash": "ab", "recorded_at": "r", "signed_at": "s",
                                  "key_id": "k"})
    assert text == ('{"hash":"ab","key_id":"k","position":7,"recorded_at":"r","signed_at":"s",'
                    '"statement":"policy-ledger checkpoint v1"}')


def test_an_empty_log_has_no_head_to_sign(store, key):
    with pytest.raises(WrongState, match="empty"):
        sign_head(store, key)
    assert sign_head(store, key, older_than=timedelta(seconds=60)) is None
    assert _count(store.engine) == 0


def test_an_interval_checkpoint_is_signed_only_once_the_newest_is_that_old(ledger, clock, store, key):
    run_lifecycle(ledger, clock)
    assert sign_head(store, key, older_than=timedelta(minutes=5)) is not None
    clock.advance(minutes=4)
    assert sign_head(store, key, older_than=timedelta(minutes=5)) is None
    clock.advance(minutes=2)
    assert sign_head(store, key, older_than=timedelta(minutes=5)) is not None
    assert _count(store.engine) == 2


def test_checkpoints_page_oldest_first(ledger, clock, store, key):
    run_lifecycle(ledger, clock)
    made = [sign_head(store, key) for _ in range(3)]
    assert checkpoints.page(store.engine, None, 2) == made[:2]
    assert checkpoints.page(store.engine, made[1]["id"], 2) == made[2:]


# ---- the app's key ------------------------------------------------------------------------------

def test_without_a_configured_key_the_service_makes_one_under_its_instance_folder_and_says_so(app, tmp_path,
                                                                                              caplog):
    app.instance_path = str(tmp_path / "instance")
    app.config["SIGNING_KEY_FILE"] = None
    with caplog.at_level(logging.WARNING, logger="service.evidence.checkpoints"):
        made = checkpoints.signing_key(app)
    path = tmp_path / "instance" / "signing-key.pem"
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in caplog.text and made.key_id in caplog.text
    assert checkpoints.signing_key(app) is made
    app.extensions.pop("policy_ledger_signing_key")
    assert checkpoints.signing_key(app).key_id == made.key_id  # the next process loads the same key


def test_a_configured_key_file_is_used_and_a_missing_one_is_an_error_not_a_new_key(app, tmp_path):
    path = tmp_path / "configured.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    assert checkpoints.signing_key(app).key_id == load_key(path).key_id
    app.extensions.pop("policy_ledger_signing_key")
    app.config["SIGNING_KEY_FILE"] = str(tmp_path / "absent.pem")
    with pytest.raises(KeyFileError, match="cannot read"):
        checkpoints.signing_key(app)
    assert not (tmp_path / "absent.pem").exists()


# ---- the command line ---------------------------------------------------------------------------

def test_keys_generate_writes_the_pair_and_prints_the_public_key_path_last(runner, tmp_path):
    path = tmp_path / "cli-key.pem"
    result = runner.invoke(args=["keys", "generate", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(tmp_path / "cli-key.pub.pem")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = runner.invoke(args=["keys", "generate", "-o", str(path)])
    assert again.exit_code != 0 and "already exists" in again.output


def test_the_checkpoint_command_signs_the_head_for_cron(app, runner, ledger, clock, key_file_config):
    run_lifecycle(ledger, clock)
    result = runner.invoke(args=["checkpoint"])
    assert result.exit_code == 0, result.output
    head = ledger.store.head()
    assert f"position {head[0]} hash {head[1]}" in result.output
    assert _count(app.extensions["policy_ledger"].engine) == 1


def test_the_checkpoint_command_on_an_empty_log_fails_in_one_line(runner, key_file_config):
    result = runner.invoke(args=["checkpoint"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: the log is empty: there is no head to sign"


# ---- the interval hook on write requests --------------------------------------------------------

@pytest.fixture
def key_file_config(app, tmp_path) -> Path:
    path = tmp_path / "app-key.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


@pytest.fixture
def writing_app(app, key_file_config):
    """The app with one extra write route, so the hook can be watched without any other API."""

    def write():
        from service.bootstrap import services
        ledger = services().ledger
        count = services().store.head()[0]
        ledger.handle(cmd.CreatePolicy(policy_id=f"p-{count}", title="Саясат", language="ky", review_interval_days=365),
                      Context(actor=Actor(name="dean", role="author")))
        return {"ok": True}, 201

    def fail():
        return {"ok": False}, 409

    app.add_url_rule("/test-write", "test_write", write, methods=["POST"])
    app.add_url_rule("/test-fail", "test_fail", fail, methods=["POST"])
    return app


def test_with_an_interval_a_write_request_signs_a_checkpoint_when_the_newest_is_too_old(writing_app):
    writing_app.config["CHECKPOINT_INTERVAL_SECONDS"] = 3600
    client = writing_app.test_client()
    engine = writing_app.extensions["policy_ledger"].engine
    assert client.post("/test-write").status_code == 201
    assert _count(engine) == 1
    assert client.post("/test-write").status_code == 201
    assert _count(engine) == 1  # the newest is younger than an hour
    with engine.begin() as connection:
        connection.execute(checkpoints.checkpoints.update().values(signed_at="2000-01-01T00:00:00.000000Z"))
    assert client.post("/test-write").status_code == 201
    newest = checkpoints.page(engine, None, 10)[-1]
    assert _count(engine) == 2 and newest["position"] == writing_app.extensions["policy_ledger"].store.head()[0]


def test_reads_failed_writes_and_a_zero_interval_sign_nothing(writing_app):
    client = writing_app.test_client()
    engine = writing_app.extensions["policy_ledger"].engine
    writing_app.config["CHECKPOINT_INTERVAL_SECONDS"] = 0
    assert client.post("/test-write").status_code == 201
    writing_app.config["CHECKPOINT_INTERVAL_SECONDS"] = 60
    assert client.post("/test-fail").status_code == 409
    assert client.get("/health").status_code == 200
    assert _count(engine) == 0


def test_a_checkpoint_that_cannot_be_signed_does_not_undo_the_write(writing_app, tmp_path, caplog):
    writing_app.config["CHECKPOINT_INTERVAL_SECONDS"] = 60
    writing_app.config["SIGNING_KEY_FILE"] = str(tmp_path / "nowhere.pem")
    with caplog.at_level(logging.ERROR, logger="service.evidence.checkpoints"):
        response = writing_app.test_client().post("/test-write")
    assert response.status_code == 201
    assert "could not sign the periodic checkpoint" in caplog.text
    assert writing_app.extensions["policy_ledger"].store.head()[0] == 1


def test_the_public_key_endpoint_serves_the_configured_key_to_anyone(client, key_file_config):
    response = client.get("/api/v1/ledger/public-key")
    assert response.status_code == 200
    assert response.mimetype == "application/x-pem-file"
    assert response.get_data(as_text=True) == load_key(key_file_config).public_pem


def test_post_checkpoint_needs_an_auditor(client, tokens, key_file_config):
    assert client.post("/api/v1/ledger/checkpoints").status_code == 401
    assert client.post("/api/v1/ledger/checkpoints", headers=bearer(tokens["admin"])).status_code == 403


# ---- verify holds every checkpoint against the chain --------------------------------------------

def _keys(key: checkpoints.SigningKey):
    return lambda: {key.key_id: key.private.public_key()}


def _opened(n: int) -> ev.RevisionOpened:
    return ev.RevisionOpened(revision_id=f"rev-{n}", base_version=0, summary=f"Өзгөртүү {n} ү ө ң", author="dean")


META = Meta(actor="dean", role="author", occurred_at="2024-01-10T09:00:00.000000Z")


def test_verify_says_which_checkpoint_it_checked_up_to(store, key):
    for n in range(1, 4):
        store.append(f"policy-{n}", 0, [_opened(n)], META)
    first = sign_head(store, key)
    store.append("policy-4", 0, [_opened(4)], META)
    second = sign_head(store, key)
    result = verification.verify(store, _keys(key))
    assert result.ok and result.events_checked == 4
    assert result.checkpoints_checked == 2
    assert result.checked_up_to == {"id": second["id"], "position": 4, "signed_at": second["signed_at"]}
    assert first["position"] == 3


def test_without_checkpoints_verify_asks_for_no_key(store):
    store.append("policy-1", 0, [_opened(1)], META)

    def no_key() -> dict:
        raise AssertionError("the key was asked for")

    result = verification.verify(store, no_key)
    assert result.ok and result.checkpoints_checked == 0 and result.checked_up_to is None


def test_a_tail_cut_off_after_a_checkpoint_fails_verify_though_the_chain_still_links(store, key):
    for n in range(1, 4):
        store.append(f"policy-{n}", 0, [_opened(n)], META)
    made = sign_head(store, key)
    tamper(store.engine, "DELETE FROM events WHERE position = 3")
    assert store.verify().ok  # the chain alone cannot tell
    result = verification.verify(store, _keys(key))
    assert not result.ok
    assert (result.bad_checkpoint, result.first_bad_position) == (made["id"], 3)
    assert "tail was cut off" in result.problem and result.checkpoints_checked == 0


def test_a_tail_rewritten_with_its_hash_recomputed_fails_verify(store, key):
    for n in range(1, 4):
        store.append(f"policy-{n}", 0, [_opened(n)], META)
    made = sign_head(store, key)
    tamper(store.engine, "UPDATE events SET meta = replace(meta, 'dean', 'rector') WHERE position = 3")
    with store.engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT position, stream, version, type, schema, data, meta, recorded_at, "
                                         "prev_hash FROM events WHERE position = 3").one()
    body = event_body_bytes(*row[:5], row.data.encode(), row.meta.encode(), row.recorded_at)
    recomputed = chain_hash(row.prev_hash, hashlib.sha256(body).hexdigest())
    tamper(store.engine, f"UPDATE events SET hash = '{recomputed}' WHERE position = 3")
    assert store.verify().ok
    result = verification.verify(store, _keys(key))
    assert not result.ok and result.first_bad_position == 3 and result.bad_checkpoint == made["id"]
    assert "the log was rewritten" in result.problem


def test_a_checkpoint_with_a_bad_signature_or_an_unknown_key_fails_verify(store, key, tmp_path):
    store.append("policy-1", 0, [_opened(1)], META)
    made = sign_head(store, key)
    with store.engine.begin() as connection:
        connection.execute(checkpoints.checkpoints.update().where(checkpoints.checkpoints.c.id == made["id"])
                           .values(signed_at="2030-01-01T00:00:00.000000Z"))
    result = verification.verify(store, _keys(key))
    assert not result.ok and "signature does not verify" in result.problem
    generate_key_file(tmp_path / "other.pem")
    other = load_key(tmp_path / "other.pem")
    result = verification.verify(store, _keys(other))
    assert not result.ok and "a key this service does not hold" in result.problem


def test_the_verify_command_fails_on_a_cut_tail_and_names_the_checkpoint(app, runner, store, key_file_config):
    for n in range(1, 4):
        store.append(f"policy-{n}", 0, [_opened(n)], META)
    assert runner.invoke(args=["checkpoint"]).exit_code == 0
    done = runner.invoke(args=["verify"])
    assert done.exit_code == 0 and "1 signed checkpoints hold, up to position 3" in done.output
    tamper(store.engine, "DELETE FROM events WHERE position = 3")
    done = runner.invoke(args=["verify"])
    assert done.exit_code == 1
    assert "checkpoint broken" in done.output and "position 3" in done.output and "tail was cut off" in done.output

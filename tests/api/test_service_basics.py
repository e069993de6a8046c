"""The app's plumbing: health probes, problem documents, tokens."""
from __future__ import annotations


def test_liveness_answers_ok(client):
    assert client.get("/health").json == {"status": "ok"}


def test_readiness_checks_the_database_and_schema(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["schema"] == "ok"


def test_an_unknown_path_is_a_problem_document(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404 and response.json["title"]


def test_tokens_are_stored_only_as_hashes(app, tokens):
    from sqlalchemy import select

    from service.accounts import api_tokens
    with app.extensions["policy_ledger"].engine.connect() as connection:
        stored = connection.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert len(stored) == len(tokens)
    assert not set(tokens.values()) & set(stored)


def test_a_user_can_get_another_token_and_have_all_revoked(app, runner, client):
    created = runner.invoke(args=["users", "add", "өмүр", "--role", "auditor"])
    assert created.exit_code == 0, created.output
    first = created.output.strip().splitlines()[-1]
    issued = runner.invoke(args=["users", "token", "өмүр"])
    assert issued.exit_code == 0, issued.output
    second = issued.output.strip().splitlines()[-1]
    for token in (first, second):
        assert client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = runner.invoke(args=["users", "revoke", "өмүр"])
    assert "revoked 2 token(s)" in revoked.output
    for token in (first, second):
        assert client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    missing = runner.invoke(args=["users", "token", "nobody"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_serve_refuses_a_missing_gunicorn_settings_file(runner, tmp_path):
    result = runner.invoke(args=["serve", "--config", str(tmp_path / "absent.py")])
    assert result.exit_code != 0
    assert "no gunicorn settings" in result.output

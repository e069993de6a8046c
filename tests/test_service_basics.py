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
    from service.auth import api_tokens
    with app.extensions["policy_ledger"].engine.connect() as connection:
        stored = connection.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert len(stored) == len(tokens)
    assert not set(tokens.values()) & set(stored)

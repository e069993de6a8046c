"""The standalone verifier, run as an auditor runs it, on bundles of histories written for each test: the seed
policy's text moved, cut and retitled, and a bundle downloaded over HTTP. (The tampering cases share one
bundle: see test_verify_bundle_reads.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.rules import ApprovalRule
from service.content.textformat import parse_policy_text
from service.evidence import bundle as evidence
from service.evidence.checkpoints import SigningKey, generate_key_file
from tests.support import SEED_POLICY, bearer
from tests.support.lifecycle import ADMIN, AUTHOR, QA, RECTOR, run_lifecycle
from tests.support.verifier import VERIFIER, projected_hashes, run_verifier
from tests.support.verifier import key_pair as new_key_pair

PID = "oshsu-quality"


@pytest.fixture
def key_pair(tmp_path) -> tuple[SigningKey, Path]:
    return new_key_pair(tmp_path)


def test_the_verifier_imports_nothing_from_the_project():
    source = VERIFIER.read_text(encoding="utf-8")
    imports = [line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert {name.split(".")[0] for name in imports} <= {
        "__future__", "argparse", "base64", "binascii", "copy", "hashlib", "json", "sys", "pathlib", "typing",
        "cryptography"}


def test_the_seed_policy_with_moves_removals_and_a_new_title_verifies(tmp_path, ledger, clock, store, key_pair):
    parsed = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))
    pid = "oshsu-education-quality"
    clock.set("2020-01-15T09:00:00+00:00")
    draft = ledger.handle(
        cmd.CreatePolicy(
            policy_id=pid, title=parsed.title, language="ky", review_interval_days=365,
            approval_rule=ApprovalRule(approvals=2, roles=("approver",)), sections=cmd.section_drafts(parsed.sections),
        ),
        AUTHOR,
    ).result
    ledger.handle(
        cmd.AdoptRevision(
            policy_id=pid, revision_id=draft["draft_revision_id"], effective_from=parse_time("2020-02-01T00:00:00Z"),
        ),
        ADMIN,
    )
    document = ledger.load(pid).document_at(1)
    top = document.children[None]
    nested = next(s for s in top if document.children.get(s))
    first_child, second_child = document.children[nested][:2]
    clock.set("2021-03-01T09:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Түзөтүүлөр"), AUTHOR).result["revision_id"]
    ledger.handle(
        cmd.ChangeRevision(
            policy_id=pid,
            revision_id=rid,
            changes=(
                cmd.AmendSection(section_id=first_child, text="Өзгөртүлгөн жобо: сапат ар бир деңгээлде."),
                cmd.MoveSection(section_id=second_child, parent_id=None, after_id=top[-1]),
                cmd.RemoveSection(section_id=top[-2]),
                cmd.AddSection(parent_id=nested, after_id=first_child, kind="item", label="•",
                               text="жаңы пункт; «тырмакча» жана ң, ө, ү"),
                cmd.RetitlePolicy(title=parsed.title + " (жаңы редакция)"),
            ),
        ),
        AUTHOR,
    )
    ledger.handle(cmd.SubmitRevision(policy_id=pid, revision_id=rid, reviewers=()), AUTHOR)
    ledger.handle(
        cmd.ApproveRevision(policy_id=pid, revision_id=rid, meaning="approved as quality assurance director"), QA)
    ledger.handle(cmd.ApproveRevision(policy_id=pid, revision_id=rid, meaning="approved as rector"), RECTOR)
    ledger.handle(
        cmd.PublishRevision(policy_id=pid, revision_id=rid, effective_from=parse_time("2021-09-01T00:00:00Z")), RECTOR)
    bundle = json.loads("".join(evidence.build(store, key_pair[0], pid).chunks))
    result = run_verifier(tmp_path, bundle, key_pair[1])
    assert result.returncode == 0, result.stderr
    projected = projected_hashes(store, pid)
    assert len(projected) == 2
    for content_hash in projected.values():
        assert f"{content_hash} matches" in result.stdout


def test_a_bundle_downloaded_over_http_verifies_with_the_published_public_key(app, client, tokens, ledger, clock,
                                                                              tmp_path):
    key_path = tmp_path / "served.pem"
    generate_key_file(key_path)
    app.config["SIGNING_KEY_FILE"] = str(key_path)
    run_lifecycle(ledger, clock, PID)
    downloaded = client.get(f"/api/v1/policies/{PID}/bundle", headers=bearer(tokens["auditor"]))
    public = tmp_path / "published.pem"
    public.write_bytes(client.get("/api/v1/ledger/public-key").get_data())
    result = run_verifier(tmp_path, downloaded.get_data(as_text=True), public)
    assert result.returncode == 0, result.stderr

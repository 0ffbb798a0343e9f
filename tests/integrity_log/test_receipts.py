"""Receipts of recorded events: from the notary and over HTTP, pending then proven, and still
verifiable offline, with the public key alone, after many more events and a key rotation."""

from __future__ import annotations

import base64
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ledger import commands as c
from ledger.identity import Actor
from ledger.integrity.bundle import load_public_keys
from ledger.integrity.checkpoint import Checkpoint, require_consistency, verify_checkpoint
from ledger.integrity.keyring import Keyring
from ledger.integrity.merkle import verify_inclusion
from ledger.integrity.receipt import verify_receipt
from ledger.integrity.verify import verify
from ledger.values import MemberRole
from tests.api.conftest import Api
from tests.integrity_log.conftest import Log, position_of

SLOW = os.environ.get("LEDGER_SLOW_TESTS", "") not in ("", "0", "false", "no")


def trusted(*pems: str) -> dict[str, Any]:
    return load_public_keys(p.encode() for p in pems)


def test_a_receipt_has_leaf_hashes_at_once_and_proofs_after_a_checkpoint(log: Log) -> None:
    """Before any checkpoint: leaf index and hash, status pending; after one: proven."""
    rec = log.world.recommend()
    position = position_of(log.ledger, rec)
    pending = log.notary.receipt([position])
    [event] = pending["events"]
    assert pending["status"].startswith("pending")
    assert pending["checkpoint"] is None
    assert "inclusion_proof" not in event
    assert event["position"] == position
    assert event["leaf_index"] == log.raw.positions().index(position)
    assert len(event["leaf_hash"]) == 44  # base64 of 32 bytes
    key = trusted(log.notary.keyring.signing.public_pem())
    early = verify_receipt(pending, key)
    assert early.ok
    assert not early.proven
    assert early.notes[0].startswith("pending:")

    log.notary.issue_checkpoint()
    proven = log.notary.receipt([position])
    assert proven["status"] == "proven"
    assert proven["events"][0]["leaf_hash"] == event["leaf_hash"]
    assert proven["events"][0]["inclusion_proof"]
    report = verify_receipt(proven, key)
    assert report.ok, report.problems
    assert report.proven


def test_a_receipt_with_a_changed_record_or_proof_does_not_verify(log: Log) -> None:
    """A receipt whose payload, proof or checkpoint was edited fails with a precise reason."""
    position = position_of(log.ledger, log.world.recommend())
    log.notary.issue_checkpoint()
    key = trusted(log.notary.keyring.signing.public_pem())
    receipt = log.notary.receipt([position])

    edited = json.loads(json.dumps(receipt))
    edited["events"][0]["topic"] += "x"
    assert verify_receipt(edited, key).problems == [
        f"event 1 (position {position}, leaf {receipt['events'][0]['leaf_index']}): its record "
        "does not hash to the leaf hash listed"
    ]
    rehashed = json.loads(json.dumps(receipt))
    rehashed["events"][0]["inclusion_proof"][0] = "Q" * 43 + "="
    [problem] = verify_receipt(rehashed, key).problems
    assert problem.endswith(
        "its proof does not lead to the root of the checkpoint of size "
        f"{receipt['checkpoint']['tree_size']}"
    )
    resized = json.loads(json.dumps(receipt))
    resized["checkpoint"]["tree_size"] += 1
    [problem] = verify_receipt(resized, key).problems
    assert problem.startswith("checkpoint: ")
    assert "signature does not verify" in problem


def test_a_saved_receipt_survives_more_events_and_a_key_rotation(log: Log) -> None:
    """The agency's receipt verifies with the old public key alone after 3,000 more events
    and `ledger signing-key rotate`; the log still verifies and only grew since."""
    saved_receipt_survives(log, 3000)


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="a million events: set LEDGER_SLOW_TESTS=1")
def test_a_saved_receipt_survives_a_million_more_events_and_a_key_rotation(log: Log) -> None:
    """The same as the 3,000-event test, after 1,000,000 more events."""
    saved_receipt_survives(log, 1_000_000, batch=1000)


def saved_receipt_survives(log: Log, more: int, batch: int = 1000) -> None:
    position = position_of(log.ledger, log.world.recommend())
    first = log.notary.issue_checkpoint()
    receipt_file, key_file = log.tmp_path / "receipt.json", log.tmp_path / "old-key.pem"
    receipt_file.write_text(json.dumps(log.notary.receipt([position])))
    key_file.write_text(log.notary.keyring.signing.public_pem())
    old_key_id = log.notary.keyring.signing.key_id

    log.fill(more, batch)
    rotated = log.cli("signing-key", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.stdout)["retired_key_id"] == old_key_id
    notary = log.renotarise()
    assert notary.keyring.signing.key_id != old_key_id
    later = notary.issue_checkpoint()
    assert later.tree_size == first.tree_size + more

    saved = json.loads(receipt_file.read_text())
    report = verify_receipt(saved, trusted(key_file.read_text()))
    assert report.proven, report.problems
    offline = log.cli("receipt", "verify", str(receipt_file), "--public-key", str(key_file))
    assert offline.exit_code == 0, offline.output
    assert offline.stdout.startswith("OK: 1 events are proven in the checkpoint of tree size")

    fresh = notary.receipt([position])
    assert fresh["events"][0]["leaf_hash"] == saved["events"][0]["leaf_hash"]
    assert fresh["checkpoint"]["key_id"] == notary.keyring.signing.key_id
    assert verify_receipt(fresh, trusted(notary.keyring.signing.public_pem())).proven
    old = Checkpoint.from_json(json.dumps(saved["checkpoint"]))
    require_consistency(old, later, notary.consistency(old.tree_size, later.tree_size))
    keys = dict(notary.keyring.public_keys())
    assert old_key_id in keys  # the retired public key is kept, so old checkpoints verify
    for checkpoint in notary.checkpoints():
        verify_checkpoint(checkpoint, keys)
    assert verify(log.ledger, notary.checkpoints(), keys).ok


def test_a_pending_receipt_exits_2_and_a_tampered_one_exits_1_on_the_cli(log: Log) -> None:
    """`ledger receipt verify` tells pending (2), proven (0) and failed (1) apart."""
    position = position_of(log.ledger, log.world.recommend())
    path = log.tmp_path / "receipt.json"
    path.write_text(json.dumps(log.notary.receipt([position])))
    pending = log.cli("receipt", "verify", str(path))
    assert pending.exit_code == 2, pending.output
    assert "PENDING: 1 events hash as listed" in pending.stdout
    log.notary.issue_checkpoint()
    receipt = log.notary.receipt([position])
    receipt["events"][0]["version"] += 1
    path.write_text(json.dumps(receipt))
    failed = log.cli("receipt", "verify", str(path))
    assert failed.exit_code == 1
    assert "does not hash to the leaf hash listed" in failed.stderr


def recommend_over_http(api: Api) -> int:
    w = api.world
    body = {
        "engagement_id": str(w.engagement_id),
        "campaign_id": str(w.campaign_id),
        "kind": "adjust_budget",
        "change": {"budget": {"amount": "5500", "currency": "EUR", "period": "monthly"}},
        "rationale": "CPA fell",
        "evidence": ["r-1"],
        "expected_impact": "+10%",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    r = api.post(f"/v1/organizations/{w.org_id}/recommendations", "consultant", body)
    assert r.status_code == 201, r.text
    position: int = r.json()["position"]
    return position


def test_the_consultant_fetches_a_receipt_over_http_pending_then_proven(api: Api) -> None:
    """GET /v1/receipts as the consultant: hashes at once, proofs after POST checkpoints."""
    position = recommend_over_http(api)
    url = f"/v1/receipts?position={position}"
    r = api.client.get(url, headers=api.auth("consultant"))
    assert r.status_code == 200, r.text
    assert r.json()["status"].startswith("pending")
    assert r.json()["events"][0]["position"] == position

    issued = api.client.post("/v1/integrity/checkpoints", headers=api.auth("operator"))
    assert issued.status_code == 201, issued.text
    receipt = api.client.get(url, headers=api.auth("consultant")).json()
    assert receipt["status"] == "proven"
    keys = api.client.get("/v1/integrity/keys").json()
    assert keys["signing_key_id"] == receipt["checkpoint"]["key_id"]
    report = verify_receipt(receipt, trusted(*keys["keys"].values()))
    assert report.proven, report.problems
    event, checkpoint = (
        receipt["events"][0],
        Checkpoint.from_json(json.dumps(receipt["checkpoint"])),
    )
    assert verify_inclusion(
        event["leaf_index"],
        checkpoint.tree_size,
        base64.b64decode(event["leaf_hash"]),
        [base64.b64decode(h) for h in event["inclusion_proof"]],
        checkpoint.root_hash,
    )


def test_another_organizations_actor_gets_404_for_our_receipt(api: Api) -> None:
    """An admin of another organization cannot learn our events exist: 404, as if absent."""
    position = recommend_over_http(api)
    w = api.world
    other = w.run(
        w.operator,
        c.CreateOrganization(
            name="Client B", default_currency="EUR", approval_limit=Decimal("1000")
        ),
    )
    stranger = Actor(uuid4())
    w.run(
        w.operator,
        c.GrantMembership(
            organization_id=other.aggregate_id,
            member_id=stranger.actor_id,
            member_role=MemberRole("admin"),
        ),
    )
    headers = api.key_for(stranger, "other-admin")
    r = api.client.get(f"/v1/receipts?position={position}", headers=headers)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "not_found"
    missing = api.client.get("/v1/receipts?position=999999", headers=headers)
    assert missing.status_code == 404
    assert (
        api.client.get(
            f"/v1/receipts?position={position}", headers=api.auth("consultant")
        ).status_code
        == 200
    )


def test_the_old_public_key_stays_served_after_a_rotation(log: Log) -> None:
    """After `ledger signing-key rotate` the keyring serves both keys; only the new one signs."""
    before = log.notary.keyring.signing.key_id
    assert log.cli("signing-key", "rotate").exit_code == 0
    ring = Keyring.load(log.settings)
    assert ring.signing.key_id != before
    assert set(ring.public_pems()) == {before, ring.signing.key_id}
    assert not list(Path(log.key_path.parent).glob("*.retired"))

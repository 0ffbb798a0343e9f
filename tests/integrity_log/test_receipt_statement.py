"""A receipt states what it proves in plain fields (event type, aggregate, organization, actor
and role, recording time, key id, checkpoint), the statement is checked against the proof,
and `ledger receipt verify` prints it (as text or `--json`); v1 receipts still verify."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.integrity.bundle import load_public_keys
from ledger.integrity.receipt import RECEIPT_V1, verify_receipt
from tests.api.conftest import Api
from tests.integrity_log.conftest import Log, position_of
from tests.integrity_log.test_receipts import recommend_over_http

RECORDED = "2026-03-02T09:00:0"  # the Log fixture's clock, which moves by milliseconds


def trusted(log: Log) -> dict[str, Any]:
    return load_public_keys([log.notary.keyring.signing.public_pem().encode()])


def proven_receipt(log: Log) -> tuple[dict[str, Any], Any]:
    rec = log.world.recommend()
    position = position_of(log.ledger, rec)
    log.notary.issue_checkpoint()
    return log.notary.receipt([position]), rec


def test_a_receipt_fetched_over_http_states_what_it_proves(api: Api) -> None:
    """GET /v1/receipts: the statement names the event, aggregate, organization, actor, role,
    time, and (once proven) the checkpoint's key, size and time; it agrees with the proof."""
    position = recommend_over_http(api)
    url = f"/v1/receipts?position={position}"
    pending = api.client.get(url, headers=api.auth("consultant")).json()
    assert pending["statement"]["checkpoint"] is None
    assert pending["checkpoint"] is None
    assert "inclusion_proof" not in pending["events"][0]
    assert pending["statement"]["events"][0]["actor_id"] == str(api.world.consultant.actor_id)
    assert api.client.post("/v1/integrity/checkpoints", headers=api.auth("operator")).is_success
    r = api.client.get(url, headers=api.auth("consultant"))
    assert r.status_code == 200, r.text
    receipt = r.json()
    [said] = receipt["statement"]["events"]
    w = api.world
    assert said["position"] == position
    assert said["event_type"] == "Recommendation.Recommended"
    assert said["aggregate_type"] == "Recommendation"
    assert said["aggregate_id"] == receipt["events"][0]["aggregate_id"]
    assert said["aggregate_version"] == 1
    assert said["organization_id"] == str(w.org_id)
    assert said["actor_id"] == str(w.consultant.actor_id)
    assert (said["role"], said["party"]) == ("consultant", "agency")
    assert said["recorded_at"].endswith("+00:00")
    checkpoint = receipt["statement"]["checkpoint"]
    assert checkpoint["key_id"] == receipt["checkpoint"]["key_id"]
    assert checkpoint["tree_size"] == receipt["checkpoint"]["tree_size"]
    assert checkpoint["issued_at"].startswith(receipt["checkpoint"]["issued_at"][:19])
    keys = api.client.get("/v1/integrity/keys").json()["keys"]
    report = verify_receipt(receipt, load_public_keys(k.encode() for k in keys.values()))
    assert report.proven, report.problems
    assert report.statement == receipt["statement"]


def test_a_pending_receipt_states_its_events_and_no_checkpoint(log: Log) -> None:
    """Before any checkpoint the events are stated and the checkpoint is null."""
    position = position_of(log.ledger, log.world.recommend())
    receipt = log.notary.receipt([position])
    assert receipt["statement"]["checkpoint"] is None
    assert receipt["statement"]["events"][0]["recorded_at"].startswith(RECORDED)
    report = verify_receipt(receipt, trusted(log))
    assert report.ok, report.problems
    assert not report.proven


def test_a_statement_edited_to_claim_another_actor_or_time_fails_naming_the_field(
    log: Log,
) -> None:
    """Each plain field is read again from the proven record: an edit fails, named."""
    receipt, _ = proven_receipt(log)
    real = receipt["statement"]["events"][0]
    cases: dict[str, tuple[str, str, Any]] = {
        "actor_id": ("events", "actor_id", str(log.world.manager.actor_id)),
        "role": ("events", "role", "executive"),
        "recorded_at": ("events", "recorded_at", "2025-01-01T00:00:00.000000+00:00"),
        "organization_id": ("events", "organization_id", str(log.world.agency_id)),
        "event_type": ("events", "event_type", "Recommendation.Approved"),
        "issued_at": ("checkpoint", "issued_at", "2020-01-01T00:00:00.000000+00:00"),
        "tree_size": ("checkpoint", "tree_size", 1),
    }
    for name, (part, key, value) in cases.items():
        edited = json.loads(json.dumps(receipt))
        target = edited["statement"][part]
        (target[0] if part == "events" else target)[key] = value
        report = verify_receipt(edited, trusted(log))
        assert not report.ok, name
        where = "event 1" if part == "events" else "checkpoint"
        truth = (real if part == "events" else receipt["statement"]["checkpoint"])[key]
        assert report.problems == [
            f"statement: {where} {key}: says {value!r}, the proof says {truth!r}"
        ], name


def test_a_statement_with_a_field_no_proof_covers_or_none_at_all_fails(log: Log) -> None:
    """An added plain field is a claim nothing proves; a v2 receipt without a statement,
    or with an event left out of it, fails too."""
    receipt, _ = proven_receipt(log)
    added = json.loads(json.dumps(receipt))
    added["statement"]["events"][0]["approved_by"] = "the board"
    assert verify_receipt(added, trusted(log)).problems == [
        "statement: event 1 approved_by: no proof covers this field"
    ]
    stripped = {k: v for k, v in receipt.items() if k != "statement"}
    assert verify_receipt(stripped, trusted(log)).problems == [
        "statement: missing (a v2 receipt states what it proves)"
    ]
    emptied = json.loads(json.dumps(receipt))
    emptied["statement"]["events"] = []
    assert verify_receipt(emptied, trusted(log)).problems == [
        "statement: lists 0 events, the receipt proves 1"
    ]


def test_a_v1_receipt_without_a_statement_still_verifies_and_is_read_from_its_records(
    log: Log,
) -> None:
    """Receipts issued before statements stay proven; their statement is derived."""
    receipt, _ = proven_receipt(log)
    old = {k: v for k, v in receipt.items() if k != "statement"} | {"format": RECEIPT_V1}
    report = verify_receipt(old, trusted(log))
    assert report.proven, report.problems
    assert report.statement == receipt["statement"]
    assert any("format v1" in n for n in report.notes)


def test_ledger_receipt_verify_prints_what_the_receipt_proves(log: Log) -> None:
    """The text output names the checkpoint, then one line per event with its statement."""
    receipt, rec = proven_receipt(log)
    path = log.tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    key = log.tmp_path / "key.pem"
    key.write_text(log.notary.keyring.signing.public_pem())
    result = log.cli("receipt", "verify", str(path), "--public-key", str(key))
    assert result.exit_code == 0, result.output
    cp = receipt["statement"]["checkpoint"]
    position = receipt["events"][0]["position"]
    recorded = receipt["statement"]["events"][0]["recorded_at"]
    assert recorded.startswith(RECORDED)
    assert result.stdout.splitlines() == [
        f"OK: 1 events are proven in the checkpoint of tree size {cp['tree_size']} issued at "
        f"{cp['issued_at']}, signed by key {cp['key_id']}:",
        f"  position {position}: Recommendation.Recommended of recommendation {rec} "
        f"(version 1) in organization {log.world.org_id}, by actor "
        f"{log.world.consultant.actor_id} as consultant (agency), recorded at {recorded}",
    ]


def test_ledger_receipt_verify_json_gives_the_statement_machine_readable(log: Log) -> None:
    """`--json`: status, events, statement, problems and notes; exit codes as in text."""
    receipt, _ = proven_receipt(log)
    path = log.tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    proven = log.cli("receipt", "verify", str(path), "--json")
    assert proven.exit_code == 0, proven.output
    verdict = json.loads(proven.stdout)
    assert verdict["status"] == "proven"
    assert verdict["statement"] == receipt["statement"]
    assert verdict["problems"] == []

    receipt["statement"]["events"][0]["actor_id"] = str(log.world.manager.actor_id)
    path.write_text(json.dumps(receipt))
    failed = log.cli("receipt", "verify", str(path), "--json")
    assert failed.exit_code == 1
    [problem] = json.loads(failed.stdout)["problems"]
    assert problem.startswith("statement: event 1 actor_id: says ")


def test_ledger_receipt_verify_json_says_pending_and_exits_2(log: Log) -> None:
    """A receipt issued before any checkpoint: status pending, exit 2, events stated."""
    position = position_of(log.ledger, log.world.recommend())
    path = log.tmp_path / "receipt.json"
    path.write_text(json.dumps(log.notary.receipt([position])))
    pending = log.cli("receipt", "verify", str(path), "--json")
    assert pending.exit_code == 2, pending.output
    verdict = json.loads(pending.stdout)
    assert verdict["status"] == "pending"
    assert verdict["statement"]["checkpoint"] is None
    assert verdict["statement"]["events"][0]["position"] == position


@pytest.mark.parametrize(
    ("text", "held"),
    [("[{}]", "a list"), ("null", "null"), ('"str"', "a string"), ("42", "a number")],
)
def test_ledger_receipt_verify_on_json_that_is_no_object_is_one_error_line_and_exit_2(
    log: Log, text: str, held: str
) -> None:
    """A file holding JSON that is no object is not a receipt: a mistake of the user's,
    one `error:` line naming the file, exit 2, no traceback and nothing on stdout."""
    path = log.tmp_path / "receipt.json"
    path.write_text(text)
    done = log.cli("receipt", "verify", str(path))
    assert done.exit_code == 2, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {path} is not a receipt: it holds {held}, not a JSON object"
    ]

"""Verification and bundles over HTTP, for auditors, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from ledger import commands as c
from ledger.integrity.bundle import load_public_keys, verify_bundle
from ledger.values import MemberRole
from tests.api.conftest import Api
from tests.integrity_log.conftest import Raw


def test_an_auditor_sees_the_same_verdict_as_ledger_verify(api: Api, database_url: str) -> None:
    """GET .../integrity/verify: ok on a clean store, the first bad position after a change."""
    url = f"/v1/organizations/{api.world.org_id}/integrity/verify"
    issued = api.client.post("/v1/integrity/checkpoints", headers=api.auth("operator"))
    assert issued.status_code == 201, issued.text
    clean = api.client.get(url, headers=api.auth("auditor"))
    assert clean.status_code == 200, clean.text
    assert clean.json()["ok"] is True, clean.text
    assert clean.json()["checkpoints"] == 1, clean.text
    raw = Raw(database_url)
    try:
        target = raw.positions()[3]
        raw.flip_byte(target)
    finally:
        raw.close()
    found = api.client.get(url, headers=api.auth("auditor")).json()
    assert found["ok"] is False, found
    assert found["findings"][0].startswith(f"position {target} (leaf 3): the stored event's"), found


def test_verify_and_bundles_are_refused_to_a_consultant(api: Api) -> None:
    """Only auditors, managers and executives may run verification or export bundles: 403."""
    org = api.world.org_id
    for path in (
        f"/v1/organizations/{org}/integrity/verify",
        f"/v1/organizations/{org}/integrity/bundle",
    ):
        r = api.client.get(path, headers=api.auth("consultant"))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "role_required"


def test_a_bundle_downloaded_by_an_auditor_verifies_offline_with_the_served_key(
    api: Api, tmp_path: Path
) -> None:
    """The zip from GET .../integrity/bundle verifies against the key from /integrity/keys."""
    r = api.client.get(
        f"/v1/organizations/{api.world.org_id}/integrity/bundle", headers=api.auth("auditor")
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert {"manifest.json", "manifest.sig", "events.ndjson", "checkpoint.json"} <= set(
            z.namelist()
        )
    path = tmp_path / "bundle.zip"
    path.write_bytes(r.content)
    keys = api.client.get("/v1/integrity/keys").json()
    trusted = load_public_keys([keys["keys"][keys["signing_key_id"]].encode()])
    report = verify_bundle(path, trusted)
    assert report.ok, report.problems
    assert report.events == len(api.world.events())


def test_an_organizations_verify_counts_its_own_events_and_names_the_log_size_apart(
    api: Api,
) -> None:
    """With a second tenant in the log, `events` is this organization's events (as many as
    its bundle holds) and `log_events` the whole log's."""
    w = api.world
    other = w.run(
        w.operator,
        c.CreateOrganization(name="Client B", default_currency="EUR", approval_limit=Decimal(1)),
    )
    for _ in range(3):
        w.run(
            w.operator,
            c.GrantMembership(
                organization_id=other.aggregate_id,
                member_id=uuid4(),
                member_role=MemberRole("auditor"),
            ),
        )
    ours = api.client.get(
        f"/v1/organizations/{w.org_id}/integrity/verify", headers=api.auth("auditor")
    )
    assert ours.status_code == 200, ours.text
    bundle = api.client.get(
        f"/v1/organizations/{w.org_id}/integrity/bundle", headers=api.auth("auditor")
    )
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        in_bundle = len(z.read("events.ndjson").splitlines())
    everything = len(w.events())
    assert ours.json()["ok"] is True, ours.text
    assert ours.json()["log_events"] == everything
    assert ours.json()["events"] == in_bundle == everything - 4

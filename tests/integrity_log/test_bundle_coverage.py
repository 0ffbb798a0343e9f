"""A bundle says what it covers (organization, period, events by type, checkpoint) in its
README.txt, `ledger bundle verify` prints the same, made again from the verified parts, and an
event outside the period or organization the signed manifest names fails."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

from ledger.integrity.bundle import canonical, load_public_keys, verify_bundle
from ledger.integrity.coverage import README, describe, readme
from tests.api.conftest import Api
from tests.integrity_log.conftest import Log
from tests.integrity_log.test_bundle import rewrite

PERIOD = ("2026-03-01T00:00:00+00:00", "2026-03-03T00:00:00+00:00")  # the clock is 03-02


def export(log: Log, *period: str) -> Path:
    path = log.tmp_path / "bundle.zip"
    window = ["--from", period[0], "--to", period[1]] if period else []
    result = log.cli("bundle", "export", str(log.world.org_id), "-o", str(path), *window)
    assert result.exit_code == 0, result.output
    return path


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def test_the_readme_and_bundle_verify_say_the_same_about_what_the_bundle_covers(
    log: Log,
) -> None:
    """README.txt lists organization, period, events and checkpoint; `ledger bundle verify`
    prints exactly those lines."""
    path = export(log, *PERIOD)
    text = member(path, README).decode()
    events = member(path, "events.ndjson").splitlines()
    checkpoint = json.loads(member(path, "checkpoint.json"))
    assert f"  organization: {log.world.org_id}\n" in text
    assert (
        "  period: recorded from 2026-03-01T00:00:00.000000+00:00 (inclusive) to "
        "2026-03-03T00:00:00.000000+00:00 (exclusive)\n"
    ) in text
    assert f"  events: {len(events)} (" in text
    assert "Recommendation.Recommended 4" in text
    assert f"tree size {checkpoint['tree_size']} issued at " in text
    assert f"signed by key {checkpoint['key_id']}\n" in text
    result = log.cli("bundle", "verify", str(path))
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    head = f"OK: {len(events)} events verify against the signed checkpoint. It covers:"
    assert printed[0] == head
    covered = [line for line in text.splitlines() if line.startswith("  ")][: len(printed) - 1]
    assert printed[1:] == covered


def test_a_bundle_of_the_whole_log_says_so(log: Log) -> None:
    """Without --from and --to the period runs from the start of the log to the checkpoint."""
    report = verify_bundle(export(log))
    assert report.ok, report.problems
    assert report.coverage is not None
    assert describe(report.coverage)[1] == (
        "period: recorded from the start of the log (inclusive) to the checkpoint (exclusive)"
    )


def test_an_edited_readme_fails_bundle_verify(log: Log) -> None:
    """A README claiming another period than the signed manifest's is refused."""
    path = export(log, *PERIOD)
    rewrite(path, README, lambda b: b.replace(b"2026-03-01", b"2025-01-01"))
    result = log.cli("bundle", "verify", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "FAILED: README.txt differs from what the signed manifest, the checkpoint and the "
        "proven events say the bundle covers"
    )


def test_a_bundle_without_a_readme_still_verifies_with_a_note(log: Log) -> None:
    """Bundles exported before READMEs verify; the verifier says the README is missing."""
    path = export(log)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist() if n != README}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    report = verify_bundle(path)
    assert report.ok, report.problems
    assert any(README in note for note in report.notes)


def test_a_manifest_signed_for_another_period_is_contradicted_by_the_proven_events(
    log: Log,
) -> None:
    """Even signed by the real key, a manifest naming a period or organization its events
    are not in fails at each such event."""
    path = export(log, *PERIOD)
    manifest = json.loads(member(path, "manifest.json"))
    manifest["from"] = "2026-04-01T00:00:00.000000+00:00"
    manifest["to"] = "2026-05-01T00:00:00.000000+00:00"
    manifest["organization_id"] = str(log.world.agency_id)
    signed = canonical(manifest)
    signer = log.notary.keyring.signing
    rewrite(path, "manifest.json", lambda _: signed)
    rewrite(path, "manifest.sig", lambda _: base64.b64encode(signer.sign(signed)))
    report = verify_bundle(path, load_public_keys([signer.public_pem().encode()]))
    first = json.loads(member(path, "events.ndjson").splitlines()[0])
    where = f"event 1 (position {first['position']}, leaf {first['leaf_index']})"
    assert report.problems[:2] == [
        f"{where}: its record names organization {log.world.org_id}, not the bundle's "
        f"{log.world.agency_id}",
        f"{where}: it was recorded at {first['event']['timestamp']}, outside the bundle's period",
    ]


def test_a_bundle_downloaded_over_http_carries_the_readme_its_coverage_makes(
    api: Api, tmp_path: Path
) -> None:
    """GET .../integrity/bundle?from=&to=: the README is what the verified parts say."""
    r = api.client.get(
        f"/v1/organizations/{api.world.org_id}/integrity/bundle",
        params={"from": "2020-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z"},
        headers=api.auth("auditor"),
    )
    assert r.status_code == 200, r.text
    path = tmp_path / "bundle.zip"
    path.write_bytes(r.content)
    report = verify_bundle(path)
    assert report.ok, report.problems
    assert report.coverage is not None
    assert report.coverage["organization_id"] == str(api.world.org_id)
    assert report.coverage["from"] == "2020-01-01T00:00:00.000000+00:00"
    assert report.coverage["events"] == len(api.world.events())
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.read(README).decode() == readme(report.coverage)

"""Export an audit bundle of one organization's events for a period
(see ``ledger.integrity.bundle``)."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.application.service import Ledger
from ledger.integrity.bundle import write_bundle
from ledger.integrity.merkle import MemoryTree, consistency_proof, inclusion_proof
from ledger.integrity.notary import Notary, b64
from ledger.integrity.verify import stream_leaves
from ledger.jsonready import instant, jsonable
from ledger.periods import period
from ledger.persistence.sql import stream_events


def export_bundle(
    ledger: Ledger,
    notary: Notary,
    path: Path,
    organization_id: UUID,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Issue a fresh checkpoint, then write every event of the organization recorded in
    [start, end) with its proof (see :func:`period`). Returns the number of events written."""
    start, end = period(start, end)
    checkpoint = notary.issue_checkpoint()
    tree = MemoryTree()
    chosen: list[dict[str, Any]] = []
    leaves = stream_leaves(ledger, notary.merkle)
    for position, aggregate_id, version, topic, payload in stream_events(ledger.recorder):
        if tree.size >= checkpoint.tree_size:
            break
        index, leaf_position, leaf = next(leaves)
        if leaf_position != position:
            raise RuntimeError(
                f"the Merkle log disagrees with the events at position "
                f"{position}: run 'ledger verify' before exporting"
            )
        tree.append(leaf)
        event = ledger.mapper.to_domain_event(
            StoredEvent(
                originator_id=aggregate_id, originator_version=version, topic=topic, state=payload
            )
        )
        data = vars(event)
        if data.get("organization_id") != organization_id:
            continue
        when = data["timestamp"]
        if (start is not None and when < start) or (end is not None and when >= end):
            continue
        chosen.append(
            {
                "position": position,
                "aggregate_id": str(UUID(str(aggregate_id))),
                "version": version,
                "topic": topic,
                "payload": base64.b64encode(payload).decode(),
                "leaf_index": index,
                "event": jsonable(
                    {
                        k: v
                        for k, v in data.items()
                        if k not in ("originator_id", "originator_version")
                    }
                ),
            }
        )
    size = checkpoint.tree_size
    hasher = tree.subtree_hash
    for item in chosen:
        item["inclusion_proof"] = [
            b64(h) for h in inclusion_proof(item["leaf_index"], hasher, size)
        ]
    consistency = [
        {
            "from_size": cp.tree_size,
            "from_root": b64(cp.root_hash),
            "proof": [b64(h) for h in consistency_proof(cp.tree_size, hasher, size)],
        }
        for cp in {c.tree_size: c for c in notary.checkpoints() if 0 < c.tree_size < size}.values()
    ]
    scope = {
        "organization_id": str(organization_id),
        "from": instant(start) if start else None,
        "to": instant(end) if end else None,
    }
    return write_bundle(
        path,
        events=chosen,
        checkpoint=checkpoint,
        consistency=consistency,
        public_pems=notary.keyring.public_pems(),
        signer=notary.keyring.signing,
        scope=scope,
    )

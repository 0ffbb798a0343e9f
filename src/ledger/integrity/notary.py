"""Checkpoints, proofs and receipts over the Merkle log (see ``ledger.integrity.merkle_log``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ledger.application.service import Ledger
from ledger.integrity.checkpoint import Checkpoint
from ledger.integrity.keyring import Keyring
from ledger.integrity.merkle import consistency_proof, inclusion_proof
from ledger.integrity.merkle_log import MerkleTables
from ledger.integrity.receipt import RECEIPT_FORMAT, statement_of
from ledger.persistence.sql import as_bytes, cursor, events_table, position_column


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Notary:
    def __init__(self, ledger: Ledger, keyring: Keyring) -> None:
        self.ledger = ledger
        self.keyring = keyring
        merkle = getattr(ledger.recorder, "merkle", None)
        if not isinstance(merkle, MerkleTables):
            raise TypeError("this store keeps no Merkle log (in-memory storage?)")
        self.merkle = merkle

    def tree_size(self) -> int:
        with cursor(self.ledger.recorder) as cur:
            return self.merkle.size(cur)

    def issue_checkpoint(self) -> Checkpoint:
        """Sign the current tree head and keep it; when nothing was appended since the last
        checkpoint by this key, that one is returned."""
        latest = self.latest()
        # Read the tree head in a read-only transaction, then write in a transaction whose
        # first statement is the INSERT: on SQLite a read-then-write transaction cannot wait
        # for the write lock and fails at once when another connection is writing. The
        # head stays valid meanwhile: leaves are only ever appended.
        with cursor(self.ledger.recorder) as cur:
            size = self.merkle.size(cur)
            if latest and latest.tree_size == size and latest.key_id == self.keyring.signing.key_id:
                return latest
            checkpoint = self.keyring.signing.sign_checkpoint(size, self.merkle.root(cur, size))
        with cursor(self.ledger.recorder, commit=True) as cur:
            p = self.merkle.p
            cur.execute(
                f"INSERT INTO {self.merkle.checkpoints} (tree_size, root_hash, issued_at, key_id, "  # noqa: S608 - table and column names are the store's own; values are bound
                f"signature, body) VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                (
                    checkpoint.tree_size,
                    checkpoint.root_hash,
                    checkpoint.issued_at.isoformat(),
                    checkpoint.key_id,
                    checkpoint.signature,
                    checkpoint.to_json(),
                ),
            )
        return checkpoint

    def checkpoints(self) -> list[Checkpoint]:
        with cursor(self.ledger.recorder) as cur:
            cur.execute(
                f"SELECT body FROM {self.merkle.checkpoints} "  # noqa: S608 - table and column names are the store's own; values are bound
                "ORDER BY tree_size, issued_at"
            )
            rows = cur.fetchall()
        return [Checkpoint.from_json(r["body"] if isinstance(r, dict) else r[0]) for r in rows]

    def latest(self) -> Checkpoint | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def proof(self, leaf_index: int, size: int) -> list[bytes]:
        with cursor(self.ledger.recorder) as cur:
            return inclusion_proof(leaf_index, self.merkle.hasher(cur), size)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        with cursor(self.ledger.recorder) as cur:
            return consistency_proof(old_size, self.merkle.hasher(cur), new_size)

    def records(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        """The stored records at ``positions`` with their leaf index and hash."""
        rec = self.ledger.recorder
        table, col = events_table(rec), position_column(rec)
        out = []
        with cursor(rec) as cur:
            for position in positions:
                cur.execute(
                    f"SELECT originator_id, originator_version, topic, state FROM {table} "  # noqa: S608 - table and column names are the store's own; values are bound
                    f"WHERE {col} = {self.merkle.p}",
                    (position,),
                )
                row = cur.fetchone()
                leaf = self.merkle.leaf_of(cur, position)
                if row is None or leaf is None:
                    raise LookupError(f"no stored event at position {position}")
                r = tuple(row.values()) if isinstance(row, dict) else tuple(row)
                out.append(
                    {
                        "position": position,
                        "aggregate_id": str(_uuid(r[0])),
                        "version": int(r[1]),
                        "topic": r[2],
                        "payload": b64(as_bytes(r[3])),
                        "leaf_index": leaf[0],
                        "leaf_hash": b64(leaf[1]),
                    }
                )
        return out

    def receipt(self, positions: Sequence[int]) -> dict[str, Any]:
        """Event hashes and leaf indexes at once; inclusion proofs once a checkpoint covers
        every one of them; and the statement of what they prove, in plain fields (see
        ``ledger.integrity.receipt``). Verifies with the public key alone."""
        events = self.records(positions)
        checkpoint = self.latest()
        covered = checkpoint is not None and all(
            e["leaf_index"] < checkpoint.tree_size for e in events
        )
        if covered:
            assert checkpoint is not None
            for e in events:
                e["inclusion_proof"] = [
                    b64(h) for h in self.proof(e["leaf_index"], checkpoint.tree_size)
                ]
        proven = checkpoint if covered else None
        return {
            "format": RECEIPT_FORMAT,
            "status": "proven" if covered else "pending: no checkpoint covers these events yet",
            "statement": statement_of(events, proven),
            "events": events,
            "checkpoint": json_checkpoint(proven) if proven else None,
            "public_keys": self.keyring.public_pems(),
        }


def json_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(checkpoint.to_json())
    return data


def _uuid(value: Any) -> UUID:
    return UUID(str(value))

"""The Merkle hashes of many records at once, for a verifier that reads the log in chunks.

``leaf_hashes`` computes exactly ``leaf_hash(canonical_record(...))`` for a list of rows,
with the per-row work cut to one join and one SHA-256 call (the encoded topic field is
reused across rows, the integers packed by ``struct``). ``parents`` hashes one level of a
tree into the next. Both raise ``TypeError``, ``ValueError`` or ``struct.error`` on a row
they cannot encode (a negative version, text where bytes belong): a caller falls back to
``canonical_record``, which says what is wrong.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Any

from ledger.integrity.merkle import RECORD_PREFIX

_LEAF_HEAD = b"\x00" + RECORD_PREFIX
_U64 = struct.Struct(">Q").pack
_U64_PAIR = struct.Struct(">QQ").pack


def leaf_hashes(rows: Sequence[Sequence[Any]], *, hex_ids: bool = False) -> list[bytes]:
    """Leaf hashes of rows (position, aggregate id as text, version, topic, payload bytes).

    The aggregate id is hashed as given, except that with ``hex_ids`` a 32-character id
    (SQLite stores ``uuid.hex``) is cut into the hyphenated UUID form. No parsing: an id in
    any other spelling hashes to something else, so a caller compares with the recorded
    leaf and, on a difference, falls back to ``record_leaf``, which normalises.
    """
    sha256, u64, pair, head = hashlib.sha256, _U64, _U64_PAIR, _LEAF_HEAD
    topics: dict[str, bytes] = {}
    out: list[bytes] = []
    append = out.append
    for position, ident, version, topic, payload in rows:
        field = topics.get(topic)
        if field is None:
            encoded = topic.encode("utf-8")
            field = topics[topic] = u64(len(encoded)) + encoded
        if hex_ids and len(ident) == 32:
            ident = f"{ident[:8]}-{ident[8:12]}-{ident[12:16]}-{ident[16:20]}-{ident[20:]}"
        ident_bytes = ident.encode("utf-8")
        if type(payload) is not bytes:
            payload = bytes(payload)  # memoryview from a driver; str raises TypeError
        append(
            sha256(
                b"".join(
                    (
                        head,
                        pair(position, len(ident_bytes)),
                        ident_bytes,
                        u64(version),
                        field,
                        u64(len(payload)),
                        payload,
                    )
                )
            ).digest()
        )
    return out


def parents(level: Sequence[bytes]) -> list[bytes]:
    """The next level up: ``node_hash`` of each complete pair, an odd last hash dropped."""
    sha256 = hashlib.sha256
    return [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]

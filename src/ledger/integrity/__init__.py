"""Tamper evidence for the ledger: RFC 6962 Merkle trees and Ed25519-signed checkpoints.

The pure core (no database, web or logging; an import contract keeps it so):

- ``merkle`` hashes canonical records into a Merkle tree and makes and checks inclusion and
  consistency proofs;
- ``checkpoint`` signs and verifies checkpoints (tree size + root) and defines the
  ``EvidenceError`` family;
- ``batch`` hashes many records and tree levels at once;
- ``scan`` holds the checks of ``ledger verify`` over chunks of the log.

Its store half, on the recorders' connections:

- ``merkle_log`` the leaves and nodes written in the append's own transaction;
- ``notary`` checkpoints, proofs and receipts over the stored tree;
- ``verify`` ``ledger verify``: recompute the tree from the stored events and compare;
- ``bundle`` and ``bundle_export`` offline-verifiable audit bundles;
- ``keyring`` the signing key and every public key ever used;
- ``protection`` append-only triggers on PostgreSQL.
"""

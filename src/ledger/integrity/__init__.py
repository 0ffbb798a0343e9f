"""Tamper evidence for the ledger: RFC 6962 Merkle trees and Ed25519-signed checkpoints.

``ledger.integrity.merkle`` hashes canonical records into a Merkle tree and makes and
checks inclusion and consistency proofs; ``ledger.integrity.checkpoint`` signs and
verifies checkpoints (tree size + root) and defines the ``IntegrityError`` family;
``ledger.integrity.batch`` hashes many records and tree levels at once and
``ledger.integrity.scan`` holds the checks of ``ledger verify`` over chunks of the log.
Pure functions and small classes only: no database, web or logging.
"""

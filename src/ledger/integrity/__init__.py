"""Tamper evidence for the ledger: RFC 6962 Merkle trees and Ed25519-signed checkpoints.

``ledger.integrity.merkle`` hashes canonical records into a Merkle tree and makes and
checks inclusion and consistency proofs; ``ledger.integrity.checkpoint`` signs and
verifies checkpoints (tree size + root) and defines the ``IntegrityError`` family.
Pure functions and small classes only: no database, web or logging.
"""

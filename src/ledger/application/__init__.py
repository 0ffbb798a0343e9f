"""The application layer: the ledger service, group commit, results, reads."""

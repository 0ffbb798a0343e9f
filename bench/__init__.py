"""Benchmarks of the ledger beside the bare stack it is built on (see bench/run.py).

Modules: ``run`` (the entry point), ``scenarios`` (one function per scenario), ``harness``
(figures, repeated and alternating runs), ``load`` (the HTTP load generator), ``workloads``
(what the virtual users send), ``baseline_app`` (the bare-stack apps), ``servers``
(subprocesses and throw-away schemas), ``dataset`` and ``flows`` (reproducible stores).
"""

"""Benchmarks of the ledger beside the bare stack it is built on (see bench/run.py).

Modules: ``run`` (the entry point, ``python -m bench``), ``scenarios`` (one function per
scenario), ``harness`` (figures, repeated and alternating runs), ``load`` (the HTTP load
generator), ``workloads`` (what the virtual users send), ``baseline_app`` (the bare-stack
apps), ``servers`` (subprocesses and throw-away schemas), ``tcp_serve`` (uvicorn with a
TCP_NODELAY-capable socket), ``dataset`` and ``flows`` (reproducible stores), ``profile``
(py-spy over a loaded worker) and ``writer`` (the command path in-process, without HTTP).
"""

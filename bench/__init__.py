"""Benchmarks of the ledger beside the bare stack it is built on (see bench/run.py).

Modules: ``run`` (the entry point, ``python -m bench``), ``scenarios`` (one function per
scenario), ``harness`` (figures, repeated and alternating runs), ``load`` (the HTTP load
generator and its raw connection), ``pool`` (those connections pooled for open-loop use;
the fault tests' overload test sends through it), ``workloads`` (what the virtual users
send), ``baseline_app`` (the bare-stack apps), ``servers`` (subprocesses and throw-away
schemas), ``tcp_serve`` (uvicorn with a TCP_NODELAY-capable socket), ``dataset`` and
``flows`` (reproducible stores), ``profile`` (py-spy over a loaded worker) and ``writer``
(the command path in-process, without HTTP).
``projection_lag`` and ``audit_page`` are the two read-side benchmarks.

Imports go one way: ``tests/`` may import ``bench`` (``tests/bench``, the overload fault
test); ``bench`` should not import ``tests`` (``bench.integrity`` still borrows
``tests.support``'s world, to be moved).
"""

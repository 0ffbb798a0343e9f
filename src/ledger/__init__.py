"""The Campaign Decision Ledger's core: commands in, immutable events out, decision rights
enforced at command time. Imports nothing of ``projections`` or ``api``.

Packages, from the inside out:

``domain``       aggregates and their events (Organization, Campaign, Recommendation,
                 CommandRecord); stored topics ``ledger.domain.<module>:<Aggregate>.<Event>``
                 never move. Imports no web framework, driver or logging setup.
``policy``       who may do what: the decision rights (``rights``) and the manager's
                 approval limit (``limits``). Imports only the domain and the public face.
``handlers``     one function per command: load, ask the policy, act (``registry`` maps
                 command classes to handlers; ``context`` gives them the aggregates).
``application``  the ledger service (``service.Ledger``), the one ``decide`` step both it
                 and group commit use, ``idempotency`` (guard, replay, the typed stored
                 outcome), group commit (``group_commit`` queue and writer thread, ``batch``
                 decide-commit-settle steps), command results and reads straight from the
                 event store under the visibility rules.
``persistence``  the event store chosen by ``LEDGER_DATABASE_URL`` (``store``), the
                 recorders that write the Merkle log in the append's transaction, the one
                 SQLite/PostgreSQL seam for plain SQL (``sql``), positions, readiness.
``integrity``    tamper evidence: the pure core (``merkle``, ``checkpoint``, ``batch``,
                 ``scan``: no database) and its store half (``merkle_log``, ``notary``,
                 ``verify``, ``bundle``, ``bundle_export``, ``keyring``, ``protection``).

The public face: ``commands`` (what a caller asks), ``values`` (money, roles, channels),
``errors`` (the refusal and configuration error trees, ADR 0003), ``settings`` (the
environment), ``identity`` (who acts), ``jsonready`` (the one JSON-ready conversion: one
spelling of an instant).
See docs/architecture.md.
"""

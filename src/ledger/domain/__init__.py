"""The aggregates: pure state machines with no I/O."""

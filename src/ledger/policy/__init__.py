"""Decision rights: who may do what."""

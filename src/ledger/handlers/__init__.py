"""Command handlers: load, check the rules, act. One function per command."""

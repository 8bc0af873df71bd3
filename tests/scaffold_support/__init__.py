"""Helpers for the scaffold tests: real server processes, tokens and ChatKit request bodies."""

"""Deciding whether a file runs on a target (the loaders' search, the checks) and wording it."""

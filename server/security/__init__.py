"""Passwords, tokens, access checks and rate limits."""

"""The one exception class for a user's mistake.

A `UserError` is printed by the command line as one line on stderr with exit code 2, never as
a traceback. Every loader and check that reads what a user wrote raises it (or a subclass) with
a message naming the file, row or field, and the value.
"""
from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for; printed as one line, exit code 2."""

"""Struct-of-arrays storage for agents whose monthly update runs on numpy arrays.

A `Table` keeps one numpy array per attribute; rows are appended and never move, so a row
number is an agent's identity for the whole run. Arrays are replaced when they grow: read
them through the table (`table.state`), never keep a reference across an append.
"""
from __future__ import annotations

import numpy as np


class Table:
    """Rows of agents; subclasses declare `FIELDS = {name: (dtype, fill)}`."""

    FIELDS: dict[str, tuple[type, object]] = {}

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self._capacity = max(int(capacity), 16)
        for name, (dtype, fill) in self.FIELDS.items():
            setattr(self, name, np.full(self._capacity, fill, dtype=dtype))

    def append(self, count: int) -> np.ndarray:
        """Add `count` rows filled with each field's default; returns their row numbers."""
        count = int(count)
        need = self.n + count
        if need > self._capacity:
            new_cap = max(need, int(self._capacity * 1.5))
            for name, (dtype, fill) in self.FIELDS.items():
                old = getattr(self, name)
                grown = np.full(new_cap, fill, dtype=dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
            self._capacity = new_cap
        rows = np.arange(self.n, need, dtype=np.int64)
        self.n = need
        return rows

    def __len__(self) -> int:
        return self.n

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self.FIELDS)

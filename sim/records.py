"""The journey log: one row per transition of a child (the monthly and yearly tables are
built by sim/recorder.py from the measures of sim/measures.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.states import Reason, State

if TYPE_CHECKING:
    import pandas as pd


class JourneyLog:
    """One row per transition: child, month, from-state, to-state, reason (Ciw-style records)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._chunks: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: np.ndarray, month: int, frm: np.ndarray, to, reason):
        """Log moves of `rows` from `frm` to `to` for `reason` (each a value per row, or one for all)."""
        if not self.enabled or rows.size == 0:
            return
        self._chunks.append((rows.astype(np.int32), np.full(rows.size, month, np.int16),
                             frm.astype(np.int8), np.broadcast_to(to, rows.shape).astype(np.int8),
                             np.broadcast_to(reason, rows.shape).astype(np.int8)))

    def __len__(self) -> int:
        return sum(c[0].size for c in self._chunks)

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("child", "month", "from_state", "to_state", "reason")
        if not self._chunks:
            return {n: np.zeros(0, dtype=np.int32) for n in names}
        return {n: np.concatenate([c[i] for c in self._chunks]) for i, n in enumerate(names)}

    def to_frame(self) -> "pd.DataFrame":
        """The log as a DataFrame with state and reason names."""
        import pandas as pd

        a = self.arrays()
        df = pd.DataFrame(a)
        for col in ("from_state", "to_state"):
            df[col] = pd.Categorical.from_codes(df[col], [s.name for s in State])
        df["reason"] = pd.Categorical.from_codes(df["reason"], [r.name for r in Reason])
        return df

    def of_child(self, row: int) -> "pd.DataFrame":
        df = self.to_frame()
        return df[df["child"] == row].reset_index(drop=True)


def yearly_table(monthly: "pd.DataFrame") -> "pd.DataFrame":
    """The yearly table of a monthly table (England scale): `sim.measures.yearly`, kept here
    for callers of the old name."""
    from sim.measures import yearly

    return yearly(monthly)

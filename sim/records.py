"""What a run records: the journey log of transitions, monthly series, and the yearly table.

Stocks are named `n_<what>` and read at the end of a month; flows are named `new_<event>`
and summed over the month; money is `spend_<what>_gbp`, summed over the month. The yearly
table reads stocks at 31 March and sums flows and spend over the year ending then (the
financial year), as the DfE and the report count them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.states import Reason, State


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

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame with state and reason names."""
        a = self.arrays()
        df = pd.DataFrame(a)
        for col in ("from_state", "to_state"):
            df[col] = pd.Categorical.from_codes(df[col], [s.name for s in State])
        df["reason"] = pd.Categorical.from_codes(df["reason"], [r.name for r in Reason])
        return df

    def of_child(self, row: int) -> pd.DataFrame:
        df = self.to_frame()
        return df[df["child"] == row].reset_index(drop=True)


def is_flow(name: str) -> bool:
    return name.startswith("new_") or name.startswith("spend_") or name == "child_months"


def yearly_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """Stocks at 31 March, flows and spend summed over the 12 months ending then.

    `monthly` is indexed by month number (0 = 31 March 2015) with a `year` and `month_of_year`
    column. The first year's flows are missing (NaN): the run starts at its 31 March.
    """
    march = monthly[monthly["month_of_year"] == 3]
    out = {}
    for col in monthly.columns:
        if col in ("year", "month_of_year"):
            continue
        if is_flow(col):
            sums = monthly[col].groupby((monthly.index + 11) // 12).sum(min_count=1)
            vals = [np.nan if m == 0 else sums.get(m // 12, np.nan) for m in march.index]
            out[col] = vals
        else:
            out[col] = march[col].to_numpy()
    table = pd.DataFrame(out, index=pd.Index(march["year"].to_numpy(), name="year"))
    return table

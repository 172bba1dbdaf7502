"""Publishing counts from a return as the DfE publishes local figures.

A count from 1 to 5 is shown as `c`; when a table shows a total and its parts, one hidden part
could be recovered by subtraction, so another is hidden too (secondary suppression: the
smallest non-zero part of the same line, or the total when no part is left to hide). Zero is
shown: it reveals no child. Every table and number that caresim prints or writes from a return
goes through `suppress_table` or `suppress_count`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

HIDDEN = "c"
SMALLEST_SHOWN = 6


def is_small(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return (values >= 1) & (values < SMALLEST_SHOWN)


def suppress_count(value: float) -> str:
    """One count as text: `c` from 1 to 5, else the number with thousands separators."""
    return HIDDEN if is_small([value])[0] else f"{int(round(value)):,}"


def hidden_cells(table: pd.DataFrame, partitions: Sequence[tuple[str | None, Sequence[str]]]) -> np.ndarray:
    """Which cells to hide: the small counts, then enough others that none can be recovered.

    `partitions` lists (total column, part columns) whose parts add up to the total on every
    line (`None` for parts shown without their total, which still reveal nothing alone).
    """
    values = table.to_numpy(dtype=float)
    hide = is_small(values)
    col = {name: i for i, name in enumerate(table.columns)}
    changed = True
    while changed:
        changed = False
        for total, parts in partitions:
            if total is None:
                continue
            cells = [col[total]] + [col[p] for p in parts]
            for r in range(values.shape[0]):
                hidden = [c for c in cells if hide[r, c]]
                if len(hidden) != 1:
                    continue
                shown_parts = [col[p] for p in parts if not hide[r, col[p]] and values[r, col[p]] > 0]
                extra = min(shown_parts, key=lambda c: values[r, c]) if shown_parts else col[total]
                if not hide[r, extra]:
                    hide[r, extra] = True
                    changed = True
    return hide


def suppress_table(table: pd.DataFrame, partitions: Sequence[tuple[str | None, Sequence[str]]] = ()) -> pd.DataFrame:
    """The table as text with small counts (and what would reveal them) shown as `c`."""
    hide = hidden_cells(table, partitions)
    out = table.map(lambda v: f"{int(round(v)):,}" if pd.notna(v) else "").astype(object)
    out = out.mask(hide, HIDDEN)
    return out

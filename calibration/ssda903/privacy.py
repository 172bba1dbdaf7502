"""Publishing counts from a return as the DfE publishes local figures: primary and secondary suppression.

A count from 1 to 5 is shown as `c` (primary suppression). Published cells are bound by sums:
a total and its parts, a region and its authorities, children in care and their placements, a
year's stock and the last one's with the year's entries and exits. One hidden count among shown
cells of such a sum is recovered by subtraction, so other cells are hidden too (secondary
suppression) until no hidden small count follows from what is shown: not by one subtraction,
nor by any combination of the published sums (checked exactly, by linear algebra: a hidden cell
is determined when every solution of the sums on the hidden cells gives it the same value). The
cell hidden is the smallest non-zero shown cell of a sum that holds a determined one. Zero is
shown: it reveals no child.

Every table and number caresim prints or writes from a return goes through this module:
`suppress_table` / `hidden_cells` (a table with total and part columns), `suppress_count` (one
number), `hidden_yearly` (tables by year of the model's counts, one per authority and their sum:
`caresim region`, `run --data` and the page's authority view).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

HIDDEN = "c"
SMALLEST_SHOWN = 6
# sums that the model's yearly counts obey exactly (sim/measures.py): placements add up to the
# children in care, and the stock moves by the year's entries less its exits
PLACEMENT_SUM = ("n_in_care", ("n_foster", "n_residential", "n_other_care"))
STOCK_FLOW = ("n_in_care", "new_entries", "new_exits")

Relation = tuple[np.ndarray, np.ndarray]  # cell indices and coefficients: sum(coef * value) == 0


def is_small(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return (values >= 1) & (values < SMALLEST_SHOWN)


def suppress_count(value: float) -> str:
    """One count as text: `c` from 1 to 5, else the number with thousands separators."""
    return HIDDEN if is_small([value])[0] else f"{int(round(value)):,}"


def protect(values: np.ndarray, relations: Sequence[Relation], hidden: np.ndarray | None = None) -> np.ndarray:
    """Which cells of `values` (flat) to hide: the small counts (rounded), those in `hidden`, and
    enough others that no small count follows from the shown cells through `relations`."""
    values = np.asarray(values, dtype=float)
    primary = is_small(np.round(values))
    hide = primary | (np.zeros(values.shape, bool) if hidden is None else np.asarray(hidden, bool))
    protected = primary | (np.zeros(values.shape, bool) if hidden is None else np.asarray(hidden, bool))
    relations = [(np.asarray(c, int), np.asarray(k, float)) for c, k in relations]
    by_cell: dict[int, list[int]] = {}
    for r, (cells, _) in enumerate(relations):
        for c in cells:
            by_cell.setdefault(int(c), []).append(r)
    while True:
        exposed = _determined(hide, protected, relations, by_cell)
        if not exposed:
            return hide
        for cell in exposed:
            if not _hide_one_more(cell, hide, values, relations, by_cell):  # pragma: no cover - see below
                raise RuntimeError("a hidden count is determined by hidden cells only: inconsistent sums")


def _hide_one_more(cell: int, hide: np.ndarray, values: np.ndarray, relations, by_cell) -> bool:
    """Hide the smallest non-zero shown cell of a sum holding `cell` (a zero if none); False if
    every sum holding it is hidden already."""
    best = None
    for r in by_cell.get(cell, []):
        for c in relations[r][0]:
            if hide[c]:
                continue
            rank = (values[c] == 0, abs(values[c]), int(c))
            best = rank if best is None or rank < best else best
    if best is None:
        # determined through other hidden cells: widen the search to their sums
        for r in by_cell.get(cell, []):
            for other in relations[r][0]:
                if other != cell and hide[other] and any(not hide[c] for rr in by_cell[int(other)]
                                                         for c in relations[rr][0]):
                    return _hide_one_more(int(other), hide, values, relations, by_cell)
        return False
    hide[best[2]] = True
    return True


def _determined(hide: np.ndarray, protected: np.ndarray, relations, by_cell) -> list[int]:
    """Protected hidden cells whose value follows from the shown cells through the relations:
    first those alone among hidden cells in a relation, else by the null space of the relations
    restricted to the hidden cells, one connected group of hidden cells at a time."""
    alone = []
    for cells, _ in relations:
        h = cells[hide[cells]]
        if h.size == 1 and protected[h[0]]:
            alone.append(int(h[0]))
    if alone:
        return sorted(set(alone))
    hidden = np.flatnonzero(hide)
    group = {int(c): int(c) for c in hidden}

    def root(c: int) -> int:
        while group[c] != c:
            group[c] = group[group[c]]
            c = group[c]
        return c

    for cells, _ in relations:
        h = [int(c) for c in cells if hide[c]]
        for c in h[1:]:
            group[root(c)] = root(h[0])
    members: dict[int, list[int]] = {}
    for c in hidden:
        members.setdefault(root(int(c)), []).append(int(c))
    exposed = []
    for cells in members.values():
        if not protected[cells].any():
            continue
        column = {c: j for j, c in enumerate(cells)}
        rows = sorted({r for c in cells for r in by_cell.get(c, [])})
        if not rows:
            continue
        a = np.zeros((len(rows), len(cells)))
        for i, r in enumerate(rows):
            for c, k in zip(*relations[r]):
                if int(c) in column:
                    a[i, column[int(c)]] += k
        _, s, vt = np.linalg.svd(a)
        rank = int((s > 1e-9 * max(1.0, s.max(initial=0))).sum())
        null = vt[rank:]  # every solution on the hidden cells moves along these directions
        free = np.abs(null).max(axis=0, initial=0) > 1e-9
        exposed += [c for c in cells if protected[c] and not free[column[c]]]
    return exposed


def hidden_cells(table: pd.DataFrame, partitions: Sequence[tuple[str | None, Sequence[str]]]) -> np.ndarray:
    """Which cells of `table` to hide: the small counts, then enough others that none can be recovered.

    `partitions` lists (total column, part columns) whose parts add up to the total on every
    line (`None` for parts shown without their total, which reveal nothing alone).
    """
    values = table.to_numpy(dtype=float)
    n_rows, n_cols = values.shape
    col = {name: i for i, name in enumerate(table.columns)}
    relations = []
    for total, parts in partitions:
        if total is None:
            continue
        for r in range(n_rows):
            cells = [r * n_cols + col[total]] + [r * n_cols + col[p] for p in parts]
            relations.append((np.array(cells), np.array([1.0] + [-1.0] * len(parts))))
    return protect(values.ravel(), relations).reshape(values.shape)


def suppress_table(table: pd.DataFrame, partitions: Sequence[tuple[str | None, Sequence[str]]] = ()) -> pd.DataFrame:
    """The table as text with small counts (and what would reveal them) shown as `c`."""
    hide = hidden_cells(table, partitions)
    out = table.map(lambda v: f"{int(round(v)):,}" if pd.notna(v) else "").astype(object)
    out = out.mask(hide, HIDDEN)
    return out


def hidden_yearly(tables: Mapping[str, pd.DataFrame], counts: Sequence[str], total: str | None = None,
                  hidden: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Which counts to hide in yearly tables of the model's measures (index: year), all published together.

    `counts` are the columns that count children (protected); `total`, if given, names the table
    that is the sum of all the others (a region and its authorities); `hidden` marks cells to hide
    whatever their value (e.g. a mean over replications of which one was hidden; its value may be
    NaN). Other NaN cells are absent and bind no sum. The sums used:
    the total and its tables, PLACEMENT_SUM and STOCK_FLOW within each table, where their columns
    are published. Returns a boolean frame per table over `counts`.
    """
    names = list(tables)
    years = tables[names[0]].index
    counts = [c for c in counts if all(c in t.columns for t in tables.values())]
    shape = (len(names), len(years), len(counts))
    values = np.stack([tables[n].loc[years, counts].to_numpy(dtype=float) for n in names])
    extra = np.zeros(shape, bool)
    if hidden is not None:
        for i, n in enumerate(names):
            if n in hidden:
                extra[i] |= hidden[n].loc[years, counts].to_numpy(dtype=bool)
    nan = ~np.isfinite(values) & ~extra  # absent (a first year's flows), not hidden
    index = np.arange(values.size).reshape(shape)
    col = {c: j for j, c in enumerate(counts)}
    relations: list[Relation] = []

    def add(cells: list[int], coefficients: list[float]) -> None:
        if not any(nan.ravel()[c] for c in cells):  # a missing value (a first year's flows) binds nothing
            relations.append((np.array(cells), np.array(coefficients, dtype=float)))

    for y in range(len(years)):
        for j in range(len(counts)):
            if total is not None:
                t = names.index(total)
                parts = [i for i in range(len(names)) if i != t]
                add([index[t, y, j], *(index[i, y, j] for i in parts)], [1.0] + [-1.0] * len(parts))
        for i in range(len(names)):
            whole, parts = PLACEMENT_SUM
            if whole in col and all(p in col for p in parts):
                add([index[i, y, col[whole]], *(index[i, y, col[p]] for p in parts)], [1.0, -1.0, -1.0, -1.0])
            stock, entries, exits = STOCK_FLOW
            if y > 0 and stock in col and entries in col and exits in col:
                add([index[i, y, col[stock]], index[i, y - 1, col[stock]], index[i, y, col[entries]],
                     index[i, y, col[exits]]], [1.0, -1.0, -1.0, 1.0])
    hide = protect(np.nan_to_num(values, nan=0.0).ravel(), relations, extra.ravel()).reshape(shape) & ~nan
    return {n: pd.DataFrame(hide[i], index=years, columns=counts) for i, n in enumerate(names)}

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
`caresim region`, `run --data` and the page's authority view) and `hidden_counts` (the same on
one array of such tables: a region's store, `calibration.region.store_rows`); `count_columns`
names the measures that count children.
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


def count_columns() -> list[str]:
    """Measures that count children (their unit starts with "children"): suppressed when shown.
    Here, not in calibration/local.py, so that a region's driver suppresses without importing
    the local fit (~0.2 s on its first replication)."""
    from sim.measures import BY_NAME

    return [m.name for m in BY_NAME.values() if m.unit.startswith("children")]


def suppress_count(value: float) -> str:
    """One count as text: `c` from 1 to 5, else the number with thousands separators."""
    return HIDDEN if is_small([value])[0] else f"{int(round(value)):,}"


class Sums:
    """Relations packed into flat arrays: relation r is `coefs[start[r]:start[r + 1]]` times the
    values of `cells[start[r]:start[r + 1]]`, summing to 0. A region's 150 authorities give
    ~2,000 relations over ~35,000 cells: kept as arrays, finding the determined cells is a few
    numpy calls rather than a Python loop over every relation."""

    def __init__(self, start: np.ndarray, cells: np.ndarray, coefs: np.ndarray, size: int):
        self.start, self.cells, self.coefs = start, cells, coefs
        self.relation = np.repeat(np.arange(len(start) - 1), np.diff(start))  # of each entry
        order = np.argsort(cells, kind="stable")  # a cell's relations in their order
        self.by_cell = self.relation[order]
        self.by_cell_start = np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=size))])

    @classmethod
    def of(cls, relations: Sequence[Relation], size: int) -> "Sums":
        widths = [len(c) for c, _ in relations]
        start = np.concatenate([[0], np.cumsum(widths, dtype=int)]).astype(int)
        cells = np.concatenate([np.asarray(c, int) for c, _ in relations]) if relations else np.zeros(0, int)
        coefs = np.concatenate([np.asarray(k, float) for _, k in relations]) if relations else np.zeros(0)
        return cls(start, cells, coefs, size)

    def cells_of(self, r: int) -> list[int]:
        return self.cells[self.start[r]:self.start[r + 1]].tolist()

    def relations_of(self, cell: int) -> list[int]:
        return self.by_cell[self.by_cell_start[cell]:self.by_cell_start[cell + 1]].tolist()


def protect(values: np.ndarray, relations: Sequence[Relation] | Sums, hidden: np.ndarray | None = None) -> np.ndarray:
    """Which cells of `values` (flat) to hide: the small counts (rounded), those in `hidden`, and
    enough others that no small count follows from the shown cells through `relations`."""
    values = np.asarray(values, dtype=float)
    hide = is_small(np.round(values)) | (np.zeros(values.shape, bool) if hidden is None else np.asarray(hidden, bool))
    protected = hide.copy()
    sums = relations if isinstance(relations, Sums) else Sums.of(relations, values.size)
    while True:
        exposed = _determined(hide, protected, sums)
        if not exposed:
            return hide
        for cell in exposed:
            if not _hide_one_more(cell, hide, values, sums):  # pragma: no cover - see below
                raise RuntimeError("a hidden count is determined by hidden cells only: inconsistent sums")


def _hide_one_more(cell: int, hide: np.ndarray, values: np.ndarray, sums: Sums) -> bool:
    """Hide the smallest non-zero shown cell of a sum holding `cell` (a zero if none); False if
    every sum holding it is hidden already."""
    best = None
    for r in sums.relations_of(cell):
        for c in sums.cells_of(r):
            if hide[c]:
                continue
            rank = (values[c] == 0, abs(values[c]), c)
            best = rank if best is None or rank < best else best
    if best is None:
        # determined through other hidden cells: widen the search to their sums
        for r in sums.relations_of(cell):
            for other in sums.cells_of(r):
                if other != cell and hide[other] and any(not hide[c] for rr in sums.relations_of(other)
                                                         for c in sums.cells_of(rr)):
                    return _hide_one_more(other, hide, values, sums)
        return False
    hide[best[2]] = True
    return True


def _determined(hide: np.ndarray, protected: np.ndarray, sums: Sums) -> list[int]:
    """Protected hidden cells whose value follows from the shown cells through the relations:
    first those alone among hidden cells in a relation, else by the null space of the relations
    restricted to the hidden cells, one connected group of hidden cells at a time (groups in the
    order of their first cell, a group's cells in order)."""
    held = hide[sums.cells]  # each entry of a relation: is its cell hidden
    n_hidden = np.bincount(sums.relation[held], minlength=len(sums.start) - 1)
    alone = sums.cells[held & (n_hidden[sums.relation] == 1)]
    alone = np.unique(alone[protected[alone]])
    if alone.size:
        return alone.tolist()
    hidden = np.flatnonzero(hide)
    relation, cells, coefs = sums.relation[held], sums.cells[held], sums.coefs[held]
    node = np.searchsorted(hidden, cells)  # each hidden entry's cell, as its place among the hidden
    # a group is the hidden cells linked through relations: label each by the first cell it is
    # linked to, passing the least label through every relation until none changes
    label = np.arange(hidden.size)
    while True:
        least = np.full(len(sums.start) - 1, hidden.size)
        np.minimum.at(least, relation, label[node])
        linked = label.copy()
        np.minimum.at(linked, node, least[relation])
        if np.array_equal(linked, label):
            break
        label = linked
    firsts, group = np.unique(label, return_inverse=True)  # groups in the order of their first cell
    members = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[members], np.arange(firsts.size + 1))
    entry_group = group[node]
    entries = np.argsort(entry_group, kind="stable")
    entry_bounds = np.searchsorted(entry_group[entries], np.arange(firsts.size + 1))
    exposed = []
    for g in range(firsts.size):
        group_cells = hidden[members[bounds[g]:bounds[g + 1]]]
        if not protected[group_cells].any():
            continue
        e = entries[entry_bounds[g]:entry_bounds[g + 1]]
        if not e.size:
            continue
        rows = np.unique(relation[e])
        a = np.zeros((rows.size, group_cells.size))
        np.add.at(a, (np.searchsorted(rows, relation[e]), np.searchsorted(group_cells, cells[e])), coefs[e])
        _, s, vt = np.linalg.svd(a)
        rank = int((s > 1e-9 * max(1.0, s.max(initial=0))).sum())
        null = vt[rank:]  # every solution on the hidden cells moves along these directions
        free = np.abs(null).max(axis=0, initial=0) > 1e-9
        exposed += group_cells[protected[group_cells] & ~free].tolist()
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
    values = np.stack([tables[n].loc[years, counts].to_numpy(dtype=float) for n in names])
    extra = None
    if hidden is not None:
        extra = np.zeros(values.shape, bool)
        for i, n in enumerate(names):
            if n in hidden:
                extra[i] |= hidden[n].loc[years, counts].to_numpy(dtype=bool)
    hide = hidden_counts(values, counts, None if total is None else names.index(total), extra)
    return {n: pd.DataFrame(hide[i], index=years, columns=counts) for i, n in enumerate(names)}


def hidden_counts(values: np.ndarray, counts: Sequence[str], total: int | None = None,
                  hidden: np.ndarray | None = None) -> np.ndarray:
    """`hidden_yearly` on arrays: `values[table, year, count]` (the columns `counts`), `total` the
    position of the total's table if any, `hidden` cells to hide whatever their value; which to
    hide, as a boolean array of the same shape."""
    values = np.asarray(values, dtype=float)
    shape = n_tables, n_years, n_counts = values.shape
    extra = np.zeros(shape, bool) if hidden is None else np.asarray(hidden, bool)
    nan = ~np.isfinite(values) & ~extra  # absent (a first year's flows), not hidden
    index = np.arange(values.size).reshape(shape)
    col = {c: j for j, c in enumerate(counts)}
    # every sum as a block of relations of one width, each with a key that orders them as a loop
    # would add them (year by year: the total's by column, then each table's placement and stock
    # sums): the order picks which cell hides first where two would do
    per_year = n_counts + 2 * n_tables
    tables = np.arange(n_tables)
    blocks = []
    if total is not None:
        parts = [i for i in range(n_tables) if i != total]
        cells = np.concatenate([index[total][:, :, None], index[parts].transpose(1, 2, 0)], axis=2)
        keys = np.arange(n_years)[:, None] * per_year + np.arange(n_counts)
        blocks.append((keys, cells, [1.0] + [-1.0] * len(parts)))
    whole, placements = PLACEMENT_SUM
    if whole in col and all(p in col for p in placements):
        cells = np.stack([index[:, :, col[c]] for c in (whole, *placements)], axis=-1).transpose(1, 0, 2)
        keys = np.arange(n_years)[:, None] * per_year + n_counts + 2 * tables
        blocks.append((keys, cells, [1.0, -1.0, -1.0, -1.0]))
    stock, entries, exits = STOCK_FLOW
    if n_years > 1 and stock in col and entries in col and exits in col:
        cells = np.stack([index[:, 1:, col[stock]], index[:, :-1, col[stock]], index[:, 1:, col[entries]],
                          index[:, 1:, col[exits]]], axis=-1).transpose(1, 0, 2)
        keys = np.arange(1, n_years)[:, None] * per_year + n_counts + 2 * tables + 1
        blocks.append((keys, cells, [1.0, -1.0, -1.0, 1.0]))
    kept = []
    for k, c, w in blocks:
        k, c = k.ravel(), c.reshape(-1, c.shape[-1])
        bound = ~nan.ravel()[c].any(axis=1)  # a missing value (a first year's flows) binds nothing
        kept.append((k[bound], c[bound], w))
    hide = protect(np.nan_to_num(values, nan=0.0).ravel(), _packed(kept, values.size), extra.ravel())
    return hide.reshape(shape) & ~nan


def _packed(blocks: list[tuple[np.ndarray, np.ndarray, list[float]]], size: int) -> Sums:
    """Blocks of relations (keys, cells: one relation a row, coefficients) as `Sums`, by key."""
    keys = np.concatenate([k for k, _, _ in blocks]) if blocks else np.zeros(0, int)
    widths = np.concatenate([np.full(len(k), c.shape[1]) for k, c, _ in blocks]) if blocks else np.zeros(0, int)
    order = np.argsort(keys, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    start = np.concatenate([[0], np.cumsum(widths[order])]).astype(int)
    cells, coefs = np.zeros(start[-1], int), np.zeros(start[-1])
    first = 0
    for k, c, w in blocks:
        at = start[rank[first:first + len(k)]][:, None] + np.arange(c.shape[1])
        cells[at], coefs[at] = c, w
        first += len(k)
    return Sums(start, cells, coefs, size)

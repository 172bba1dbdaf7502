"""The fan chart every page and report draws: a centre line and a 5th-95th percentile band.

The numbers come from `runner.summary.summarise` (one row per year, `<measure>_<statistic>`
columns); this module only draws them, so that `caresim compare`'s PNG charts and the
dashboard show the same statistics the same way.
"""
from __future__ import annotations


def fan(ax, rows, measure: str, *, colour: str, label: str, centre: str = "mean", divisor: float = 1.0,
        alpha: float = 0.15, linewidth: float | None = None) -> None:
    """Draw `measure`'s `centre` statistic and its p05-p95 band, year by year, on `ax`.

    Args:
        ax: a matplotlib Axes.
        rows: summary rows of one scenario (columns `year`, `<measure>_<centre>`, `_p05`, `_p95`).
        measure: the summary name of the measure (e.g. "children_in_care", "savings_net_gbp").
        centre: "mean" or "median".
        divisor: unit of the axis (1e3 for thousands, 1e9 for GBP bn).
    """
    ok = rows[f"{measure}_{centre}"].notna()
    years = rows["year"][ok]
    ax.plot(years, rows[f"{measure}_{centre}"][ok] / divisor, color=colour, label=label, linewidth=linewidth)
    ax.fill_between(years, rows[f"{measure}_p05"][ok] / divisor, rows[f"{measure}_p95"][ok] / divisor,
                    color=colour, alpha=alpha, linewidth=0)


def waterfall(ax, labels, values, *, total_label: str = "net saving", divisor: float = 1.0,
              unit: str = "") -> None:
    """A waterfall on `ax`: each value a bar from the running total before it to after it (green
    for a saving, red for a cost), then the total as a grey bar from zero; the bars' labels
    give the values. The values sum to the total bar exactly (it is drawn from their sum)."""
    import numpy as np

    values = np.asarray(values, dtype=float) / divisor
    ends = np.cumsum(values)
    starts = ends - values
    x = np.arange(len(values) + 1)
    colours = ["tab:green" if v >= 0 else "tab:red" for v in values] + ["0.45"]
    bottoms = np.append(np.minimum(starts, ends), min(0.0, ends[-1] if len(ends) else 0.0))
    heights = np.append(np.abs(values), abs(ends[-1]) if len(ends) else 0.0)
    ax.bar(x, heights, bottom=bottoms, color=colours, width=0.7)
    for i in range(len(values) - 1):  # connectors from one bar's end to the next bar's start
        ax.plot([x[i] + 0.35, x[i + 1] - 0.35], [ends[i], ends[i]], color="0.6", linewidth=0.8)
    for xi, v, top in zip(x, [*values, ends[-1] if len(ends) else 0.0], bottoms + heights):
        ax.annotate(f"{v:+.2f}{unit}" if xi < len(values) else f"{v:.2f}{unit}", (xi, top), ha="center",
                    va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, [*labels, total_label], rotation=30, ha="right", fontsize=8)

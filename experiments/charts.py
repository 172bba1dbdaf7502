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

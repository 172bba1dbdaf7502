"""What a sensitivity study writes: `indices.csv`, a tornado chart, a Sobol chart and `report.md`.

The report answers a reader's first question about a forecast - which assumptions is it resting
on? - from `runner.sensitivity`'s tidy indices: for each output, the inputs whose total Sobol
index is clearly above the dummy's (they matter), the Morris ranking of all inputs (what was
screened out), the dummy check, and every index with its 95% bootstrap interval. The variance
split by source (`runner.variance_sources`) has its own table for `compare`'s report.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from runner.sensitivity import DUMMY, INDEX_COLUMNS, SensitivityResult, dummy_checks

INDICES_FILE = "indices.csv"
TORNADO_FILE = "tornado.png"
SOBOL_FILE = "sobol.png"
REPORT_FILE = "report.md"
STUDY_FILE = "study.json"  # what was run and when, for a reader of indices.csv such as the page


def write_sensitivity_outputs(result: SensitivityResult, folder: str | Path, *, title: str,
                              settings: Mapping[str, Any] | None = None,
                              labels: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write indices.csv, tornado.png, sobol.png and report.md into `folder`; their paths by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"indices": folder / INDICES_FILE, "tornado": folder / TORNADO_FILE,
             "sobol": folder / SOBOL_FILE, "report": folder / REPORT_FILE}
    result.indices[INDEX_COLUMNS].to_csv(paths["indices"], index=False, float_format="%.6g")
    tornado_chart(result.indices, paths["tornado"], labels)
    sobol_chart(result.indices, paths["sobol"], labels)
    paths["report"].write_text(sensitivity_markdown(result, title=title, settings=settings, labels=labels))
    paths["study"] = write_study_note(folder, title, settings or {})
    return paths


def write_study_note(folder: str | Path, title: str, settings: Mapping[str, Any], day: str | None = None) -> Path:
    """`study.json`: the study's title, settings and the day it was written (UTC, default today)."""
    import datetime
    import json

    day = day or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    path = Path(folder) / STUDY_FILE
    path.write_text(json.dumps({"title": title, "date": day, "settings": {k: str(v) for k, v in settings.items()}},
                               indent=1) + "\n")
    return path


def _select(indices: pd.DataFrame, method: str, index: str, output: str | None = None) -> pd.DataFrame:
    chosen = indices[(indices["method"] == method) & (indices["index"] == index)]
    return chosen if output is None else chosen[chosen["output"] == output]


def _outputs(indices: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(indices["output"]))


def tornado_chart(indices: pd.DataFrame, path: str | Path, labels: Mapping[str, str] | None = None,
                  show: int = 15) -> None:
    """Morris mu_star with its interval, largest first, one panel per output; the dummy in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = _outputs(indices)
    figure, axes = plt.subplots(1, len(outputs), figsize=(5.5 * len(outputs), 0.32 * show + 1.6), squeeze=False)
    for axis, output in zip(axes[0], outputs):
        table = _select(indices, "morris", "mu_star", output).sort_values("value", ascending=False)
        shown = pd.concat([table[table["input"] != DUMMY].head(show - 1), table[table["input"] == DUMMY]])
        shown = shown.iloc[::-1]
        errors = [(shown["value"] - shown["lo"]).clip(lower=0), (shown["hi"] - shown["value"]).clip(lower=0)]
        colours = ["0.65" if name == DUMMY else "tab:blue" for name in shown["input"]]
        axis.barh(range(len(shown)), shown["value"], xerr=errors, color=colours, capsize=2)
        axis.set_yticks(range(len(shown)), [(labels or {}).get(name, name) for name in shown["input"]], fontsize=8)
        axis.set_title((labels or {}).get(output, output), fontsize=10)
        axis.set_xlabel("Morris mu* (95% interval)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def sobol_chart(indices: pd.DataFrame, path: str | Path, labels: Mapping[str, str] | None = None) -> None:
    """First-order and total Sobol indices with intervals, one panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outputs = _outputs(indices)
    figure, axes = plt.subplots(len(outputs), 1, figsize=(9, 2.8 * len(outputs)), squeeze=False)
    for axis, output in zip(axes[:, 0], outputs):
        total = _select(indices, "sobol", "ST", output).sort_values("value", ascending=False)
        names = list(total["input"])
        first = _select(indices, "sobol", "S1", output).set_index("input").loc[names]
        total = total.set_index("input")
        x = np.arange(len(names))
        for offset, table, label in ((-0.2, first, "first-order S1"), (0.2, total, "total ST")):
            errors = [(table["value"] - table["lo"]).clip(lower=0), (table["hi"] - table["value"]).clip(lower=0)]
            axis.bar(x + offset, table["value"], width=0.4, yerr=errors, capsize=2, label=label)
        axis.set_xticks(x, [(labels or {}).get(name, name) for name in names], rotation=30, ha="right", fontsize=8)
        axis.set_title((labels or {}).get(output, output), fontsize=10)
        axis.axhline(0, color="0.3", linewidth=0.6)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _interval(row: pd.Series, digits: int = 2) -> str:
    if math.isnan(row["lo"]):
        return f"{row['value']:.{digits}f}"
    return f"{row['value']:.{digits}f} ({row['lo']:.{digits}f} to {row['hi']:.{digits}f})"


def sensitivity_markdown(result: SensitivityResult, *, title: str, settings: Mapping[str, Any] | None = None,
                         labels: Mapping[str, str] | None = None) -> str:
    """The report: what was run, which inputs matter per output, the dummy check, every interval."""
    indices = result.indices
    name = (labels or {}).get
    morris_inputs = _select(indices, "morris", "mu_star")["input"].nunique() - 1
    lines = [f"# {title}", "",
             f"Global sensitivity of {len(_outputs(indices))} output(s) to {morris_inputs} uncertain inputs "
             f"and a dummy input that the model never reads. Morris screening ({result.rows['morris']} design rows) "
             f"ranked every input; Sobol first-order (S1) and total (ST) indices ({result.rows['sobol']} rows) "
             f"were then estimated for the top {len(result.top)}, every other input at its nominal value. "
             f"Intervals are 95% bootstrap intervals (1,000 resamples). S1 is the share of the output's "
             f"variance an input explains alone; ST adds its interactions.", ""]
    if settings:
        lines += ["Settings: " + ", ".join(f"{key} {value}" for key, value in settings.items()) + ".", ""]
    checks = {(c.output, c.method, c.index): c for c in dummy_checks(indices)}
    for output in _outputs(indices):
        total = _select(indices, "sobol", "ST", output).set_index("input")
        dummy_total = float(total.loc[DUMMY, "value"]) if DUMMY in total.index else 0.0
        matters = total[(total.index != DUMMY) & (total["lo"] > dummy_total)].sort_values("value", ascending=False)
        lines += [f"## {name(output, output)}", ""]
        if matters.empty:
            lines.append("No input's total index is clearly above the dummy's: none is shown to matter.")
        else:
            listed = "; ".join(f"{name(i, i)} ST {_interval(row)}" for i, row in matters.iterrows())
            lines.append(f"It rests on: {listed}.")
        lines.append("")
        lines += ["- Dummy check: " + checks[(output, method, index)].sentence()
                  for method, index in (("morris", "mu_star"), ("sobol", "ST")) if (output, method, index) in checks]
        lines += ["", "| input | S1 | ST |", "|---|---|---|"]
        first = _select(indices, "sobol", "S1", output).set_index("input")
        for i, row in total.sort_values("value", ascending=False).iterrows():
            lines.append(f"| {name(i, i)} | {_interval(first.loc[i])} | {_interval(row)} |")
        morris = _select(indices, "morris", "mu_star", output).sort_values("value", ascending=False)
        lines += ["", "Morris ranking (mu*, 95% interval): " + "; ".join(
            f"{k}. {name(row['input'], row['input'])} {row['value']:.3g} ({row['lo']:.3g} to {row['hi']:.3g})"
            for k, (_, row) in enumerate(morris.iterrows(), start=1)) + ".", ""]
    lines += [f"Files: `{INDICES_FILE}` (every index: output, input, method, index, value, lo, hi), "
              f"`{TORNADO_FILE}` (Morris), `{SOBOL_FILE}` (Sobol).", ""]
    return "\n".join(lines)


def variance_shares_markdown(shares: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """A table per output: each source's share of the variance (95% interval), first-order and total."""
    lines = []
    for output, table in shares.groupby("output", sort=False):
        lines += [f"**{(labels or {}).get(output, output)}** (variance {table['variance'].iloc[0]:.4g}; "
                  f"shares sum to {table['share'].sum():.3f})", "",
                  "| source | share of variance | alone (first-order) | with interactions (total) |",
                  "|---|---|---|---|"]
        for _, row in table.iterrows():
            lines.append(f"| {row['source']} | {row['share']:.0%} ({row['lo']:.0%} to {row['hi']:.0%}) | "
                         f"{row['first_order']:.0%} | {row['total']:.0%} |")
        lines.append("")
    return "\n".join(lines)


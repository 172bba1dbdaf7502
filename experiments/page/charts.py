"""The page's charts, as Vega-Lite specs built with Altair (what Mesa's SolaraViz draws with).

Every chart is interactive in the browser: values on hover (tooltips), series that can be
switched off by clicking their legend entry, and the 90% band drawn around the median. Charts
take the summary rows (`runner.summary.summarise`) or tables made elsewhere; none computes a
figure. The last modelled year's value and the table year's are written beside the line as text,
so that a reader (or a test) can read them without hovering.
"""
from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

BAND_OPACITY = 0.2
COLOURS = {"Baseline": "#7f7f7f", "Observed": "#000000"}
SCENARIO_COLOUR = "#1f5fa8"
WIDTH, HEIGHT = 330, 190
# vega-embed reads its options from the spec's usermeta: SVG, so that labels are text in the page
# (readable, selectable, testable) and the chart's menu still saves PNG or SVG
EMBED = {"embedOptions": {"renderer": "svg", "actions": {"export": True, "source": False, "compiled": False,
                                                         "editor": False}}}


def fan_data(rows: Mapping[str, pd.DataFrame], measures: Mapping[str, str], divisor: float = 1.0) -> pd.DataFrame:
    """Long table of (series, measure, year, median, p05, p95) from summary rows by series label."""
    frames = []
    for series, summary in rows.items():
        for name, title in measures.items():
            frames.append(pd.DataFrame({
                "series": series, "measure": title, "year": summary["year"].astype(int),
                "median": summary[f"{name}_median"] / divisor, "p05": summary[f"{name}_p05"] / divisor,
                "p95": summary[f"{name}_p95"] / divisor}))
    return pd.concat(frames, ignore_index=True).dropna(subset=["median"])


def fan_chart(data: pd.DataFrame, observed: pd.DataFrame | None, *, title: str, unit: str, label_year: int,
              columns: int = 2) -> alt.FacetChart:
    """Median line and 90% band per series, observed points, one panel per measure.

    `observed` has columns measure, year, value (same unit); the legend switches series off.
    """
    series = list(dict.fromkeys(data["series"]))
    domain = series + (["Observed"] if observed is not None and len(observed) else [])
    colours = [COLOURS.get(s, SCENARIO_COLOUR) for s in domain]
    colour = alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colours),
                       legend=alt.Legend(orient="top"))
    pick = alt.selection_point(fields=["series"], bind="legend", name="shown")
    visible = alt.condition(pick, alt.value(1.0), alt.value(0.08))
    x = alt.X("year:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1))
    y_title = unit
    tooltip = [alt.Tooltip("series:N"), alt.Tooltip("year:Q", format="d"),
               alt.Tooltip("median:Q", format=",.0f", title=f"median ({unit})"),
               alt.Tooltip("p05:Q", format=",.0f", title="5th percentile"),
               alt.Tooltip("p95:Q", format=",.0f", title="95th percentile")]
    if observed is not None:
        observed = observed[observed["measure"].isin(set(data["measure"]))]
    has_observed = observed is not None and len(observed) > 0
    model = data.assign(kind="model", value=float("nan"), source="")
    rows = model if not has_observed else pd.concat(
        [model, observed.assign(series="Observed", kind="observed", median=float("nan"), p05=float("nan"),
                                p95=float("nan"))[model.columns]], ignore_index=True)
    base = alt.Chart().transform_filter(alt.datum.kind == "model")
    band = base.mark_area(opacity=BAND_OPACITY).encode(
        x=x, y=alt.Y("p05:Q", title=y_title, scale=alt.Scale(zero=True)), y2="p95:Q", color=colour,
        opacity=alt.condition(pick, alt.value(BAND_OPACITY), alt.value(0.0)))
    line = base.mark_line(strokeWidth=2.2).encode(x=x, y="median:Q", color=colour, opacity=visible)
    points = base.mark_circle(size=45).encode(x=x, y="median:Q", color=colour, opacity=visible, tooltip=tooltip)
    labels = base.transform_filter(alt.datum.year == label_year).mark_text(
        align="left", dx=5, dy=-8, fontSize=11).encode(
        x=x, y="median:Q", color=colour, opacity=visible,
        text=alt.Text("median:Q", format=",.0f"))
    layers = [band, line, points, labels]
    if has_observed:
        obs = alt.Chart().transform_filter(alt.datum.kind == "observed").mark_point(
            shape="diamond", size=70, filled=True).encode(
            x=x, y="value:Q", color=colour, opacity=visible,
            tooltip=[alt.Tooltip("series:N"), alt.Tooltip("year:Q", format="d"),
                     alt.Tooltip("value:Q", format=",.0f", title=f"observed ({unit})"), alt.Tooltip("source:N")])
        layers.append(obs)
    return (alt.layer(*layers, data=rows).properties(width=WIDTH, height=HEIGHT)
            .facet(facet=alt.Facet("measure:N", title=None, sort=list(dict.fromkeys(data["measure"]))),
                   columns=columns)
            .resolve_scale(y="independent")
            .add_params(pick)
            .properties(title=title, usermeta=EMBED))


def waterfall_chart(table: pd.DataFrame, total: float, *, title: str, divisor: float = 1e6,
                    unit: str = "£m") -> alt.Chart:
    """Bars from each lever's start to end of its saving, then the total; `table` has lever, saving_gbp."""
    rows, running = [], 0.0
    for lever, saving in zip(table["lever"], table["saving_gbp"]):
        start, end = running, running + saving / divisor
        rows.append({"step": lever, "start": start, "end": end, "saving": saving / divisor,
                     "kind": "saves" if saving >= 0 else "costs"})
        running = end
    rows.append({"step": "All levers (net saving)", "start": 0.0, "end": total / divisor, "saving": total / divisor,
                 "kind": "total"})
    data = pd.DataFrame(rows)
    order = list(data["step"])
    colour = alt.Color("kind:N", title=None, scale=alt.Scale(domain=["saves", "costs", "total"],
                                                              range=["#2e8b57", "#c0392b", SCENARIO_COLOUR]),
                       legend=alt.Legend(orient="top"))
    pick = alt.selection_point(fields=["kind"], bind="legend", name="kinds")
    base = alt.Chart(data)
    bars = base.mark_bar(size=34).encode(
        x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=-20, labelLimit=220)),
        y=alt.Y("start:Q", title=unit), y2="end:Q", color=colour,
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[alt.Tooltip("step:N", title="lever"), alt.Tooltip("saving:Q", format=",.1f", title=f"saving ({unit})")])
    text = base.mark_text(dy=-8, fontSize=11).encode(
        x=alt.X("step:N", sort=order), y=alt.Y("end:Q"), text=alt.Text("saving:Q", format=",.1f"))
    rule = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888").encode(y="zero:Q")
    return alt.layer(bars, text, rule).add_params(pick).properties(width=720, height=300, title=title,
                                                                   usermeta=EMBED)


def tornado_chart(indices: pd.DataFrame, output: str, *, top: int = 15) -> alt.Chart:
    """Morris mu_star (mean absolute elementary effect) of each input on `output`, with its 95%
    interval, largest first: the tornado of `caresim sensitivity`'s indices.csv."""
    rows = indices[(indices["output"] == output) & (indices["method"] == "morris") & (indices["index"] == "mu_star")]
    rows = rows.sort_values("value", ascending=False).head(top)
    order = list(rows["input"])
    base = alt.Chart(rows)
    bars = base.mark_bar(color=SCENARIO_COLOUR).encode(
        y=alt.Y("input:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("value:Q", title=f"effect on {output} (Morris mu*)"),
        tooltip=[alt.Tooltip("input:N"), alt.Tooltip("value:Q", format=",.4g"),
                 alt.Tooltip("lo:Q", format=",.4g", title="95% low"), alt.Tooltip("hi:Q", format=",.4g", title="95% high")])
    whiskers = base.mark_rule(color="#333").encode(y=alt.Y("input:N", sort=order), x="lo:Q", x2="hi:Q")
    return alt.layer(bars, whiskers).properties(width=560, height=max(120, 22 * len(rows)),
                                                title=f"What {output} rests on", usermeta=EMBED)


def shares_chart(shares: pd.DataFrame, output: str) -> alt.Chart:
    """The split of `output`'s variance by source (runner.variance_sources), with 95% intervals."""
    rows = shares[shares["output"] == output]
    base = alt.Chart(rows)
    bars = base.mark_bar(color="#8e44ad").encode(
        y=alt.Y("source:N", sort="-x", title=None), x=alt.X("share:Q", title="share of variance", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("source:N"), alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("lo:Q", format=".1%"),
                 alt.Tooltip("hi:Q", format=".1%")])
    whiskers = base.mark_rule(color="#333").encode(y=alt.Y("source:N", sort="-x"), x="lo:Q", x2="hi:Q")
    return alt.layer(bars, whiskers).properties(width=560, height=max(100, 30 * len(rows)),
                                                title=f"Where the uncertainty in {output} comes from",
                                                usermeta=EMBED)

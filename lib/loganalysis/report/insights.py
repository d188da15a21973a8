"""Small pandas reshapes for the report: headline numbers and chart-ready tables.

Everything here takes aggregates (one row per series, per bucket or per incident), never records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from loganalysis.core.schema import SERIES_KEYS
from loganalysis.report import tables


def headline(summary: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """The numbers a reader wants first: volume, error rate, p95, incidents, as one table."""
    requests = int(summary["requests"].sum())
    errors = int(summary["errors_5xx"].sum())
    busiest = summary.sort_values("requests", ascending=False).iloc[0]
    worst = summary[summary["requests"] >= 100].sort_values("error_rate_5xx", ascending=False)
    rows = {
        "requests": f"{requests:,}",
        "5xx responses": f"{errors:,} ({errors / requests:.2%})",
        "services x environments": f"{len(summary)}",
        "busiest series": f"{busiest.service}/{busiest.environment} ({int(busiest.requests):,} requests)",
        "highest p95": ("{}/{} ({:.0f} ms)".format(*summary.sort_values("p95_ms").dropna(subset=["p95_ms"])
                                                  .iloc[-1][["service", "environment", "p95_ms"]])
                        if summary["p95_ms"].notna().any() else "no response times in these logs"),
        "incidents detected": f"{len(incidents)}",
    }
    if not worst.empty:
        top = worst.iloc[0]
        rows["highest 5xx rate"] = f"{top.service}/{top.environment} ({top.error_rate_5xx:.2%})"
    return pd.DataFrame({"figure": list(rows), "value": list(rows.values())})


def story(summary: pd.DataFrame, incidents: pd.DataFrame, timeseries: pd.DataFrame) -> list[str]:
    """What happened, in a few sentences generated from the data, worst incident first."""
    hours = (timeseries["bucket"].max() - timeseries["bucket"].min()).total_seconds() / 3600 if len(timeseries) else 0
    sentences = [f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''} over {len(summary)} series "
                 f"in {hours:,.0f} hours from {tables.minute(timeseries['bucket'].min()) if len(timeseries) else '-'}"
                 + (": " + ", ".join(f"{n} {s}" for s, n in _severity_counts(incidents))
                                            if len(incidents) else ".")]
    if incidents.empty:
        return sentences
    worst = worst_incident(incidents)
    moved = "; ".join(tables.describe_signal(s) for s in worst["signals"])
    sentences.append(f"Worst: {worst['service']}/{worst['environment']}, {worst['severity']}, "
                     f"{worst['minutes']:.0f} minutes from {tables.minute(worst['start'])}: {moved}.")
    if isinstance(worst.get("explanation"), str) and worst["explanation"]:
        sentences.append(f"Over-represented in it: {worst['explanation']}.")
    cascades = incidents["cascade_id"].dropna().nunique()
    if cascades:
        sentences.append(f"{cascades} probable cascade{'s' if cascades != 1 else ''}: incidents of several "
                         f"services overlapping in time.")
    return sentences


def worst_incident(incidents: pd.DataFrame) -> pd.Series:
    return tables.worst_first(incidents).iloc[0]


def _severity_counts(incidents: pd.DataFrame) -> list[tuple[str, int]]:
    counts = incidents["severity"].value_counts()
    return [(s, int(counts[s])) for s in ("critical", "major", "minor") if s in counts]


def summary_with_incident_counts(summary: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """The per-series summary with how many incidents each series had (0 when none)."""
    counts = incidents.groupby(SERIES_KEYS).size().rename("incidents").reset_index()
    return (summary.merge(counts, on=SERIES_KEYS, how="left")
            .fillna({"incidents": 0}).astype({"incidents": "int64"}))


def save_headline(table: pd.DataFrame, run_dir: str, sentences: list[str] = ()) -> None:
    """Hand the story and the headline to the runner for the run's index page."""
    if run_dir:
        figures = {**({"what happened": " ".join(sentences)} if sentences else {}),
                   **dict(zip(table["figure"], table["value"]))}
        Path(run_dir, "headline.json").write_text(json.dumps(figures, indent=2))


def requests_per_hour(ts: pd.DataFrame) -> pd.DataFrame:
    return (ts.assign(hour=ts["bucket"].dt.floor("h"))
            .groupby(["service", "hour"], as_index=False)["requests"].sum())


def error_rate_by_hour(ts: pd.DataFrame) -> pd.DataFrame:
    """service x hour of day: 5xx responses over requests, all days and environments pooled."""
    by_hour = (ts.assign(hour=ts["bucket"].dt.hour)
               .groupby(["service", "hour"])[["errors_5xx", "requests"]].sum())
    return (by_hour["errors_5xx"] / by_hour["requests"]).unstack("hour")


def shortened(df: pd.DataFrame, column: str, width: int) -> pd.DataFrame:
    """Long labels cut to `width` characters so chart axes stay readable."""
    return df.assign(**{column: df[column].str.slice(0, width).where(df[column].str.len() <= width,
                                                                     df[column].str.slice(0, width - 1) + "…")})


def first_seen_during(incidents: pd.DataFrame, templates: pd.DataFrame, most: int = 3) -> pd.Series:
    """Per incident (by its index), the message templates of its series that were first seen
    while it lasted, most frequent first: a message nobody logged before is often the cause.
    `templates`: service, environment, template, lines, first_seen (metrics/message_templates)."""
    if incidents.empty or templates.empty:
        return pd.Series([[] for _ in range(len(incidents))], index=incidents.index, dtype=object)
    pairs = incidents.reset_index().merge(templates, on=SERIES_KEYS, how="inner")
    new = pairs[(pairs["first_seen"] >= pairs["start"]) & (pairs["first_seen"] <= pairs["end"])]
    listed = (new.sort_values("lines", ascending=False).groupby("index")
              .apply(lambda rows: list(zip(rows["template"], rows["lines"]))[:most], include_groups=False))
    return pd.Series([listed.get(i, []) for i in incidents.index], index=incidents.index, dtype=object)

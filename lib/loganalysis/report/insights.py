"""Small pandas reshapes for the report: headline numbers and chart-ready tables.

Everything here takes aggregates (one row per series, per bucket or per incident), never records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from loganalysis.core.schema import SERIES_KEYS
from loganalysis.report import tables


def headline(summary: pd.DataFrame, incidents: pd.DataFrame, measure: tables.Measure = tables.LATENCY) -> pd.DataFrame:
    """The numbers a reader wants first: volume, error rate, p95, incidents, as one table."""
    requests = int(summary["requests"].sum())
    errors = int(summary["errors_5xx"].sum())
    busiest = summary.sort_values("requests", ascending=False).iloc[0]
    worst = summary[summary["requests"] >= 100].sort_values("error_rate_5xx", ascending=False)
    rows = {
        "requests": f"{requests:,}",
        "errors (5xx, or lines at a failure level)": f"{errors:,} ({errors / requests:.2%})",
        "services x environments": f"{len(summary)}",
        "busiest series": f"{busiest.service}/{busiest.environment} ({int(busiest.requests):,} requests)",
        f"highest {measure.metric_name('p95_ms')}": _highest(summary, "p95_ms", measure),
        "incidents detected": f"{len(incidents)}",
    }
    if not worst.empty:
        top = worst.iloc[0]
        rows["highest error rate"] = f"{top.service}/{top.environment} ({top.error_rate_5xx:.2%})"
    return pd.DataFrame({"figure": list(rows), "value": list(rows.values())})


def _highest(summary: pd.DataFrame, column: str, measure: tables.Measure) -> str:
    """'checkout/prod (1,588 ms)': the series with the highest `column`."""
    if not summary[column].notna().any():
        return f"no {measure.name} values in these records"
    top = summary.sort_values(column).dropna(subset=[column]).iloc[-1]
    return f"{top.service}/{top.environment} ({measure.format(top[column])})"


def story(summary: pd.DataFrame, incidents: pd.DataFrame, timeseries: pd.DataFrame,
          measure: tables.Measure = tables.LATENCY) -> list[str]:
    """What happened, in a few sentences generated from the data, worst incident first."""
    hours = (timeseries["bucket"].max() - timeseries["bucket"].min()).total_seconds() / 3600 if len(timeseries) else 0
    since = f"in {hours:,.0f} hours from {tables.minute(timeseries['bucket'].min()) if len(timeseries) else '-'}"
    if incidents.empty:
        return [f"No incidents on the {len(summary)} series {since}."]
    affected = incidents[SERIES_KEYS].drop_duplicates().shape[0]
    sentences = [f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''} on {affected} of {len(summary)} series "
                 f"{since}: " + ", ".join(f"{n} {s}" for s, n in _severity_counts(incidents))]
    worst = worst_incident(incidents)
    moved = "; ".join(tables.describe_signal(s, measure) for s in worst["signals"])
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


# The headline's entry holding the story: its sentences (prose, not a figure: the index page
# prints each as a paragraph, as the report does).
STORY = "what happened"


def save_headline(table: pd.DataFrame, run_dir: str, sentences: list[str] = ()) -> None:
    """Hand the story and the headline to the runner for the run's index page."""
    if run_dir:
        figures = {**({STORY: list(sentences)} if sentences else {}),
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


def traffic_sentences(traffic: pd.DataFrame, records: int | None = None) -> list[str]:
    """The figures an SRE looks at first, over all series: requests, bytes served, the status
    mix and 4xx beside 5xx. `traffic`: metrics/traffic (one row per series x dimension x value);
    `records`: all of them, for the lines without a level when there are no status codes."""
    statuses = traffic[traffic["dimension"] == "status_code"]
    if statuses.empty:
        return level_sentences(traffic, records)
    by_status = statuses.groupby("value")[["requests", "bytes_sent"]].sum(min_count=1).sort_values("requests", ascending=False)
    requests = int(by_status["requests"].sum())
    mix = shares(by_status["requests"].head(6), requests)
    more = f" and {len(by_status) - 6} more codes" if len(by_status) > 6 else ""
    errors = {kind: int(statuses[f"errors_{kind}"].sum()) for kind in ("4xx", "5xx")}
    served = by_status["bytes_sent"].sum(min_count=1)
    bytes_part = f", {served:,.0f} bytes served ({_size(served)})" if pd.notna(served) else ""
    return [f"{tables.count(requests)} requests with a status code{bytes_part}. Status mix: {mix}{more}. "
            f"4xx: {tables.count(errors['4xx'])} ({tables.percent(errors['4xx'] / requests)}), "
            f"5xx: {tables.count(errors['5xx'])} ({tables.percent(errors['5xx'] / requests)})."]


def level_sentences(traffic: pd.DataFrame, records: int | None = None) -> list[str]:
    """For logs without status codes (application and system logs): the lines per level, those
    without one (`records` in all: a syslog line often says none), and the failures (lines at a
    failure level, `service_metrics.is_failure`), as shares of all lines."""
    levels = traffic[traffic["dimension"] == "level"]
    if levels.empty:
        return []
    by_level = levels.groupby("value")[["requests", "errors_5xx"]].sum().sort_values("requests", ascending=False)
    levelled, failed = int(by_level["requests"].sum()), int(by_level["errors_5xx"].sum())
    lines = max(records or 0, levelled)
    failing = [level for level, n in by_level["errors_5xx"].items() if n > 0]
    per_level = by_level["requests"]
    if lines > levelled:
        per_level = pd.concat([per_level, pd.Series({"no level": lines - levelled})]).sort_values(ascending=False)
    mix = shares(per_level, lines)
    which = f" ({', '.join(failing)})" if failing else ""
    return [f"{tables.count(lines)} log lines without a status code. Levels: {mix}. "
            f"Failures, the lines at a failure level{which}: {tables.count(failed)} ({tables.percent(failed / lines)})."]


def shares(counts: pd.Series, total: int) -> str:
    """'value: count (share of total)' each, apart by semicolons: the counts carry commas."""
    return "; ".join(f"{value}: {tables.count(n)} ({tables.percent(n / total)})" for value, n in counts.items())


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def unscored_sentences(coverage: pd.DataFrame, summary: pd.DataFrame | None = None,
                       measure: tables.Measure = tables.LATENCY) -> list[str]:
    """Why a metric was not watched, or only in part: every metric the detector could not score
    in at least half of its buckets gets a sentence with the reason. `coverage`: metric, buckets,
    with_value, scored (anomalies.scoring_coverage)."""
    no_latency = summary is not None and "mean_ms" in summary and summary["mean_ms"].isna().all()
    sentences = []
    for row in coverage.sort_values("metric").itertuples():
        name = "request count" if row.metric == "requests" else measure.metric_name(row.metric)
        if row.scored >= row.buckets / 2:
            continue
        if row.with_value == 0 and no_latency and row.metric in ("mean_ms", "p95_ms"):
            reason = f"these records carry no {measure.name}"
        elif row.with_value == 0:
            reason = (f"none of its {tables.count(row.buckets)} buckets had enough requests "
                      "(min_bucket_requests; p95 also needs 20)")
        elif row.scored == 0:
            reason = "no bucket had enough history before it (min_history)"
        else:
            reason = (f"only {tables.count(row.scored)} of {tables.count(row.buckets)} buckets had enough requests "
                      "and history")
        sentences.append(f"{name[0].upper()}{name[1:]} {'was not scored' if row.scored == 0 else 'was scored in part'}: "
                         f"{reason}.")
    return sentences


def traffic_table(traffic: pd.DataFrame, dimension: str, top: int = 10, records: int | None = None) -> pd.DataFrame:
    """One dimension of metrics/traffic for the page: status codes and levels pooled over all
    series with their share of requests, endpoints and clients per series; the `top` busiest.
    `records`: all of them, so the lines without a level have a row of their own ("no level":
    most of a system log) and the levels' shares are of all lines, as the level sentence says."""
    rows = traffic[traffic["dimension"] == dimension]
    columns = ["requests", "bytes_sent", "errors_4xx", "errors_5xx"]
    if dimension in ("status_code", "level"):
        rows = rows.groupby("value", as_index=False)[columns].sum(min_count=1)
        without = (records or 0) - rows["requests"].sum()
        if dimension == "level" and not rows.empty and without > 0:
            rows = pd.concat([rows, pd.DataFrame({"value": ["no level"], "requests": [without]})], ignore_index=True)
        rows = rows.assign(share=rows["requests"] / rows["requests"].sum())
        columns = ["requests", "share", "bytes_sent"]
    else:
        rows = rows[[*SERIES_KEYS, "value", *columns]]
    keys = [column for column in rows.columns if column in SERIES_KEYS]
    return (rows.sort_values("requests", ascending=False, kind="stable").head(top)
            .rename(columns={"value": dimension})[[*keys, dimension, *columns]])

"""Tables for people: no index column, units on every number, timestamps to the minute (UTC),
z-scores to one decimal, sentences whole. Every notebook shows its tables through `show`.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
from pandas.io.formats.style import Styler

METRIC_NAMES = {"requests": "requests", "error_rate": "5xx rate", "mean_ms": "mean latency",
                "p95_ms": "p95 latency"}


def count(value) -> str:
    return "" if pd.isna(value) else f"{value:,.0f}"


def percent(value) -> str:
    return "" if pd.isna(value) else f"{value:.2%}"


def milliseconds(value) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.0f} ms" if abs(value) >= 100 else f"{value:,.1f} ms"


def minute(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


def two_decimals(value) -> str:
    return "" if pd.isna(value) else f"{value:,.2f}"


def one_decimal(value) -> str:
    return "" if pd.isna(value) else f"{value:,.1f}"


# How each known column is shown; a column not named here is shown as it is.
COLUMN_FORMATS: dict[str, Callable] = {
    "requests": count, "errors_5xx": count, "errors_4xx": count, "clean": count, "quarantined": count,
    "lines": count, "occurrences": count, "count": count, "records": count, "incidents": count,
    "error_rate_5xx": percent, "error_rate_4xx": percent, "error_rate": percent,
    "mean_ms": milliseconds, "p50_ms": milliseconds, "p95_ms": milliseconds, "p99_ms": milliseconds,
    "max_ms": milliseconds, "min_ms": milliseconds,
    "start": minute, "end": minute, "bucket": minute,
    "peak_z": one_decimal, "z_score": one_decimal, "minutes": count,
}


def show(frame: pd.DataFrame, **formats: Callable) -> Styler:
    """The frame as a table for people: known columns formatted, `formats` on top, no index,
    long text wrapped rather than cut."""
    chosen = {column: fn for column, fn in {**COLUMN_FORMATS, **formats}.items() if column in frame.columns}
    chosen.update({column: two_decimals for column in frame.select_dtypes("float").columns if column not in chosen})
    return (frame.reset_index(drop=True).style.format(chosen, na_rep="")
            .hide(axis="index")
            .set_properties(**{"white-space": "pre-wrap", "text-align": "left"}))


def signal_value(metric: str, value) -> str:
    if metric == "error_rate":
        return percent(value)
    if metric in ("mean_ms", "p95_ms"):
        return milliseconds(value)
    return f"{count(value)}/bucket" if metric == "requests" else one_decimal(value)


def describe_signal(signal) -> str:
    """'p95 latency 1,588 ms against 215 ms (7.4x, z 39.6)' for one signal of an incident."""
    metric, value, baseline = signal["metric"], signal["peak_value"], signal["baseline_at_start"]
    ratio = f"{value / baseline:.1f}x, " if baseline and not pd.isna(baseline) and baseline > 0 else ""
    return (f"{METRIC_NAMES.get(metric, metric)} {signal_value(metric, value)} against "
            f"{signal_value(metric, baseline)} ({ratio}z {signal['peak_z']:.1f})")


def incident_table(incidents: pd.DataFrame) -> pd.DataFrame:
    """One row per incident, worst first: where, when, how long, how bad, what moved, why."""
    if incidents.empty:
        return pd.DataFrame(columns=["series", "start", "minutes", "severity", "what moved", "explanation",
                                     "cascade"])
    order = incidents.assign(rank=incidents["severity"].map({"critical": 0, "major": 1, "minor": 2}),
                             size=-incidents["peak_z"].abs()).sort_values(["rank", "size", "start"])
    return pd.DataFrame({
        "series": order["service"] + " / " + order["environment"],
        "start": order["start"],
        "minutes": order["minutes"],
        "severity": order["severity"],
        "what moved": order["signals"].map(lambda signals: "\n".join(describe_signal(s) for s in signals)),
        "explanation": order.get("explanation", pd.Series("", index=order.index)).fillna(""),
        "cascade": order["cascade_id"].fillna(""),
    })

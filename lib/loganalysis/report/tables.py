"""Tables for people: no index column, units on every number, timestamps to the minute (UTC),
z-scores to one decimal, sentences whole. Every notebook shows its tables through `show`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

import pandas as pd
from IPython.display import HTML
from pandas.io.formats.style import Styler

from loganalysis.core.durations import describe_seconds
from loganalysis.detect.anomalies import SPIKE_NOVELTY_SECONDS

def count(value) -> str:
    return "" if pd.isna(value) else f"{value:,.0f}"


def percent(value) -> str:
    return "" if pd.isna(value) else f"{value:.2%}"


def milliseconds(value) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.0f} ms" if abs(value) >= 100 else f"{value:,.1f} ms"


def number(value) -> str:
    """A value of unknown scale: thousands separated, the decimals it needs up to three."""
    if pd.isna(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}" if abs(value) >= 1 else f"{value:.3g}"


# Columns that hold the records' value (`response_time_ms`) or a statistic of it.
VALUE_COLUMNS = ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "min_ms")


@dataclass(frozen=True)
class Measure:
    """What the records' value is, in words: a response time in milliseconds for logs; for a
    metric series read with `csv_series` whatever it carries (CPU %, bytes, a count), named by
    the run's `value_name` and `value_unit`. The pipeline keeps the value in `response_time_ms`;
    only the pages change their words."""

    name: str = "latency"
    unit: str = "ms"

    def format(self, value) -> str:
        """'1,588 ms' for a latency, '0.42' for a unitless value."""
        if pd.isna(value):
            return ""
        if self.unit == "ms":
            return milliseconds(value)
        return f"{number(value)} {self.unit}".rstrip()

    def metric_name(self, metric: str) -> str:
        """How a scored metric reads in a sentence: 'p95 latency', 'mean value', 'error rate'."""
        return {"requests": "requests", "error_rate": "error rate", "mean_ms": f"mean {self.name}",
                "p95_ms": f"p95 {self.name}"}.get(metric, metric)

    def axis(self, statistic: str) -> str:
        """An axis label: 'p95 (ms)', or 'p95 value' without a unit."""
        return f"{statistic} ({self.unit})" if self.unit else f"{statistic} {self.name}"

    def column_header(self, column: str) -> str:
        """'p95_ms' -> 'p95 value' (or 'p95 (%)' with a unit): a value column's header."""
        return self.axis(column.removesuffix("_ms"))

    @property
    def units(self) -> dict[str, str]:
        """Each scored metric's unit, for a chart's axis."""
        value_unit = self.unit or self.name
        return {"requests": "requests per bucket", "error_rate": "error share", "mean_ms": value_unit,
                "p95_ms": value_unit}


LATENCY = Measure()


def minute(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


def percentage_points(value) -> str:
    """A difference of two rates: '+0.61 pp' (percentage points), not '0.01'."""
    return "" if pd.isna(value) else f"{value * 100:+.2f} pp"


def two_decimals(value) -> str:
    return "" if pd.isna(value) else f"{value:,.2f}"


def one_decimal(value) -> str:
    return "" if pd.isna(value) else f"{value:,.1f}"


# How each known column is shown; a column not named here is shown as it is.
COLUMN_FORMATS: dict[str, Callable] = {
    "requests": count, "errors_5xx": count, "errors_4xx": count, "clean": count, "quarantined": count,
    "lines": count, "occurrences": count, "count": count, "records": count, "incidents": count,
    "bytes_sent": count, "share": percent,
    "error_rate_5xx": percent, "error_rate_4xx": percent, "error_rate": percent,
    "start": minute, "end": minute, "bucket": minute, "first_seen": minute, "last_seen": minute,
    "peak_z": one_decimal, "z_score": one_decimal, "minutes": count,
    "error_rate_vs_prod": percentage_points, "p95_ratio_vs_prod": lambda ratio: multiple(ratio, 2),
    # the evaluation's counts (floats where a row has none to give)
    **{name: count for name in ("truth_windows", "caught", "events", "false_events", "warmup_windows",
                                "benign_windows", "benign_alarms", "detections")},
    "precision": two_decimals, "recall": two_decimals, "f1": two_decimals,
    "mean_delay_minutes": one_decimal, "delay_minutes": one_decimal, "false_alarms_per_day": two_decimals,
}


def show(frame: pd.DataFrame, measure: Measure = LATENCY, **formats: Callable) -> Styler | HTML:
    """The frame as a table for people: known columns formatted (the value's statistics in
    `measure`'s unit), `formats` on top, no index, long text wrapped rather than cut, every cell
    and header HTML-escaped."""
    if frame.empty:  # a table of headers only reads as broken
        return HTML("<p><em>None in these logs.</em></p>")
    known = {**COLUMN_FORMATS, **{column: measure.format for column in VALUE_COLUMNS}, **formats}
    chosen = {column: fn for column, fn in known.items() if column in frame.columns}
    chosen.update({column: two_decimals for column in frame.select_dtypes("float").columns if column not in chosen})
    # A metric series' value is no response time: its columns are headed in its own words.
    headers = {} if measure == LATENCY else {column: measure.column_header(column) for column in VALUE_COLUMNS}
    # escape="html": cells quote the logs (endpoints, messages), untrusted text for the page
    return (frame.reset_index(drop=True).style.format(chosen, na_rep="", escape="html")
            .relabel_index([html.escape(str(headers.get(column, column))) for column in frame.columns], axis=1)
            .hide(axis="index")
            .set_properties(**{"white-space": "pre-wrap", "text-align": "left"}))


# Rows a table on a page shows: a run over 1,500 series would otherwise publish tables of
# thousands of rows (a 5 MB page 02) that nobody reads and that take seconds to render.
MAX_TABLE_ROWS = 50


def show_top(frame: pd.DataFrame, saved_in: str, by: str | None = None, measure: Measure = LATENCY,
             keep: int = MAX_TABLE_ROWS, **formats: Callable) -> Styler | HTML:
    """`show` of at most `keep` rows: past that, those with the highest `by` (None: the frame's
    own first rows, for a frame already worst first), under a line that says how many of how
    many and where every row is (`saved_in`, the output's path)."""
    if len(frame) <= keep:
        return show(frame, measure, **formats)
    kept = frame.head(keep) if by is None else frame.sort_values(by, ascending=False, kind="stable").head(keep)
    which = (f"The first {keep:,} of {len(frame):,} rows" if by is None else
             f"The {keep:,} of {len(frame):,} rows with the highest <code>{html.escape(by)}</code>")
    note = f"<p><em>{which}; every row is in <code>{html.escape(saved_in)}</code>.</em></p>"
    return HTML(note + show(kept, measure, **formats).to_html())


def paragraphs(sentences: list[str]) -> str:
    """Sentences as HTML paragraphs, escaped: they quote service names and log text."""
    return "".join(f"<p style='font-size:1.1em'>{html.escape(sentence)}</p>" for sentence in sentences)


def multiple(ratio: float, decimals: int = 1) -> str:
    """'7.4x' (or '0.97x' with two `decimals`); a drop to a small share keeps two significant
    digits ('0.0012x', not '0.0x'); '' for none."""
    if pd.isna(ratio):
        return ""
    return f"{ratio:.{decimals}f}x" if abs(ratio) >= 0.1 else f"{ratio:.2g}x"


def signal_value(metric: str, value, measure: Measure = LATENCY) -> str:
    if metric == "error_rate":
        return percent(value)
    if metric in VALUE_COLUMNS:
        return measure.format(value)
    return f"{count(value)}/bucket" if metric == "requests" else one_decimal(value)


def _field(signal, name: str):
    """A signal's field, None when its outputs predate it (a Row or a dict)."""
    try:
        return signal[name]
    except (KeyError, ValueError):
        return None


def describe_signal(signal, measure: Measure = LATENCY) -> str:
    """'p95 latency 1,588 ms against 215 ms (7.4x, z 39.6)' for one signal of an incident."""
    metric, value, baseline = signal["metric"], signal["peak_value"], signal["baseline_at_start"]
    ratio = f"{multiple(value / baseline)}, " if baseline and not pd.isna(baseline) and baseline > 0 else ""
    # a record pages whatever its z (anomalies.FAR_NOVELTY_MARGIN): its z can be near 0 on a
    # series of routine bursts, so the reason is named instead
    why = (f"far beyond its range of the previous {describe_seconds(SPIKE_NOVELTY_SECONDS)}"
           if _field(signal, "record") else f"z {signal['peak_z']:.1f}")
    return (f"{measure.metric_name(metric)} {signal_value(metric, value, measure)} against "
            f"{signal_value(metric, baseline, measure)} ({ratio}{why})")


def worst_first(incidents: pd.DataFrame) -> pd.DataFrame:
    """Incidents by severity, then by how far their peak was from baseline."""
    if incidents.empty:
        return incidents
    rank = incidents["severity"].map({"critical": 0, "major": 1, "minor": 2})
    return (incidents.assign(_rank=rank, _size=-incidents["peak_z"].abs())
            .sort_values(["_rank", "_size", "start"]).drop(columns=["_rank", "_size"]))


def describe_incident(incident, measure: Measure = LATENCY) -> str:
    """One incident as a sentence: where, how bad, how long, what moved, what stood out."""
    moved = "; ".join(describe_signal(signal, measure) for signal in incident.signals)
    explanation = getattr(incident, "explanation", None)
    why = f" Over-represented: {explanation}." if isinstance(explanation, str) and explanation else ""
    new = getattr(incident, "new_messages", None) or []
    first_seen = (" First logged during it: " + "; ".join(f"“{template}” ({count(lines)} lines)"
                                                         for template, lines in new) + ".") if new else ""
    return (f"{incident.service} / {incident.environment}: {incident.severity}, {incident.minutes:.0f} minutes "
            f"from {minute(incident.start)}. {moved}.{why}{first_seen}")


def incident_table(incidents: pd.DataFrame, measure: Measure = LATENCY) -> pd.DataFrame:
    """One row per incident, worst first: where, when, how long, how bad, what moved, why."""
    if incidents.empty:
        return pd.DataFrame(columns=["series", "start", "minutes", "severity", "what moved", "explanation",
                                     "cascade"])
    order = worst_first(incidents)
    return pd.DataFrame({
        "series": order["service"] + " / " + order["environment"],
        "start": order["start"],
        "minutes": order["minutes"],
        "severity": order["severity"],
        "what moved": order["signals"].map(lambda signals: "\n".join(describe_signal(s, measure) for s in signals)),
        "explanation": order.get("explanation", pd.Series("", index=order.index)).fillna(""),
        "cascade": order["cascade_id"].fillna(""),
    })

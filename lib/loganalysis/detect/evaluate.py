"""Score detected incidents against ground truth (injected incidents or labelled windows).

Both sides are small tables (one row per incident), so this runs in pandas on the driver.
Each incident (one per series and period, every signal that moved in it) is one event, as an
SRE would count pages; an event is a true positive when it overlaps a truth window of its series.
A truth row with `is_incident` false (a benign surge: a launch, a batch job) is no incident: it
is never caught, and an event on it that overlaps no incident is a false alarm, counted as an
alarm on a benign window, overall and for its kind.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, functions as F, types as T

from loganalysis.core.schema import EVALUATION_SCHEMA, SERIES_KEYS, TRUTH_MATCH_SCHEMA

# The magnitude from which an injected incident is a clear case, by the signal it moves: 1.5x
# latency, a 5% 5xx rate, half the traffic gone. Subtler ones are scored too, but apart.
CLEAR_MARKS = {"latency": lambda m: m >= 1.5, "errors": lambda m: m >= 0.05, "traffic": lambda m: m <= 0.5}


def incidents_as_events(incidents: pd.DataFrame) -> pd.DataFrame:
    """The stage's incidents as events to score: each is already one per series and period,
    its signals merged (anomalies.service_incidents)."""
    events = incidents.reindex(columns=[*SERIES_KEYS, "start", "end", "metrics"])
    return events.assign(metrics=events["metrics"].map(
        lambda m: ", ".join(m) if m is not None and not isinstance(m, str) else m))


def _overlaps(event, truth, tolerance: pd.Timedelta) -> bool:
    return (event.service == truth.service and event.environment == truth.environment
            and event.start < truth.end + tolerance and event.end > truth.start)


def scored_coverage(scored: DataFrame) -> tuple[pd.DataFrame, float]:
    """What the scored series (anomalies/scored_series) covered, in one aggregate: per series
    (service, environment, start) the first bucket any metric was scored in, before which the
    detector was warming up and could catch nothing (a series never scored has no row); and the
    days from the first to the last bucket of all series, to turn false events into a rate."""
    per_series = (
        scored.groupBy(*SERIES_KEYS)
        .agg(F.min(F.when(F.col("z_score").isNotNull(), F.col("bucket"))).alias("start"),
             F.min("bucket").alias("first_bucket"), F.max("bucket").alias("last_bucket"))
        .toPandas()  # one row per series
    )
    warmup_end = per_series.dropna(subset=["start"])[[*SERIES_KEYS, "start"]].reset_index(drop=True)
    span = per_series["last_bucket"].max() - per_series["first_bucket"].min() if len(per_series) else None
    return warmup_end, span.total_seconds() / 86_400 if span is not None else 0.0


def score(events: pd.DataFrame, truth: pd.DataFrame, tolerance: pd.Timedelta = pd.Timedelta(0),
          scoring_start: pd.DataFrame | None = None, warmup_end: pd.DataFrame | None = None,
          days: float | None = None) -> tuple[pd.DataFrame, dict]:
    """(each truth window with in_warmup / detected / delay / extent / detections, the summary).

    `scoring_start` (service, environment, start) drops events that end before a series'
    scoring starts, as benchmarks leave a warm-up ("probation") period unscored. A truth window
    that ends before `warmup_end` (or the scoring start) of its series could not have been
    caught: it is listed apart (`in_warmup`), not counted as missed. `days` of data turn the
    false events into false alarms per day.
    """
    events = _after(events, scoring_start)
    truth = truth.copy()
    truth["in_warmup"] = _ends_before(truth, warmup_end if warmup_end is not None else scoring_start)
    real = is_incident(truth)
    truth["clear"] = [is_clear(row) if incident else None for row, incident in zip(truth.itertuples(), real)]
    is_true = [any(_overlaps(e, t, tolerance) for t in truth[real].itertuples()) for e in events.itertuples()]
    false_events = events[[not hit for hit in is_true]] if len(events) else events
    rows = [_match(row, events, tolerance) if incident else _false_alarms(row, false_events, tolerance)
            for row, incident in zip(truth.itertuples(), real)]
    for column in ("detected", "delay_minutes", "extent", "detections"):
        truth[column] = [r[column] for r in rows]
    scored = truth[real & ~truth["in_warmup"]]
    true_events = sum(is_true)
    precision = true_events / len(events) if len(events) else (1.0 if scored.empty else 0.0)
    benign = truth[~real]
    summary = {**_window_figures(scored), "warmup_windows": int(truth.loc[real, "in_warmup"].sum()),
               "events": len(events), "false_events": len(events) - true_events,
               "benign_windows": len(benign),
               "benign_alarms": sum(any(_overlaps(e, b, tolerance) for b in benign.itertuples())
                                    for e in false_events.itertuples()),
               "precision": round(precision, 4),
               "false_alarms_per_day": round((len(events) - true_events) / days, 3) if days else None}
    recall = summary["recall"]
    summary["f1"] = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return truth, summary


def by_kind(matches: pd.DataFrame) -> pd.DataFrame:
    """Recall, delay, extent and fragmentation per kind of truth window (warm-up ones apart);
    for a kind of benign windows, how many there were and the false alarms raised on them."""
    rows = []
    for kind, group in matches.groupby("kind", sort=True):
        real = is_incident(group)
        figures = _window_figures(group[real & ~group["in_warmup"]])
        if not real.any():  # nothing to catch: no recall, no delay
            figures = {**figures, "caught": None, "recall": None}
        rows.append({"kind": kind, **figures, "warmup_windows": int(group.loc[real, "in_warmup"].sum()),
                     "benign_windows": int((~real).sum()),
                     "benign_alarms": int(group.loc[~real, "detections"].sum())})
    return pd.DataFrame(rows)


def by_strength(matches: pd.DataFrame) -> pd.DataFrame:
    """Recall, delay, extent and fragmentation of the clear cases and of the subtle ones
    (CLEAR_MARKS), as rows "clear cases" and "subtle cases"; windows of unknown magnitude
    (labelled ones) are in neither."""
    if "clear" not in matches.columns:
        return pd.DataFrame()
    rows = []
    for name, wanted in (("clear cases", True), ("subtle cases", False)):
        group = matches[matches["clear"].map(lambda v: v is not None and not pd.isna(v) and bool(v) == wanted)]
        if len(group):
            rows.append({"kind": name, **_window_figures(group[~group["in_warmup"]]),
                         "warmup_windows": int(group["in_warmup"].sum())})
    return pd.DataFrame(rows)


def is_clear(window) -> bool | None:
    """Whether a truth window's magnitude reaches CLEAR_MARKS for its signal (None: unknown)."""
    signal, magnitude = getattr(window, "signal", None), getattr(window, "magnitude", None)
    if signal not in CLEAR_MARKS or magnitude is None or pd.isna(magnitude):
        return None
    return bool(CLEAR_MARKS[signal](magnitude))


def is_incident(truth: pd.DataFrame) -> pd.Series:
    """Which truth rows are incidents to catch: all but those marked `is_incident` false (labelled
    windows and older ground truth have no such column, or nulls: all incidents)."""
    if "is_incident" not in truth.columns:
        return pd.Series(True, index=truth.index)
    return truth["is_incident"].map(lambda v: v is None or pd.isna(v) or bool(v)).astype(bool)


def _window_figures(windows: pd.DataFrame) -> dict:
    caught = windows[windows["detected"]] if len(windows) else windows
    return {
        "truth_windows": len(windows), "caught": len(caught),
        "recall": round(len(caught) / len(windows), 4) if len(windows) else 1.0,
        "mean_delay_minutes": _mean(caught.get("delay_minutes")),
        "mean_extent": _mean(caught.get("extent")),
        "fragmentation": _mean(caught.get("detections")),
    }


def _mean(values) -> float | None:
    return round(float(values.mean()), 3) if values is not None and len(values) else None


def _after(events: pd.DataFrame, scoring_start: pd.DataFrame | None) -> pd.DataFrame:
    if scoring_start is None or scoring_start.empty or events.empty:
        return events
    cut = events.merge(scoring_start.rename(columns={"start": "scoring_start"}), on=SERIES_KEYS, how="left")
    return cut[cut["scoring_start"].isna() | (cut["end"] > cut["scoring_start"])].drop(columns="scoring_start")


def _ends_before(truth: pd.DataFrame, boundary: pd.DataFrame | None) -> list[bool]:
    if boundary is None or boundary.empty or truth.empty:
        return [False] * len(truth)
    ends = truth.merge(boundary.rename(columns={"start": "boundary"}), on=SERIES_KEYS, how="left")
    return (ends["boundary"].notna() & (ends["end"] <= ends["boundary"])).tolist()


def _match(window, events: pd.DataFrame, tolerance: pd.Timedelta) -> dict:
    """Did events catch the window, how late, how much of its time they covered, how many."""
    hits = [e for e in events.itertuples() if _overlaps(e, window, tolerance)]
    if not hits:
        return {"detected": False, "delay_minutes": None, "extent": None, "detections": 0}
    length = (window.end - window.start).total_seconds()
    covered = sum(max((min(e.end, window.end) - max(e.start, window.start)).total_seconds(), 0) for e in hits)
    return {"detected": True,
            "delay_minutes": max(min(e.start for e in hits) - window.start, pd.Timedelta(0)).total_seconds() / 60,
            "extent": round(min(covered / length, 1.0), 3) if length > 0 else 1.0,
            "detections": len(hits)}


def _false_alarms(window, false_events: pd.DataFrame, tolerance: pd.Timedelta) -> dict:
    """A benign window is never caught; its detections are the false alarms raised on it."""
    alarms = sum(_overlaps(e, window, tolerance) for e in false_events.itertuples())
    return {"detected": False, "delay_minutes": None, "extent": None, "detections": alarms}


def _rows(frame: pd.DataFrame, schema) -> list[tuple]:
    """pandas rows as plain Python values in schema order (NaN/NaT as None, whole numbers as int)."""
    columns = frame.reindex(columns=schema.names)
    cleaned = columns.astype(object).where(columns.notna(), None)
    whole = [isinstance(f.dataType, T.LongType) for f in schema.fields]
    return [tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else int(v) if is_whole and v is not None else v
                  for v, is_whole in zip(row, whole))
            for row in cleaned.itertuples(index=False)]


def as_spark(spark: SparkSession, matches: pd.DataFrame, summary: dict) -> tuple[DataFrame, DataFrame]:
    """The evaluation outputs with explicit schemas, so an empty result still has its columns:
    the matches, and the summary as its "all" row, one row per kind, then the clear and the subtle
    cases when the truth has magnitudes by signal."""
    summary_frame = pd.concat([pd.DataFrame([{"kind": "all", **summary}]), by_kind(matches), by_strength(matches)],
                              ignore_index=True)
    return (spark.createDataFrame(_rows(matches, TRUTH_MATCH_SCHEMA), TRUTH_MATCH_SCHEMA),
            spark.createDataFrame(_rows(summary_frame, EVALUATION_SCHEMA), EVALUATION_SCHEMA))

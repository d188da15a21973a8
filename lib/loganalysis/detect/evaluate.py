"""Score detected incidents against ground truth (injected incidents or labelled windows).

Both sides are small tables (one row per incident), so this runs in pandas on the driver.
Each incident (one per series and period, every signal that moved in it) is one event, as an
SRE would count pages; an event is a true positive when it overlaps a truth window of its series.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from loganalysis.core.schema import EVALUATION_SCHEMA, SERIES_KEYS, TRUTH_MATCH_SCHEMA


def incidents_as_events(incidents: pd.DataFrame) -> pd.DataFrame:
    """The stage's incidents as events to score: each is already one per series and period,
    its signals merged (anomalies.service_incidents)."""
    events = incidents.reindex(columns=[*SERIES_KEYS, "start", "end", "metrics"])
    return events.assign(metrics=events["metrics"].map(
        lambda m: ", ".join(m) if m is not None and not isinstance(m, str) else m))


def _overlaps(event, truth, tolerance: pd.Timedelta) -> bool:
    return (event.service == truth.service and event.environment == truth.environment
            and event.start < truth.end + tolerance and event.end > truth.start)


def score(events: pd.DataFrame, truth: pd.DataFrame, tolerance: pd.Timedelta = pd.Timedelta(0),
          scoring_start: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """(truth with detected / delay columns, {precision, recall, f1, ...}).

    `scoring_start` (service, environment, start) drops events that end before a series'
    scoring starts, as benchmarks leave a warm-up ("probation") period unscored.
    """
    if scoring_start is not None and not scoring_start.empty and not events.empty:
        cut = events.merge(scoring_start.rename(columns={"start": "scoring_start"}), on=SERIES_KEYS, how="left")
        events = cut[cut["scoring_start"].isna() | (cut["end"] > cut["scoring_start"])].drop(columns="scoring_start")
    truth = truth.copy()
    detected, delays = [], []
    for row in truth.itertuples():
        hits = [e for e in events.itertuples() if _overlaps(e, row, tolerance)]
        detected.append(bool(hits))
        delays.append(max(min(e.start for e in hits) - row.start, pd.Timedelta(0)).total_seconds() / 60
                      if hits else None)
    truth["detected"] = detected
    truth["delay_minutes"] = delays
    true_events = sum(any(_overlaps(e, t, tolerance) for t in truth.itertuples()) for e in events.itertuples())
    precision = true_events / len(events) if len(events) else (1.0 if truth.empty else 0.0)
    recall = sum(detected) / len(truth) if len(truth) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    summary = {
        "truth_windows": len(truth), "caught": int(sum(detected)), "events": len(events),
        "false_events": len(events) - true_events, "precision": round(precision, 4),
        "recall": round(recall, 4), "f1": round(f1, 4),
        "mean_delay_minutes": (round(float(pd.Series(delays).dropna().mean()), 2)
                               if any(d is not None for d in delays) else None),
    }
    return truth, summary


def _rows(frame: pd.DataFrame, schema) -> list[tuple]:
    """pandas rows as plain Python values in schema order (NaN/NaT as None)."""
    cleaned = frame[schema.names].astype(object).where(frame[schema.names].notna(), None)
    return [tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row)
            for row in cleaned.itertuples(index=False)]


def as_spark(spark: SparkSession, matches: pd.DataFrame, summary: dict) -> tuple[DataFrame, DataFrame]:
    """The evaluation outputs with explicit schemas, so an empty result still has its columns."""
    summary_frame = pd.DataFrame([summary])
    return (spark.createDataFrame(_rows(matches, TRUTH_MATCH_SCHEMA), TRUTH_MATCH_SCHEMA),
            spark.createDataFrame(_rows(summary_frame, EVALUATION_SCHEMA), EVALUATION_SCHEMA))

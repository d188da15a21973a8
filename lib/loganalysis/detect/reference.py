"""Detections of another detector, in NAB's results format, as events to score side by side.

NAB ships each detector's output per series as `<detector>_<series>.csv` with columns
`timestamp, value, anomaly_score, label, ...`; a point is flagged at `anomaly_score >= 1.0`, and
consecutive flagged points form one event (the scoring in ../shared/data/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FLAG_SCORE = 1.0


def events_from_scores(scores: pd.DataFrame, service: str, environment: str) -> pd.DataFrame:
    """Runs of consecutive flagged rows of one series as events [first, last] (inclusive)."""
    flagged = scores["anomaly_score"] >= FLAG_SCORE
    run = (flagged != flagged.shift()).cumsum()
    events = (scores[flagged].groupby(run[flagged])["timestamp"].agg(["min", "max"]).reset_index(drop=True))
    return pd.DataFrame({"service": service, "environment": environment, "start": events["min"],
                         "end": events["max"] + pd.Timedelta(seconds=1), "metrics": "reference"})


def read_reference_events(results_dir: str, environment: str) -> pd.DataFrame:
    """All events of a NAB detector's result files under a folder (small files: pandas)."""
    frames = []
    for path in sorted(Path(results_dir).rglob("*.csv")):
        detector, _, series = path.stem.partition("_")
        scores = pd.read_csv(path, usecols=["timestamp", "anomaly_score"], parse_dates=["timestamp"])
        frames.append(events_from_scores(scores, series, environment))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["service", "environment", "start", "end", "metrics"])


def read_published_events(path: str, environment: str) -> dict[str, pd.DataFrame]:
    """Flagged runs of published detectors, `{"detectors": {name: {"events": {"<folder>/<file>.csv":
    [[first, last], ...]}}}}` (timestamps inclusive), as events per detector name."""
    published = json.loads(Path(path).read_text())["detectors"]
    return {name: _runs_as_events(spec["events"], environment) for name, spec in published.items()}


def _runs_as_events(runs: dict[str, list], environment: str) -> pd.DataFrame:
    rows = [{"service": Path(series).stem, "environment": environment, "start": pd.Timestamp(first),
             "end": pd.Timestamp(last) + pd.Timedelta(seconds=1), "metrics": "reference"}
            for series, series_runs in runs.items() for first, last in series_runs]
    return pd.DataFrame(rows, columns=["service", "environment", "start", "end", "metrics"])

"""NAB loading and the project's event scoring (pure numpy/pandas).

Scoring (from ../shared/data/README.md): per series, skip the probation rows (the first
min(floor(15% of rows), 750) rows); consecutive flagged rows form one event; a window
[start, end] (inclusive) is caught when any point of an event lies inside it; an event touching
no window is a false positive. Sums over series: recall = caught / windows,
precision = (events - false) / events, F1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"  # ../shared beside the checkout
FOLDERS = ("artificialNoAnomaly", "artificialWithAnomaly", "realAWSCloudwatch", "realAdExchange",
           "realKnownCause", "realTraffic", "realTweets")


@dataclass
class Series:
    name: str            # "<folder>/<file>.csv"
    folder: str
    epochs: np.ndarray   # int64 seconds, one per file row
    values: np.ndarray   # float, one per file row
    windows: list        # [(start_epoch, end_epoch)] inclusive


def _epochs(stamps) -> np.ndarray:
    return (pd.to_datetime(pd.Series(stamps)).astype("datetime64[ns]").astype("int64") // 10**9).to_numpy()


def load_nab(root: Path = NAB) -> list[Series]:
    labels = json.loads((root / "label_windows.json").read_text())
    out = []
    for name in sorted(labels):
        frame = pd.read_csv(root / "data" / name)
        wins = [(int(_epochs([a])[0]), int(_epochs([b])[0])) for a, b in labels[name]]
        out.append(Series(name, name.split("/")[0], _epochs(frame["timestamp"]),
                          frame["value"].to_numpy(float), wins))
    return out


def probation(n: int) -> int:
    return min(int(np.floor(0.15 * n)), 750)


def events_of(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True rows as (first, last) row indices."""
    f = np.concatenate([[False], flags.astype(bool), [False]])
    d = np.diff(f.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
    return list(zip(starts.tolist(), ends.tolist()))


def score_series(s: Series, row_flags: np.ndarray) -> dict:
    """Counts for one series from per-row flags."""
    flags = row_flags.astype(bool).copy()
    flags[: probation(len(flags))] = False
    evs = events_of(flags)
    caught = np.zeros(len(s.windows), bool)
    false = 0
    for a, b in evs:
        t = s.epochs[a: b + 1]
        hit = False
        for k, (ws, we) in enumerate(s.windows):
            if np.any((t >= ws) & (t <= we)):
                caught[k] = True
                hit = True
        false += not hit
    return {"windows": len(s.windows), "caught": int(caught.sum()), "events": len(evs), "false": false}


def summarise(rows) -> dict:
    w = sum(r["windows"] for r in rows)
    c = sum(r["caught"] for r in rows)
    e = sum(r["events"] for r in rows)
    f = sum(r["false"] for r in rows)
    rec = c / w if w else 1.0
    prec = (e - f) / e if e else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"windows": w, "caught": c, "events": e, "false": f, "recall": rec, "precision": prec, "f1": f1}


def reference_flags(series: list[Series], root: Path = NAB) -> dict[str, dict[str, np.ndarray]]:
    """Per reference detector, per series: row flags from the published [first, last] runs."""
    ref = json.loads((root / "reference_events.json").read_text())["detectors"]
    out = {}
    for det, spec in ref.items():
        per = {}
        for s in series:
            flags = np.zeros(len(s.epochs), bool)
            for a, b in spec["events"].get(s.name, []):
                ea, eb = _epochs([a])[0], _epochs([b])[0]
                flags |= (s.epochs >= ea) & (s.epochs <= eb)
            per[s.name] = flags
        out[det] = per
    return out


def fmt(name: str, r: dict) -> str:
    return (f"| {name} | {r['caught']}/{r['windows']} | {r['events']} | {r['false']} | "
            f"{r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} |")


HEADER = "| detector | caught/windows | events | false | recall | precision | F1 |\n|---|---:|---:|---:|---:|---:|---:|"

if __name__ == "__main__":
    ser = load_nab()
    refs = reference_flags(ser)
    print(HEADER)
    for det, per in refs.items():
        print(fmt(det, summarise([score_series(s, per[s.name]) for s in ser])))

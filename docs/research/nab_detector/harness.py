"""Experiment harness: NAB through the detector as the product would feed it, scored.

Product feed: each series is bucketed on a complete grid of `bucket_seconds` (5 minutes for NAB;
the hourly realAdExchange files get 1-hour buckets -- the bucket is the data's own median step
rounded to a multiple of 5 minutes, a shape property, not a tuned setting). A bucket's value
(mean_ms == p95_ms for NAB) is the mean of its rows, NaN when it has none; `requests` is the row
count. mean_ms and p95_ms are identical for NAB, so scoring both and merging their touching runs
gives the same events as scoring one: the harness scores the value once. With --requests it also
scores the requests series (0 on missing buckets) and merges its incidents with the value's.

A file row is flagged when its bucket is inside an incident; rows are then scored by nabscore.

Usage: python harness.py [--quick] [--requests]
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace

import numpy as np

from baselines import DetectorConfig, detect
from nabscore import FOLDERS, HEADER, fmt, load_nab, reference_flags, score_series, summarise

GRID_STEP = 300


def bucket_of(epochs: np.ndarray) -> int:
    step = float(np.median(np.diff(epochs)))
    return int(max(GRID_STEP, round(step / GRID_STEP) * GRID_STEP))


def to_grid(epochs: np.ndarray, values: np.ndarray, bucket: int):
    b = epochs // bucket
    pos = b - b.min()
    n = int(pos.max()) + 1
    sums = np.bincount(pos, weights=values, minlength=n)
    counts = np.bincount(pos, minlength=n).astype(float)
    with np.errstate(invalid="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return pos, grid, counts


def row_flags(s, config: DetectorConfig, with_requests: bool = False) -> np.ndarray:
    bucket = bucket_of(s.epochs)
    pos, grid, counts = to_grid(s.epochs, s.values, bucket)
    inc = detect(grid, bucket, config)["incident"].to_numpy()
    if with_requests:
        inc = inc | detect(counts, bucket, replace(config, transform="none"))["incident"].to_numpy()
    return inc[pos]


def run(series, config: DetectorConfig, with_requests=False) -> dict[str, dict]:
    return {s.name: score_series(s, row_flags(s, config, with_requests)) for s in series}


def pooled(rows: dict[str, dict], names) -> dict:
    return summarise([rows[n] for n in names])


GRID = {"threshold": [3.0, 4.0, 5.0, 6.0], "window_seconds": [6 * 3600, 12 * 3600, 86400, 2 * 86400]}


def lofo(series, results: dict[tuple, dict]) -> tuple[list, dict]:
    """For each folder: choose the grid point with the best F1 on the other folders, score the
    left-out folder with it. Returns (per-folder rows, pooled left-out summary)."""
    by_folder = {f: [s.name for s in series if s.folder == f] for f in FOLDERS}
    rows, left = [], []
    for f in FOLDERS:
        others = [n for g in FOLDERS if g != f for n in by_folder[g]]
        best = max(results, key=lambda k: (round(pooled(results[k], others)["f1"], 6), k))
        out = pooled(results[best], by_folder[f])
        rows.append((f, best, pooled(results[best], others)["f1"], out))
        left += [results[best][n] for n in by_folder[f]]
    return rows, summarise(left)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", action="store_true")
    ap.add_argument("--nogrid", action="store_true", help="final defaults only (fast)")
    ap.add_argument("--base", default="", help="comma list key=value overriding DetectorConfig")
    args = ap.parse_args()
    series = load_nab()
    base = DetectorConfig()
    for kv in filter(None, args.base.split(",")):
        k, v = kv.split("=")
        base = replace(base, **{k: type(getattr(base, k))(v) if not isinstance(getattr(base, k), bool) else v == "True"})

    t0 = time.perf_counter()
    final = run(series, base, args.requests)
    dt = time.perf_counter() - t0
    npts = sum(len(s.values) for s in series)
    print(f"config: {base}")
    print(f"runtime, final defaults over 29 series ({npts} rows): {dt:.2f} s (incl. gridding + scoring)")

    print("\n## In-sample, final defaults\n" + HEADER)
    print(fmt("this detector", summarise(final.values())))
    for det, per in reference_flags(series).items():
        print(fmt(det, summarise([score_series(s, per[s.name]) for s in series])))
    print("\nper folder (final defaults):")
    for f in FOLDERS:
        print(fmt(f, pooled(final, [s.name for s in series if s.folder == f])))

    if args.nogrid:
        return
    keys = list(itertools.product(GRID["threshold"], GRID["window_seconds"]))
    results = {}
    for k in keys:
        cfg = replace(base, threshold=k[0], window_seconds=k[1])
        results[k] = run(series, cfg, args.requests)
    print("\n## Grid, in-sample F1 (threshold x window hours)")
    for k in keys:
        r = summarise(results[k].values())
        print(f"T={k[0]} W={k[1] // 3600}h  F1={r['f1']:.3f} caught={r['caught']} events={r['events']} false={r['false']}")
    rows, left = lofo(series, results)
    print("\n## Leave-one-folder-out (defaults chosen on the other 6 folders)\n| folder | chosen (T, W h) | F1 on others | caught/windows | events | false | F1 left-out |\n|---|---|---:|---:|---:|---:|---:|")
    for f, best, f1o, out in rows:
        print(f"| {f} | ({best[0]}, {best[1] // 3600}) | {f1o:.3f} | {out['caught']}/{out['windows']} | {out['events']} | {out['false']} | {out['f1']:.3f} |")
    print(fmt("pooled left-out", left))


if __name__ == "__main__":
    main()

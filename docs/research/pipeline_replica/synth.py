"""Synthetic default run through the replica: python synth.py DATA_ROOT [json overrides]"""
import sys, json
import time
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, str(Path(__file__).parent))
from replica import z_for, incidents_for, merge_into_events
from loganalysis.detect import evaluate

def load(root):
    ts = pd.read_parquet(f"{root}/metrics/timeseries")
    truth = pd.read_parquet(f"{root}/ground_truth/incidents")
    return ts, truth

def run(ts, truth, cfg):
    seconds = int(ts["bucket_seconds"].iloc[0])
    rows = []
    for (svc, env), g in ts.groupby(["service", "environment"]):
        g = g.set_index("bucket").sort_index()
        grid = pd.date_range(g.index.min(), g.index.max(), freq=f"{seconds}s")
        g = g.reindex(grid)
        req = g["requests"].fillna(0).to_numpy(float)
        dense = req >= cfg["min_bucket_requests"]
        series = {"requests": req, "mean_ms": np.where(dense, g["mean_ms"], np.nan), "p95_ms": np.where(dense & (req >= cfg.get("p95_min", 0)), g["p95_ms"], np.nan)}
        for metric, values in series.items():
            z = z_for(values.astype(float), metric, seconds, cfg["window_seconds"], cfg["method"], cfg["threshold"], cfg["min_history"], cfg["relative_floor"])
            direction = "both" if metric == "requests" else "up"
            for s, e, n, p, d in incidents_for(z, grid, seconds, direction, cfg["threshold"], cfg["persistence"], cfg["spike_threshold"], cfg["merge_gap_seconds"]):
                rows.append(dict(service=svc, environment=env, metric=metric, start=s, end=e, buckets=n, peak_z=p, direction=d))
    inc = pd.DataFrame(rows, columns=["service","environment","metric","start","end","buckets","peak_z","direction"])
    events = merge_into_events(inc, gap=pd.Timedelta(seconds=cfg["merge_gap_seconds"]))
    matches, summary = evaluate.score(events, truth, pd.Timedelta(minutes=10))
    return inc, matches, summary

DEFAULT = dict(window_seconds=86400, method="seasonal", threshold=4.0, min_history=12, relative_floor=0.01,
               persistence=3, spike_threshold=8.0, merge_gap_seconds=3600, min_bucket_requests=10, p95_min=20)
if __name__ == "__main__":
    ts, truth = load(sys.argv[1])
    cfg = {**DEFAULT, **(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})}
    t = time.time(); inc, matches, summary = run(ts, truth, cfg)
    print(summary, f"{time.time()-t:.1f}s")
    if "-v" in sys.argv:
        print(matches[["kind","service","environment","start","magnitude","detected"]].to_string())
        print(inc.sort_values("start").to_string())

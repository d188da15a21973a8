"""NAB development series through the replica, scored as the pipeline scores: python nab.py [json] [-v] [--lofo]"""
import sys, json, time
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, str(Path(__file__).parent))
import replica
from replica import z_for, incidents_for, merge_into_events
from loganalysis.detect.anomalies import sampled_rows, sampling_step
from loganalysis.detect import evaluate, reference
from loganalysis.detect.baselines import beyond_recent_range, far_beyond_recent_range
from loganalysis.detect.anomalies import SPIKE_NOVELTY_SECONDS, FAR_NOVELTY_MARGIN, FAR_NOVELTY_MIN_SPAN_SECONDS
from loganalysis.sources import ingest

NAB = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"  # ../shared beside the checkout
BUCKET = 300

def load():
    truth = pd.DataFrame(ingest.label_windows(json.loads((NAB / "label_windows.json").read_text()), "prod"),
                         columns=["incident_id", "kind", "service", "environment", "start", "end", "magnitude"])
    series, starts, folder_of = {}, [], {}
    for path in sorted((NAB / "data").rglob("*.csv")):
        df = pd.read_csv(path, parse_dates=["timestamp"])
        probation = min(int(len(df) * 0.15), 750)
        starts.append({"service": path.stem, "environment": "prod", "start": df["timestamp"].iloc[probation]})
        series[path.stem] = df
        folder_of[path.stem] = path.parent.name
    return series, truth, pd.DataFrame(starts), folder_of

def detect(df, cfg):
    b = df["timestamp"].dt.floor(f"{BUCKET}s")
    g = df.groupby(b)["value"].agg(["mean", "count"])
    grid = pd.date_range(g.index.min(), g.index.max(), freq=f"{BUCKET}s")
    g = g.reindex(grid)
    req = g["count"].fillna(0).to_numpy(float)
    vals = np.where(req >= 1, g["mean"], np.nan).astype(float)
    # anomalies.trailing_baseline: scored on the series' own step (hourly readings: one row an hour)
    step = sampling_step(req, 86400 // BUCKET)
    rows = sampled_rows(req, step)
    on_step = BUCKET * step
    out = []
    metrics = {"requests": req, "mean_ms": vals} if cfg.get("requests", True) else {"mean_ms": vals}
    for metric, v in metrics.items():
        v = v[rows]
        z = z_for(v, metric, on_step, cfg["window_seconds"], cfg["method"], cfg["threshold"], cfg["min_history"], cfg["relative_floor"])
        days = cfg.get("spike_novelty_days")
        novel = beyond_recent_range(v, int(days * 86400 // on_step)) if days else None
        far = (far_beyond_recent_range(v, int(cfg["far_days"] * 86400 // on_step), cfg["far_margin"],
                                       int(cfg["far_min_span_seconds"] // on_step))
               if cfg.get("far_margin") is not None else None)
        # back on the grid's times: runs count scored points and merge by time, as signals does
        z = placed(z, rows, len(req))
        novel, far = [None if f is None else tuple(placed(a, rows, len(req)) for a in f) for f in (novel, far)]
        if replica.CONFIRM is not None:
            replica.CONFIRM = tuple(placed(a, rows, len(req)) for a in replica.CONFIRM)
        for s, e, n, p, d in incidents_for(z, grid, BUCKET, "both", cfg["threshold"], cfg["persistence"], cfg["spike_threshold"], cfg.get("same_dir_gap_seconds") or cfg["merge_gap_seconds"], novel, far, cfg.get("bridge", 0)):
            # anomalies.is_surge: a request count above normal, alone, is no incident (tagged here, dropped in score)
            out.append(dict(metric="requests_up" if metric == "requests" and d == "up" else metric, start=s, end=e))
    return out

def placed(values, rows, length):
    """`values` at `rows` of an array of `length`; NaN elsewhere, False for flags (unscored)."""
    out = np.zeros(length, bool) if values.dtype == bool else np.full(length, np.nan)
    out[rows] = values
    return out

SURGE_RULE = True  # python nab.py with SURGE_RULE False: the detector before 18ca788


def score(names, incs, truth, starts):
    rows = [dict(service=n, environment="prod", **i) for n in names for i in incs[n]]
    inc = pd.DataFrame(rows, columns=["service", "environment", "metric", "start", "end"])
    events = merge_into_events(inc, gap=pd.Timedelta(seconds=DEFAULT["merge_gap_seconds"]))
    if SURGE_RULE:  # anomalies.service_incidents: a period of surges only is no incident
        events = events[events["metrics"] != "requests_up"]
    t = truth[truth["service"].isin(names)]
    return evaluate.score(events, t, pd.Timedelta(0), starts[starts["service"].isin(names)])[1]

DEFAULT = dict(window_seconds=86400, method="seasonal", threshold=4.0, min_history=12, relative_floor=0.01,
               persistence=3, spike_threshold=8.0, merge_gap_seconds=3600,
               spike_novelty_days=SPIKE_NOVELTY_SECONDS / 86400,  # anomalies.signals; 0: off
               # anomalies.signals / baselines.far_beyond_recent_range ('{"far_margin": null}': off)
               far_margin=FAR_NOVELTY_MARGIN, far_days=SPIKE_NOVELTY_SECONDS / 86400,
               far_min_span_seconds=FAR_NOVELTY_MIN_SPAN_SECONDS,
               bridge=0)  # flagged points up to `bridge` unflagged scored points apart form one run (research; the pipeline: 0)

if __name__ == "__main__":
    series, truth, starts, folder_of = load()
    cfg = {**DEFAULT, **(json.loads(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].startswith("{") else {})}
    import replica; replica.MERGE_POINTS = cfg.get("merge_points", 0)
    t = time.time()
    incs = {n: detect(df, cfg) for n, df in series.items()}
    s = score(list(series), incs, truth, starts)
    print(f"ALL caught {s['caught']} events {s['events']} false {s['false_events']} P {s['precision']} R {s['recall']} F1 {s['f1']}  ({time.time()-t:.1f}s)")
    if "-v" in sys.argv:
        for f in sorted(set(folder_of.values())):
            names = [n for n in series if folder_of[n] == f]
            s = score(names, incs, truth, starts)
            print(f"  {f:24s} caught {s['caught']}/{s['truth_windows']} events {s['events']} false {s['false_events']} F1 {s['f1']}")

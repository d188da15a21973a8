"""Synthetic default run through the replica: python synth.py DATA_ROOT [json overrides] [-v]

Scores requests, mean_ms, p95_ms and the 5xx error rate as stage 03 does (anomalies.long_series,
with_baseline, with_z_score, signals): rates and latencies only from min_bucket_requests requests,
p95 from P95_MIN_REQUESTS; the error rate's level is the trailing window's pooled rate and its
spread the binomial deviation for the bucket's own requests, floored at error_rate_floor and
1/requests; mean_ms and the error rate also over the last POOL_SECONDS (baselines.pooled_*_z, the
larger z counts); a p95 run needs persistence (no spike rule); another run opens on its spike
only beyond the series' range over SPIKE_NOVELTY_SECONDS ('{"spike_novelty_seconds": 0}': off);
a point far beyond that range (anomalies.FAR_NOVELTY_MARGIN, not for p95) flags and opens whatever
its z ('{"far_margin": null}': off). '{"pooled": false, "p95_spikes":
true}' gives the detector before these two rules; '{"pool_gate": 1}' takes the pooled z only where the
bucket's own z is at least 1 (measured, not taken)."""
import sys, json
import time
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, str(Path(__file__).parent))
import replica
from replica import z_for, incidents_for, merge_into_events
from loganalysis.detect import evaluate
from loganalysis.detect import baselines as b
from loganalysis.detect.baselines import window_totals, SeriesContext
from loganalysis.detect.anomalies import SPIKE_NOVELTY_SECONDS, FAR_NOVELTY_MARGIN, FAR_NOVELTY_MIN_SPAN_SECONDS

def load(root):
    ts = pd.read_parquet(f"{root}/metrics/timeseries")
    truth = pd.read_parquet(f"{root}/ground_truth/incidents")
    return ts, truth

def error_rate_z(req, err, cfg, seconds):
    """anomalies.trailing_baseline + with_baseline + with_z_score for metric error_rate: the bucket's
    z against the window's pooled rate, or the last POOL_SECONDS' pooled z when larger"""
    window = max(cfg["window_seconds"] // seconds, 1)
    dense = req >= cfg["min_bucket_requests"]
    values = np.where(dense, err / np.maximum(req, 1), np.nan)
    counted = ~np.isnan(values)
    history = window_totals(counted.astype(float), window)
    with np.errstate(all="ignore"):
        wr = window_totals(np.where(counted, req, 0), window)
        we = window_totals(np.where(counted, err, 0), window)
        center = np.where(wr > 0, we / wr, np.nan)
        spread = np.sqrt(center * (1 - center) / req)
        floor = np.maximum(cfg["error_rate_floor"], 1.0 / req)
        scale = np.fmax(np.nan_to_num(spread, nan=0.0), floor)
        z = np.where((history >= cfg["min_history"]) & counted, (values - center) / scale, np.nan)
    if cfg.get("pooled", True):
        zp = b.pooled_error_z(values, req, err, center, history, SeriesContext(seconds, cfg["threshold"]),
                              cfg["error_rate_floor"], cfg["min_history"])
        z = np.where(np.isnan(z), z, np.where(z >= cfg.get("pool_gate", -np.inf), np.fmax(z, zp), z))
    return z

def run(ts, truth, cfg):
    seconds = int(ts["bucket_seconds"].iloc[0])
    rows = []
    for (svc, env), g in ts.groupby(["service", "environment"]):
        g = g.set_index("bucket").sort_index()
        grid = pd.date_range(g.index.min(), g.index.max(), freq=f"{seconds}s")
        g = g.reindex(grid)
        req = g["requests"].fillna(0).to_numpy(float)
        err = g["errors_5xx"].fillna(0).to_numpy(float)
        dense = req >= cfg["min_bucket_requests"]
        series = {"requests": req, "mean_ms": np.where(dense, g["mean_ms"], np.nan), "p95_ms": np.where(dense & (req >= cfg.get("p95_min", 0)), g["p95_ms"], np.nan)}
        for metric in [*series, "error_rate"]:
            if metric == "error_rate":
                z = error_rate_z(req, err, cfg, seconds)
                replica.CONFIRM = None  # the rate is judged against its pooled rate, not the slow models
            else:
                z = z_for(series[metric].astype(float), metric, seconds, cfg["window_seconds"], cfg["method"], cfg["threshold"], cfg["min_history"], cfg["relative_floor"])
                if metric == "mean_ms" and cfg.get("pooled", True):  # anomalies.trailing_baseline: pooled_z
                    zp, zp_slow = b.pooled_latency_z(series[metric].astype(float), req, max(cfg["window_seconds"] // seconds, 1),
                                                     cfg["method"], SeriesContext(seconds, cfg["threshold"]), cfg["relative_floor"], cfg["min_history"])
                    if replica.CONFIRM is not None:  # anomalies.trailing_baseline: the pooled mean confirms upwards too
                        replica.CONFIRM = (replica.CONFIRM[0] | (zp_slow >= cfg["threshold"]), replica.CONFIRM[1])
                    z = np.where(np.isnan(z), z, np.where(z >= cfg.get("pool_gate", -np.inf), np.fmax(z, zp), z))
            direction = "both" if metric == "requests" else "up"
            # anomalies.signals: a p95 alone needs persistence (one bucket's p95 is a few slow requests)
            spike = cfg["spike_threshold"] if metric != "p95_ms" or cfg.get("p95_spikes", False) else np.inf
            # anomalies.signals: a spike alone opens only beyond the series' recent range
            v = (np.where(req >= cfg["min_bucket_requests"], err / np.maximum(req, 1), np.nan) if metric == "error_rate"
                 else series[metric].astype(float))
            novel = (b.beyond_recent_range(v, max(int(cfg["spike_novelty_seconds"]) // seconds, 1))
                     if cfg.get("spike_novelty_seconds") else None)
            # anomalies.signals: a point far beyond the series' recent range flags and opens whatever its z
            far = (b.far_beyond_recent_range(v, max(int(cfg["far_days"] * 86400) // seconds, 1), cfg["far_margin"],
                                             int(cfg["far_min_span_seconds"]) // seconds)
                   if cfg.get("far_margin") is not None and metric != "p95_ms" else None)
            for s, e, n, p, d in incidents_for(z, grid, seconds, direction, cfg["threshold"], cfg["persistence"], spike, cfg.get("same_dir_gap_seconds") or cfg["merge_gap_seconds"], novel, far, cfg.get("bridge", 0)):
                rows.append(dict(service=svc, environment=env, metric=metric, start=s, end=e, buckets=n, peak_z=p, direction=d))
    inc = pd.DataFrame(rows, columns=["service","environment","metric","start","end","buckets","peak_z","direction"])
    events = merge_into_events(inc, gap=pd.Timedelta(seconds=cfg["merge_gap_seconds"]))
    matches, summary = evaluate.score(events, truth, pd.Timedelta(minutes=10))
    return inc, matches, summary

def clear(matches, summary):
    """clear-case recall, precision over all events, extent and fragmentation of the clear cases"""
    c = evaluate.by_strength(matches).set_index("kind").loc["clear cases"]
    return dict(clear=f"{int(c['caught'])}/{int(c['truth_windows'])}", recall=c["recall"], precision=summary["precision"],
                events=summary["events"], false=summary["false_events"], extent=c["mean_extent"], frag=c["fragmentation"])

DEFAULT = dict(window_seconds=86400, method="seasonal", threshold=4.0, min_history=12, relative_floor=0.01,
               persistence=3, spike_threshold=8.0, merge_gap_seconds=3600, min_bucket_requests=10, p95_min=20,
               error_rate_floor=0.01, spike_novelty_seconds=SPIKE_NOVELTY_SECONDS,
               far_margin=FAR_NOVELTY_MARGIN, far_days=SPIKE_NOVELTY_SECONDS / 86400,
               far_min_span_seconds=FAR_NOVELTY_MIN_SPAN_SECONDS)  # '{"far_margin": null}': off
if __name__ == "__main__":
    ts, truth = load(sys.argv[1])
    cfg = {**DEFAULT, **(json.loads(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].startswith("{") else {})}
    t = time.time(); inc, matches, summary = run(ts, truth, cfg)
    print(summary, f"{time.time()-t:.1f}s")
    print(clear(matches, summary))
    if "-v" in sys.argv:
        print(matches[["kind","service","environment","start","end","magnitude","clear","detected","extent","detections"]].to_string())
        print(inc.sort_values("start").to_string())

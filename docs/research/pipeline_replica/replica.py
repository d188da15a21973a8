"""numpy replica of the pipeline's stage 03 for fast experiments (the error rate and the pooled scores: synth.py)."""
from __future__ import annotations
import numpy as np, pandas as pd
from loganalysis.detect.baselines import BASELINE_METHODS, SeriesContext, window_totals

def z_for(values, metric, bucket_seconds, window_seconds, method, threshold, min_history, rel_floor, methods=BASELINE_METHODS):
    window = max(window_seconds // bucket_seconds, 1)
    ctx = SeriesContext(bucket_seconds, threshold)
    with np.errstate(all="ignore"):
        center, spread, slow_z = methods[method](values, window, ctx)
        global CONFIRM  # anomalies.signals: a run only persistence opens must be out against the slow models too
        CONFIRM = None if slow_z is None or metric == "error_rate" else (slow_z >= threshold, slow_z <= -threshold)
        history = window_totals((~np.isnan(values)).astype(float), window)
        if metric == "requests":
            floor = np.maximum.reduce([np.sqrt(np.abs(center)), np.abs(center) * rel_floor, np.ones_like(center)])
        else:
            floor = np.abs(center) * rel_floor
        scale = np.fmax(np.nan_to_num(spread, nan=0.0), floor)
        z = np.where((history >= min_history) & ~np.isnan(values), (values - center) / scale, np.nan)
    return z

RUN_LOG = None  # a list: every flagged run, opened or not (research)
CONFIRM = None  # (up, down) bool arrays, set by z_for: a run opened by persistence alone must hold one

MERGE_POINTS = 0  # research: runs of one direction with at most this many scored points between them are one incident

def incidents_for(z, buckets, bucket_seconds, direction, threshold, persistence, spike, gap_seconds, novel=None, far=None, bridge=0):
    """list of (start, end, n, peak) like anomalies.signals; `novel` (new high, new low arrays, as
    baselines.beyond_recent_range): a run shorter than `persistence` opens on its spike only when
    one of its points is a new high (up) or low (down); `far` (far high, far low arrays, as
    baselines.far_beyond_recent_range): such a scored point is flagged whatever its z, and a run
    holding one opens without persistence"""
    out = []
    valid = ~np.isnan(z)
    idx = np.flatnonzero(valid)
    for sign, name in ((1, "up"), (-1, "down")):
        if direction not in (name, "both"):
            continue
        far_here = far[0 if sign > 0 else 1][idx] if far is not None else np.zeros(len(idx), bool)
        f = ((sign * z[idx]) >= threshold) | far_here
        runs, i = [], 0
        while i < len(f):
            if f[i]:
                j = i
                while True:
                    nxt = next((k for k in range(j + 1, min(j + 2 + bridge, len(f))) if f[k]), None)
                    if nxt is None:
                        break
                    j = nxt
                peak = np.max(np.abs(z[idx[i:j + 1]]))
                fresh = novel is None or novel[0 if sign > 0 else 1][idx[i:j + 1]].any()
                why = ("persist" if f[i:j + 1].sum() >= persistence else "") + ("spike" if (peak >= spike and fresh) else "") + ("far" if far_here[i:j + 1].any() else "")
                if RUN_LOG is not None:
                    RUN_LOG.append(dict(start=buckets[idx[i]], end=buckets[idx[j]] + pd.Timedelta(seconds=bucket_seconds), n=int(f[i:j + 1].sum()), peak=peak,
                                        sum_z=float(np.nansum(np.abs(z[idx[i:j + 1]]))), why=why, dir=name))
                if why == "persist" and CONFIRM is not None and not CONFIRM[0 if sign > 0 else 1][idx[i:j + 1]].any():
                    why = ""
                if why:
                    runs.append([idx[i], idx[j], int(f[i:j + 1].sum()), peak])
                i = j + 1
            else:
                i += 1
        merged = []
        for r in runs:
            if merged and ((r[0] - merged[-1][1] - 1) * bucket_seconds <= gap_seconds
                           or np.count_nonzero(valid[merged[-1][1] + 1:r[0]]) <= MERGE_POINTS):
                merged[-1][1] = r[1]; merged[-1][2] += r[2]; merged[-1][3] = max(merged[-1][3], r[3])
            else:
                merged.append(list(r))
        for s, e, n, p in merged:
            out.append((buckets[s], buckets[e] + pd.Timedelta(seconds=bucket_seconds), n, p, name))
    return out


def merge_into_events(incidents: pd.DataFrame, gap: pd.Timedelta = pd.Timedelta(0)) -> pd.DataFrame:
    """Incidents of one series that overlap or lie within `gap` of each other become one event."""
    columns = [*["service", "environment"], "start", "end", "metrics"]
    if incidents.empty:
        return pd.DataFrame(columns=columns)
    events = []
    for key, group in incidents.sort_values("start").groupby(["service", "environment"], sort=True):
        current = None
        for row in group.itertuples():
            if current is not None and row.start <= current["end"] + gap:
                current["end"] = max(current["end"], row.end)
                current["metrics"].add(row.metric)
            else:
                if current is not None:
                    events.append(current)
                current = {"service": key[0], "environment": key[1], "start": row.start,
                           "end": row.end, "metrics": {row.metric}}
        events.append(current)
    frame = pd.DataFrame(events, columns=columns)
    frame["metrics"] = frame["metrics"].map(lambda m: ", ".join(sorted(m)))
    return frame

"""Every event (TRUE / FALSE) and every missed window per NAB series, with the peak |z| of the mean: python events.py [json overrides]"""
import sys, json
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import numpy as np, pandas as pd
import nab
from replica import z_for, merge_into_events
from loganalysis.detect import evaluate
series, truth, starts, folder_of = nab.load()
cfg = {**nab.DEFAULT, **(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})}
for name, df in series.items():
    incs = nab.detect(df, cfg)
    inc = pd.DataFrame([dict(service=name, environment="prod", **i) for i in incs], columns=["service","environment","metric","start","end"])
    ev = merge_into_events(inc, gap=pd.Timedelta(seconds=3600))
    ev = ev[ev["metrics"] != "requests_up"]
    st = starts.loc[starts.service == name, "start"].iloc[0]
    ev = ev[ev["end"] > st]
    t = truth[truth.service == name]
    # z series
    b = df["timestamp"].dt.floor("300s"); g = df.groupby(b)["value"].mean()
    grid = pd.date_range(g.index.min(), g.index.max(), freq="300s"); v = g.reindex(grid).to_numpy(float)
    z = pd.Series(z_for(v, "mean_ms", 300, cfg["window_seconds"], cfg["method"], cfg["threshold"], 12, 0.01), index=grid)
    print(f"== {folder_of[name]}/{name}  n={len(df)} start_scoring={st}")
    for e in ev.itertuples():
        hit = any((e.start < w.end) and (e.end > w.start) for w in t.itertuples())
        zz = z[e.start:e.end - pd.Timedelta(seconds=1)]
        print(f"   {'TRUE ' if hit else 'FALSE'} {e.start} -> {e.end} ({(e.end-e.start).total_seconds()/3600:.1f}h) peakz {zz.abs().max():.1f} {e.metrics}")
    for w in t.itertuples():
        if not any((e.start < w.end) and (e.end > w.start) for e in ev.itertuples()):
            zz = z[w.start:w.end]
            print(f"   MISS  {w.start} -> {w.end} max|z| {zz.abs().max():.2f} (z>=4 pts {(zz.abs()>=4).sum()})")

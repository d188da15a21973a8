"""LOFO over threshold x window on NAB for a structure: python lofo.py '{patch}' ['{"CONSTANT": [values, ...]}']

The optional second argument crosses module constants of baselines.py, or keys of nab.DEFAULT
(spike_novelty_days), into the grid (the default value first: it wins ties), so they are chosen
by the procedure too."""
import sys, json
import itertools
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import loganalysis.detect.baselines as b
patch = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
for k, v in patch.items(): setattr(b, k, v)
extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
import nab
from loganalysis.detect import evaluate
series, truth, starts, folder_of = nab.load()
folders = sorted(set(folder_of.values()))
constants = [dict(zip(extra, values)) for values in itertools.product(*extra.values())] or [{}]
grid = [(t, w, i) for i in range(len(constants)) for t, w in itertools.product([3.0, 4.0, 5.0], [43200, 86400, 172800])]
default = (4.0, 86400, 0)
incs = {}
for t, w, i in grid:
    for k, v in constants[i].items():
        if k not in nab.DEFAULT: setattr(b, k, v)
    cfg = {**nab.DEFAULT, **{k: v for k, v in constants[i].items() if k in nab.DEFAULT}, "threshold": t, "window_seconds": w}
    incs[(t, w, i)] = {n: nab.detect(df, cfg) for n, df in series.items()}
def sc(key, names): return nab.score(names, incs[key], truth, starts)
def name(key): return f"T={key[0]} W={key[1]//3600}h" + "".join(f" {k}={v}" for k, v in constants[key[2]].items())
allnames = list(series)
for key in grid:
    s = sc(key, allnames); print(f"  {name(key)} F1 {s['f1']:.3f} caught {s['caught']} events {s['events']} false {s['false_events']}")
tot = {"caught": 0, "events": 0, "false": 0, "windows": 0}
for f in folders:
    names = [n for n in allnames if folder_of[n] == f]; others = [n for n in allnames if folder_of[n] != f]
    best = max(grid, key=lambda k: (sc(k, others)["f1"], k == default))
    s = sc(best, names)
    tot["caught"] += s["caught"]; tot["events"] += s["events"]; tot["false"] += s["false_events"]; tot["windows"] += s["truth_windows"]
    print(f"  left out {f:24s} chose {name(best)} -> caught {s['caught']}/{s['truth_windows']} events {s['events']} false {s['false_events']}")
p = (tot["events"] - tot["false"]) / tot["events"]; r = tot["caught"] / tot["windows"]
print(f"{patch} {extra}\n  LOFO pooled caught {tot['caught']}/{tot['windows']} events {tot['events']} false {tot['false']} P {p:.3f} R {r:.3f} F1 {2*p*r/(p+r):.3f}")

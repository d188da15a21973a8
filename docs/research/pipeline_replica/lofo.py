"""LOFO over threshold x window on NAB for a structure: python lofo.py '{patch}' ['{"CONSTANT": [values, ...]}'] [--synth ROOT]

The optional second argument crosses module constants of baselines.py, or keys of nab.DEFAULT
(spike_novelty_days, far_margin), into the grid (the default value first: it wins ties), so they
are chosen by the procedure too. With --synth ROOT (a copy of a run's metrics/ and ground_truth/)
every setting is also run on that synthetic run, and a fold may only choose among the settings
that keep its clear cases' recall and its precision at least SYNTH_FLOOR (issue #17's acceptance
for the default run): the synthetic run is a constraint, not a score."""
import sys, json
import itertools
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import loganalysis.detect.baselines as b
patch = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
for k, v in patch.items(): setattr(b, k, v)
extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else {}
synth_root = sys.argv[sys.argv.index("--synth") + 1] if "--synth" in sys.argv else None
SYNTH_FLOOR = 0.9
import nab
from loganalysis.detect import evaluate
series, truth, starts, folder_of = nab.load()
folders = sorted(set(folder_of.values()))
constants = [dict(zip(extra, values)) for values in itertools.product(*extra.values())] or [{}]
grid = [(t, w, i) for i in range(len(constants)) for t, w in itertools.product([3.0, 4.0, 5.0], [43200, 86400, 172800])]
default = (4.0, 86400, 0)
incs, synth_ok = {}, {}
for t, w, i in grid:
    for k, v in constants[i].items():
        if k not in nab.DEFAULT: setattr(b, k, v)
    cfg = {**nab.DEFAULT, **{k: v for k, v in constants[i].items() if k in nab.DEFAULT}, "threshold": t, "window_seconds": w}
    incs[(t, w, i)] = {n: nab.detect(df, cfg) for n, df in series.items()}
    if synth_root:
        import synth
        if "synth_data" not in globals(): synth_data = synth.load(synth_root)
        _, m, s2 = synth.run(*synth_data, {**synth.DEFAULT, **{k: v for k, v in cfg.items() if k in synth.DEFAULT or k.startswith("far_") or k in ("same_dir_gap_seconds", "bridge")}})
        synth_ok[(t, w, i)] = c = synth.clear(m, s2)
        c["ok"] = bool(c["recall"] >= SYNTH_FLOOR and c["precision"] >= SYNTH_FLOOR)
def sc(key, names): return nab.score(names, incs[key], truth, starts)
def name(key): return f"T={key[0]} W={key[1]//3600}h" + "".join(f" {k}={v}" for k, v in constants[key[2]].items())
allnames = list(series)
for key in grid:
    s = sc(key, allnames); print(f"  {name(key)} F1 {s['f1']:.3f} caught {s['caught']} events {s['events']} false {s['false_events']}"
                                 + (f"  synth clear {synth_ok[key]['clear']} events {synth_ok[key]['events']} false {synth_ok[key]['false']}"
                                    f"{'' if synth_ok[key]['ok'] else '  (fails the synthetic floor)'}" if synth_root else ""))
allowed = [k for k in grid if not synth_root or synth_ok[k]["ok"]]
tot = {"caught": 0, "events": 0, "false": 0, "windows": 0}
for f in folders:
    names = [n for n in allnames if folder_of[n] == f]; others = [n for n in allnames if folder_of[n] != f]
    best = max(allowed, key=lambda k: (sc(k, others)["f1"], k == default))
    s = sc(best, names)
    tot["caught"] += s["caught"]; tot["events"] += s["events"]; tot["false"] += s["false_events"]; tot["windows"] += s["truth_windows"]
    print(f"  left out {f:24s} chose {name(best)} -> caught {s['caught']}/{s['truth_windows']} events {s['events']} false {s['false_events']}")
p = (tot["events"] - tot["false"]) / tot["events"]; r = tot["caught"] / tot["windows"]
print(f"{patch} {extra}\n  LOFO pooled caught {tot['caught']}/{tot['windows']} events {tot['events']} false {tot['false']} P {p:.3f} R {r:.3f} F1 {2*p*r/(p+r):.3f}")

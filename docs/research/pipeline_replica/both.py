"""Both harnesses with module constants patched: python both.py '{"LOCAL_MARGIN": 2.0}' '{"threshold": 5}'  (module constants, then config; run from the checkout root after make run)"""
import sys, json
import subprocess
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import loganalysis.detect.baselines as b
patch = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
for k, v in patch.items(): setattr(b, k, v)
import nab, synth
cfg_extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
series, truth, starts, folder_of = nab.load()
cfg = {**nab.DEFAULT, **{k: v for k, v in cfg_extra.items() if k in nab.DEFAULT}}
incs = {n: nab.detect(df, cfg) for n, df in series.items()}
s = nab.score(list(series), incs, truth, starts)
lofo = {}
print(f"{patch} {cfg_extra}")
print(f"  NAB   caught {s['caught']} events {s['events']} false {s['false_events']} F1 {s['f1']}")
ts, tr = synth.load("data/default")
scfg = {**synth.DEFAULT, "p95_min": 20, **cfg_extra}
inc, m, s2 = synth.run(ts, tr, scfg)
print(f"  synth caught {s2['caught']} (+ error bursts) events {s2['events']} false {s2['false_events']}; missed {list(m.loc[~m.detected, 'kind'] + '/' + m.loc[~m.detected, 'service'])}")

"""NAB-like artificial series of shapes the development half lacks (python artificial.py): every event
a series without anomalies is false; on the ones with one labelled window, is it caught."""
import sys
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import numpy as np, pandas as pd, nab
rng = np.random.default_rng(3)
t = pd.date_range("2014-04-01", periods=4032, freq="5min")
tod = (t.hour * 60 + t.minute).to_numpy() / 1440.0
series = {
    "flatline": np.full(4032, 13.0),
    "perfect_square_wave": np.where(tod < 0.5, 20.0, 80.0),
    "small_noise": 40 + 20 * np.sin(2 * np.pi * tod) + rng.normal(0, 1, 4032),
    "square_noise": np.where(tod < 0.5, 20.0, 80.0) + rng.normal(0, 2, 4032),
    "spike_density": 20 + rng.normal(0, 1, 4032),
}
# spikes growing denser over time (art_increase_spike_density's shape), labelled near the end
sd = series["spike_density"]
for i in range(600, 4032):
    if rng.random() < 0.002 + 0.04 * (i / 4032) ** 3:
        sd[i] += 60
labelled = {}
nojump = np.where((tod > 0.3) & (tod < 0.6), 80.0, 20.0) + rng.normal(0, 2, 4032)
nojump[3000:3000 + 288][(tod[3000:3288] > 0.3) & (tod[3000:3288] < 0.6)] = 20 + rng.normal(0, 2, ((tod[3000:3288] > 0.3) & (tod[3000:3288] < 0.6)).sum())
series["daily_nojump"] = nojump; labelled["daily_nojump"] = (t[3000], t[3053])  # the missing plateau, 10:00-14:25
jumpsdown = np.where((tod > 0.3) & (tod < 0.6), 80.0, 20.0) + rng.normal(0, 2, 4032)
m = (tod[3000:3288] > 0.3) & (tod[3000:3288] < 0.6)
jumpsdown[3000:3288][m] = 5 + rng.normal(0, 2, m.sum()); series["daily_jumpsdown"] = jumpsdown; labelled["daily_jumpsdown"] = (t[3000], t[3053])
probation = t[int(4032 * 0.15)]
for name, v in series.items():
    df = pd.DataFrame({"timestamp": t, "value": v})
    incs = [i for i in nab.detect(df, nab.DEFAULT) if i["metric"] != "requests_up" and i["end"] > probation]
    w = labelled.get(name)
    hit = [i for i in incs if w and i["start"] < w[1] and i["end"] > w[0]]
    print(f"{name:22s} events {len(incs):3d}  {'caught' if hit else ('MISSED' if w else '')}  " + "; ".join(f"{i['start']:%d %H:%M}-{i['end']:%H:%M} {i['metric']}" for i in incs[:6]))

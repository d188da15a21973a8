"""Per-series anomaly detector for one metric series on a complete bucket grid (pure numpy/pandas).

Semantics (what a grouped pandas UDF would run unchanged, one call per service x env x metric):

    out = detect(values, bucket_seconds, config)      # values: float array on the full grid,
                                                       # NaN = missing bucket
    out["center"], out["spread"], out["z"], out["flagged"], out["incident"], out["incident_id"]

* Every point is scored against baselines built ONLY from points strictly before it (the scored
  point never enters its own baseline): a trailing robust window (median / IQR) and, when enough
  days of history exist, the same time of day on previous days (median over up to
  `season_days` days). The model with the smaller spread at that point is used, so a daily peak
  is judged against previous peaks, and a night anomaly against the quiet night rather than the
  whole day's variance.
* Flagged points do not pull the baseline along: the detector runs `passes` vectorised passes;
  after each, flagged points (the first `max_exclusion_seconds` of every flagged run) are masked
  as missing in the baseline inputs, and baselines are recomputed. A run longer than that stops
  being excluded, so a permanent level shift becomes the new normal.
* Spread = max(IQR/1.349, rel_floor*|center|, the series' resolution): it cannot collapse to 0 on
  flat, quantised or zero-heavy series.
* Self-normalisation (the idea of Numenta's anomaly likelihood): z is divided by
  max(1, q99.9(|z| over the trailing `noise_window_seconds`, ending `max_exclusion_seconds`
  before the point, flagged points masked) / 3.29). A series whose |z| is routinely large (all
  spikes) raises its own bar; a Gaussian one is unaffected; an ongoing episode cannot raise its
  own bar. The seasonal baseline is built from unmasked values (the median over days is robust
  to one bad day; masking it would chain: a daily peak flagged before the season is known would
  stay out of the history for ever).
* `center` and `spread` are on the transformed scale (identity by default).
* Incidents: runs of consecutive flagged points (missing buckets neither break nor extend a run)
  kept when >= `persistence` long or when one point has |z| >= `spike_threshold`; incidents less
  than `merge_gap_seconds` apart are one incident (an alarm already open is not re-raised).

Cost: a handful of pandas rolling median/quantile passes (C, O(n log w)) per pass; no Python
loop over points.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

NORMAL_IQR = 1.349     # IQR of a standard normal: IQR / 1.349 estimates sigma
NORMAL_Q99_ABS = 2.576  # 99% quantile of |N(0,1)|


@dataclass(frozen=True)
class DetectorConfig:
    # --- the two tuned parameters (chosen by leave-one-folder-out on NAB, see REPORT.md) ---
    threshold: float = 4.0                 # |z| at or above this flags a point
    window_seconds: int = 86400            # trailing robust baseline length (in time, not rows)
    # --- fixed by reasoning, not tuned ---
    transform: str = "none"                # "none" or "log1p" (log1p only for non-negative data)
    spike_threshold_factor: float = 2.0    # a single point with |z| >= factor*threshold is an incident
    persistence: int = 3                   # consecutive flagged points needed otherwise
    passes: int = 3                        # score / mask flagged / rescore iterations
    max_exclusion_seconds: int = 3 * 3600  # a flagged run is kept out of baselines this long at most
    season_seconds: int = 86400            # seasonal period (daily cycle)
    season_days: int = 7                   # previous periods used by the seasonal baseline
    season_min_days: int = 1               # seasonal baseline needs at least this many of them
    noise_window_seconds: int = 7 * 86400  # trailing window of the self-normalisation
    self_normalise: bool = True
    likelihood: bool = False
    likelihood_short_seconds: int = 3600
    likelihood_threshold: float = 4.0
    likelihood_min_z: float = 2.0
    noise_quantile: float = 0.999          # tail quantile of |z| compared with the Gaussian's
    min_history: int = 12                  # non-missing points a baseline needs before scoring
    rel_floor: float = 0.01                # spread >= rel_floor * |center|
    merge_gap_seconds: int = 3600          # incidents closer than this are merged
    direction: str = "both"                # "both", "up" or "down"
    use_season: bool = True
    season_rule: str = "spread"            # "min_z" (both must agree) or "spread" (tighter model)


def transform(values: np.ndarray, kind: str) -> np.ndarray:
    """Scale the signal is scored on. "log1p" makes a x2 jump the same step at any level and is
    defined at 0 (unlike log(max(v, 1e-3)), which turns a 0 into a -7 cliff)."""
    x = np.asarray(values, dtype=float)
    if kind == "log1p":
        return np.log1p(np.maximum(x, 0.0))
    return x.copy()


def resolution(x: np.ndarray) -> float:
    """Smallest positive step between consecutive distinct values: a quantised series
    (counts, 0.002-step CPU) cannot have a spread below its quantum."""
    v = x[~np.isnan(x)]
    if v.size < 2:
        return 1e-9
    d = np.abs(np.diff(v))
    d = d[d > 1e-12]
    return float(d.min()) if d.size else 1e-9


def trailing_stats(base: np.ndarray, window: int, min_history: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and IQR/1.349 of the `window` buckets strictly before each point (NaN skipped)."""
    s = pd.Series(base)
    roll = s.rolling(window, min_periods=min_history)
    med = roll.median().shift(1).to_numpy()
    q1 = roll.quantile(0.25).shift(1).to_numpy()
    q3 = roll.quantile(0.75).shift(1).to_numpy()
    return med, (q3 - q1) / NORMAL_IQR


def seasonal_center(base: np.ndarray, period: int, days: int, min_days: int) -> np.ndarray:
    """Median of the same bucket on the previous `days` periods (NaN when fewer than
    `min_days` of them exist)."""
    n = len(base)
    if period < 1 or n <= period * min_days:
        return np.full(n, np.nan)
    lags = np.full((days, n), np.nan)
    for k in range(1, days + 1):
        if k * period < n:
            lags[k - 1, k * period:] = base[: n - k * period]
    count = np.sum(~np.isnan(lags), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(lags, axis=0)
    return np.where(count >= min_days, med, np.nan)


def run_position(flags: np.ndarray) -> np.ndarray:
    """1-based position of each flagged point within its run of consecutive flags (0 if not)."""
    i = np.arange(len(flags))
    last_unflagged = np.maximum.accumulate(np.where(~flags, i, -1))
    return np.where(flags, i - last_unflagged, 0)


def noise_factor(z: np.ndarray, window: int, min_history: int, quantile: float, lag: int) -> np.ndarray:
    """max(1, trailing `quantile` of |z| / the same quantile of |N(0,1)|): how much heavier-tailed
    than Gaussian the series' z has been (excluded points masked). The window ends `lag` buckets
    before the point (lag = max exclusion), so an ongoing episode cannot raise its own bar.
    A series whose routine excursions are large raises its bar; a Gaussian one is unaffected."""
    q = pd.Series(np.abs(z)).rolling(window, min_periods=min_history).quantile(quantile).shift(lag + 1).to_numpy()
    ref = abs_normal_quantile(quantile)
    return np.where(np.isnan(q), 1.0, np.maximum(q / ref, 1.0))


def abs_normal_quantile(p: float) -> float:
    """q with P(|N(0,1)| <= q) = p (bisection on erf; no scipy)."""
    from math import erf, sqrt
    lo, hi = 0.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if erf(mid / sqrt(2)) < p else (lo, mid)
    return (lo + hi) / 2


def _z(x, center, spread):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x - center) / spread


def score(values: np.ndarray, bucket_seconds: int, config: DetectorConfig = DetectorConfig()) -> dict:
    """center, spread, z (NaN when not scorable) and flagged per point. See module docstring."""
    x = transform(values, config.transform)
    n = len(x)
    window = max(int(config.window_seconds // bucket_seconds), 2 * config.min_history)  # >= 24 points for a stable median/IQR
    period = int(config.season_seconds // bucket_seconds)
    max_excl = max(int(config.max_exclusion_seconds // bucket_seconds), 1)
    floor_abs = resolution(x)
    valid = ~np.isnan(x)
    excluded = np.zeros(n, bool)
    for _ in range(config.passes):
        base = np.where(excluded, np.nan, x)
        center, spread = trailing_stats(base, window, config.min_history)
        spread = np.fmax(spread, np.maximum(config.rel_floor * np.abs(center), floor_abs))
        if config.use_season:
            # unmasked: the median over days is already robust to one bad day, and masking
            # would chain (a daily peak flagged before the season is known would stay out forever)
            sc = seasonal_center(x, period, config.season_days, config.season_min_days)
            resid = np.where(excluded, np.nan, x - sc)
            # spread of the seasonal residual, over the same trailing window
            _, s_spread = trailing_stats(resid, window, config.min_history)
            s_spread = np.fmax(s_spread, np.maximum(config.rel_floor * np.abs(sc), floor_abs))
            z_t, z_s = _z(x, center, spread), _z(x, sc, s_spread)
            # both models must call the point unusual: the smaller |z| wins
            if config.season_rule == "min_z":
                use_s = ~np.isnan(z_s) & (np.abs(z_s) < np.abs(np.nan_to_num(z_t, nan=np.inf)))
            else:  # "spread": the model that has explained the recent past better
                use_s = ~np.isnan(z_s) & ~(s_spread >= spread)
            center = np.where(use_s, sc, center)
            spread = np.where(use_s, s_spread, spread)
        z = _z(x, center, spread)
        if config.self_normalise:
            nwin = max(int(config.noise_window_seconds // bucket_seconds), window)
            z = z / noise_factor(np.where(excluded, np.nan, z), nwin, config.min_history * 4, config.noise_quantile, max_excl)
        flagged = _flag(z, config)
        pos = run_position(flagged)
        excluded = flagged & (pos <= max_excl)
    out = {"x": x, "center": center, "spread": spread, "z": z, "flagged": flagged & valid}
    if config.likelihood:
        short = max(int(config.likelihood_short_seconds // bucket_seconds), 1)
        nwin = max(int(config.noise_window_seconds // bucket_seconds), window)
        lk = likelihood_z(z, short, nwin, config.min_history * 4)
        out["likelihood"] = lk
        out["flagged"] = valid & (np.nan_to_num(lk) >= config.likelihood_threshold) & (np.abs(np.nan_to_num(z)) >= config.likelihood_min_z)
    return out


def likelihood_z(z: np.ndarray, short: int, long: int, min_history: int) -> np.ndarray:
    """Numenta-style anomaly likelihood as a z: the short-term mean of |z| (capped at 10)
    against the mean and std of that short-term mean over the trailing long window."""
    a = pd.Series(np.minimum(np.abs(z), 10.0))
    m = a.rolling(short, min_periods=1).mean()
    mu = m.rolling(long, min_periods=min_history).mean().shift(short)
    sd = m.rolling(long, min_periods=min_history).std().shift(short)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((m - mu) / np.maximum(sd, 1e-3)).to_numpy()


def _flag(z: np.ndarray, config: DetectorConfig) -> np.ndarray:
    zz = np.nan_to_num(z, nan=0.0)
    if config.direction == "up":
        return zz >= config.threshold
    if config.direction == "down":
        return zz <= -config.threshold
    return np.abs(zz) >= config.threshold


def incidents(flagged: np.ndarray, z: np.ndarray, valid: np.ndarray, bucket_seconds: int,
              config: DetectorConfig = DetectorConfig()) -> np.ndarray:
    """Incident id per point (-1 = none). Runs are formed over non-missing points only (a missing
    bucket neither breaks nor extends a run); a run is an incident when it is >= persistence
    points long or reaches spike_threshold_factor*threshold; incidents closer than
    merge_gap_seconds are merged and cover the gap."""
    n = len(flagged)
    idx = np.flatnonzero(valid)
    out = np.full(n, -1, np.int64)
    if idx.size == 0:
        return out
    f = flagged[idx]
    zc = np.abs(np.nan_to_num(z[idx], nan=0.0))
    pad = np.concatenate([[False], f, [False]]).astype(np.int8)
    d = np.diff(pad)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)  # [start, end)
    if starts.size == 0:
        return out
    cmax = np.maximum.reduceat(zc, starts) if starts.size else np.array([])
    keep = ((ends - starts) >= config.persistence) | (cmax >= config.spike_threshold_factor * config.threshold)
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return out
    # back to grid positions
    gs, ge = idx[starts], idx[ends - 1]
    gap = max(int(config.merge_gap_seconds // bucket_seconds), 0)
    new = np.concatenate([[True], gs[1:] - ge[:-1] - 1 > gap])
    gid = np.cumsum(new) - 1
    ms = pd.Series(gs).groupby(gid).min().to_numpy()
    me = pd.Series(ge).groupby(gid).max().to_numpy()
    delta = np.zeros(n + 1, np.int64)
    np.add.at(delta, ms, 1)
    np.add.at(delta, me + 1, -1)
    inside = np.cumsum(delta[:-1]) > 0
    first = inside & ~np.concatenate([[False], inside[:-1]])
    ids = np.cumsum(first) - 1
    out[inside] = ids[inside]
    return out


def detect(values: np.ndarray, bucket_seconds: int, config: DetectorConfig = DetectorConfig()) -> pd.DataFrame:
    """The full per-series detector: one row per grid bucket."""
    values = np.asarray(values, dtype=float)
    s = score(values, bucket_seconds, config)
    valid = ~np.isnan(values)
    inc = incidents(s["flagged"], s["z"], valid, bucket_seconds, config)
    return pd.DataFrame({"value": values, "center": s["center"], "spread": s["spread"], "z": s["z"],
                         "flagged": s["flagged"], "incident": inc >= 0, "incident_id": inc})

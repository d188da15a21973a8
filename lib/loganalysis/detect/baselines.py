"""What a series normally does: per-series baseline methods in numpy, looked up by name.

Each method takes one metric series on a complete bucket grid (NaN = no value in that bucket)
and returns, for every point, a level (`center`) and a `spread` computed only from points
strictly before it, so a point is never part of its own baseline (a `Baseline`; a plain pair is
taken too). The anomaly stage runs a method per series x metric inside a grouped pandas UDF;
z = (value - center) / spread.

- `mean`: mean and stddev of the trailing window.
- `robust`: median and 1.4826 x MAD of the trailing window.
- `seasonal` (the default): the best of a day-long median, an hour-long median, the same
  time of day on previous days and the same time of week on previous weeks, flagged points
  kept out of all four, and a spread that grows on series whose routine excursions are large,
  or that make the same excursion at about the same time every day (a nightly job); a shift
  the day and time-of-day models flag for 30 minutes stays out of the baseline (`sustained`).
  Built on the NAB development series and the synthetic run (docs/detection.md).

Also used by the anomaly stage: `pooled_latency_z` / `pooled_error_z` (mean latency and 5xx rate
over the last 5 minutes' requests, for quiet services and slow ramps), `beyond_recent_range`
(whether a spike goes beyond the series' recent values) and `far_beyond_recent_range` (whether a
point goes beyond them by a clear margin: news whatever its z).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class SeriesContext:
    """What a method may know about the series besides its values."""

    bucket_seconds: int
    threshold: float  # |z| that flags a point: the seasonal method keeps such points out of its baseline


class Baseline(NamedTuple):
    """What a method says of every point: its level and spread, and for a method with slow models
    (`seasonal`) the point's z against those alone (`slow_z`: the day and the same time of day
    and week, without the hour model, with the same spread factors). Where there is no
    time-of-day value to judge by (the first day; a time whose earlier days had no value, or were
    flagged and kept out) it is +-inf the point's way: unjudged, it confirms. A run that only
    persistence opens must reach the threshold there too (anomalies.signals): a shift the hour
    model flags but the time of day has seen before is routine. None: the method has no slow
    models, and no run needs that confirmation."""

    center: np.ndarray
    spread: np.ndarray
    slow_z: np.ndarray | None = None


def window_totals(values: np.ndarray, window: int) -> np.ndarray:
    """For each point, the sum of `values` over the `window` points before it (never itself),
    from one prefix sum: the cost does not grow with the window."""
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    now = np.arange(len(values))
    return prefix[now] - prefix[np.maximum(now - window, 0)]


# ---- mean and robust: one trailing window ------------------------------------------------------

def mean_baseline(values: np.ndarray, window: int, context: SeriesContext) -> Baseline:
    """Mean and stddev of the `window` points before each point, from prefix sums."""
    counted = ~np.isnan(values)
    history = window_totals(counted.astype(float), window)
    # shifted by the series mean first: the same variance, fewer digits lost to cancellation
    shift = values[counted].mean() if counted.any() else 0.0
    centered = np.where(counted, values - shift, 0.0)
    s1, s2 = window_totals(centered, window), window_totals(centered ** 2, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        center = np.where(history > 0, s1 / history + shift, np.nan)
        spread = np.where(history > 1, np.sqrt(np.maximum(s2 - s1 * s1 / history, 0.0) / (history - 1)), np.nan)
    return Baseline(center, spread)


def robust_baseline(values: np.ndarray, window: int, context: SeriesContext) -> Baseline:
    """Median and 1.4826 x MAD (the stddev, for normal data) of the points before each point:
    an ongoing incident inside the window barely moves them."""
    padded = np.concatenate([np.full(window, np.nan), values])
    windows = sliding_window_view(padded, window)[:-1]  # row i: the points before point i
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty windows (warm-up): left null
        center = np.nanmedian(windows, axis=1)
        return Baseline(center, 1.4826 * np.nanmedian(np.abs(windows - center[:, None]), axis=1))


# ---- seasonal: trailing and time-of-day baselines, anomalies kept out ------------------------

NORMAL_IQR = 1.349           # IQR of a standard normal: IQR / 1.349 estimates the stddev
MIN_POINTS = 12              # points a robust window needs before it says anything
PASSES = 3                   # score, keep flagged points out, score again
MAX_EXCLUSION_SECONDS = 3 * 3600   # a longer anomaly becomes the new normal (a lasting shift)
SEASON_SECONDS = 86_400      # the daily cycle of traffic and of whatever follows it
SEASON_DAYS = 7              # previous days the time-of-day baseline looks at
SEASON_WEEKS = 3             # previous weeks the time-of-week baseline looks at (0: no such model)
NOISE_WINDOW_SECONDS = 7 * 86_400  # how far back a series' own excursions are remembered
NOISE_QUANTILE = 0.999       # the tail compared with a normal distribution's
RELATIVE_FLOOR = 0.01        # spread never below 1% of the level
LOCAL_WINDOW_SECONDS = 3600  # the hour model's window
LOCAL_MARGIN = 1.5           # how much better the hour model must have done to be chosen
ROUTINE_DAYS = 3             # an excursion near this time of day on this many previous days is routine
ROUTINE_HALFWIDTH_SECONDS = 1800  # how far from the same time of day a previous excursion counts
SUSTAINED_SECONDS = 1800     # a shift flagged this long by the slow models stays out of the baseline
POOL_SECONDS = 300           # latency and 5xx rate are also scored over this many seconds' requests
POOL_MIN_HISTORY_SECONDS = 3600  # history a pooled series needs before it is scored (its points overlap)


# Below this many window cells (points x window) trailing quantiles are taken from one sort of
# every window at once: a short series (two days of hourly buckets) then costs microseconds,
# where pandas' rolling windows cost about 0.1 ms a call whatever the length.
SORTED_WINDOWS_MAX_CELLS = 32_768


def trailing_quantiles(values: np.ndarray, window: int, quantiles: tuple[float, ...],
                       min_points: int) -> list[np.ndarray]:
    """For each point, the `quantiles` (linear interpolation, NaN skipped) of the `window` points
    before it; NaN where fewer than `min_points` of them have a value. The same figures as
    pandas' rolling quantile, shifted by one."""
    if len(values) * window > SORTED_WINDOWS_MAX_CELLS:
        rolling = pd.Series(values).rolling(window, min_periods=min_points)
        return [rolling.quantile(q).shift(1).to_numpy() for q in quantiles]
    before = sliding_window_view(np.concatenate([np.full(window, np.nan), values]), window)[:-1]
    ordered = np.sort(before, axis=1)  # NaN last
    count = (~np.isnan(before)).sum(axis=1)
    rows = np.arange(len(values))
    result = []
    for q in quantiles:
        position = q * np.maximum(count - 1, 0)
        low = np.floor(position).astype(np.int64)
        fraction = position - low
        at_low = ordered[rows, low]
        at_high = ordered[rows, np.minimum(low + 1, window - 1)]
        with np.errstate(invalid="ignore"):
            value = np.where(fraction > 0, at_low + (at_high - at_low) * fraction, at_low)
        result.append(np.where(count >= max(min_points, 1), value, np.nan))
    return result


def window_extreme(values: np.ndarray, before: int, after: int, largest: bool) -> np.ndarray:
    """For each point, the largest (or smallest) value from `before` points back to `after` points
    ahead (`after` -1: up to the point before it), NaN skipped; NaN where there is none."""
    length = before + after + 1
    reach = np.full(max(after, 0), np.nan)
    if len(values) * length > SORTED_WINDOWS_MAX_CELLS:
        rolling = pd.Series(np.concatenate([values, reach])).rolling(length, min_periods=1)
        extreme = (rolling.max() if largest else rolling.min()).to_numpy()  # [j]: up to j
        return shifted(extreme, -after) if after < 0 else extreme[after: after + len(values)]
    windows = sliding_window_view(np.concatenate([np.full(before, np.nan), values, reach]), length)
    return (np.fmax if largest else np.fmin).reduce(windows[: len(values)], axis=1)


def shifted(values: np.ndarray, k: int) -> np.ndarray:
    """`values` moved `k` points later, NaN in front."""
    moved = np.full(len(values), np.nan)
    if k < len(values):
        moved[k:] = values[: len(values) - k]
    return moved


# Each quantile is a pass of pandas' rolling window over the series (most of a long series'
# scoring time), so a caller asks only for the ones it uses.
def trailing_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of the `window` points before each point (NaN skipped)."""
    return trailing_quantiles(values, window, (0.5,), MIN_POINTS)[0]


def trailing_spread(values: np.ndarray, window: int) -> np.ndarray:
    """IQR / 1.349 of the `window` points before each point (NaN skipped): a standard deviation
    that a few outliers do not move."""
    q1, q3 = trailing_quantiles(values, window, (0.25, 0.75), MIN_POINTS)
    return (q3 - q1) / NORMAL_IQR


def trailing_median_and_spread(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and IQR / 1.349 of the `window` points before each point (NaN skipped): the three
    quantiles from one sort of the windows (below SORTED_WINDOWS_MAX_CELLS; past it, a rolling
    pass each)."""
    median, q1, q3 = trailing_quantiles(values, window, (0.5, 0.25, 0.75), MIN_POINTS)
    return median, (q3 - q1) / NORMAL_IQR


def same_time_on_previous_days(values: np.ndarray, period: int, days: int = SEASON_DAYS) -> np.ndarray:
    """Median of the same bucket on up to `days` previous periods; NaN before the first period."""
    n = len(values)
    days = min(days, (n - 1) // period)  # only periods that some point has before it
    if days <= 0:
        return np.full(n, np.nan)
    lagged = np.full((days, n), np.nan)
    for k in range(1, days + 1):
        lagged[k - 1, k * period:] = values[: n - k * period]
    # np.nanmedian on a few rows goes through masked arrays (about 0.4 ms a call); sorting the
    # columns (NaN last) and averaging the middle two is the same median.
    ordered = np.sort(lagged, axis=0)
    count = (~np.isnan(lagged)).sum(axis=0)
    columns = np.arange(n)
    low, high = ordered[np.maximum(count - 1, 0) // 2, columns], ordered[count // 2, columns]
    return np.where(count > 0, (low + high) / 2, np.nan)


def resolution(values: np.ndarray) -> float:
    """The smallest step between distinct consecutive values: a quantised series (counts, CPU in
    0.1% steps) cannot be known more finely than that, so its spread is never below it."""
    steps = np.abs(np.diff(values[~np.isnan(values)]))
    steps = steps[steps > 1e-12]
    return float(steps.min()) if steps.size else 1e-9


def run_position(flags: np.ndarray) -> np.ndarray:
    """1-based position of each flagged point within its run of consecutive flags (0 if not)."""
    i = np.arange(len(flags))
    last_unflagged = np.maximum.accumulate(np.where(~flags, i, -1))
    return np.where(flags, i - last_unflagged, 0)


@functools.cache  # asked of every series for the same p
def abs_normal_quantile(p: float) -> float:
    """q with P(|N(0,1)| <= q) = p, by bisection on erf."""
    low, high = 0.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erf(middle / math.sqrt(2)) < p else (low, middle)
    return (low + high) / 2


def noise_factor(z: np.ndarray, window: int, lag: int) -> np.ndarray:
    """How much heavier-tailed than normal the series' own |z| has been: its trailing
    NOISE_QUANTILE over `window` points, over the normal's, never below 1. The window ends `lag`
    points back, so an ongoing anomaly cannot raise its own bar; a series whose routine
    excursions are large (all spikes) raises it, and cannot flood the incident list."""
    tail = shifted(trailing_quantiles(np.abs(z), window, (NOISE_QUANTILE,), 4 * MIN_POINTS)[0], lag)
    return np.where(np.isnan(tail), 1.0, np.maximum(tail / abs_normal_quantile(NOISE_QUANTILE), 1.0))


def floored(spread: np.ndarray, center: np.ndarray, floor: float) -> np.ndarray:
    """The spread, never below 1% of the level nor the series' resolution; still NaN where the
    window had too few points to say anything (a floor is no estimate)."""
    return np.where(np.isnan(spread), np.nan, np.maximum(spread, np.maximum(RELATIVE_FLOOR * np.abs(center), floor)))


def residual_spread(values: np.ndarray, center: np.ndarray, window: int, floor: float) -> np.ndarray:
    """How well a model's level has explained the `window` points before each point: the IQR of
    their residuals against it (floored), NaN until it has MIN_POINTS of them."""
    return floored(trailing_spread(values - center, window), center, floor)


def tighter(best: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
            margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Point by point, the model whose spread (times `margin`) is the smaller."""
    (center, spread), (other_center, other_spread) = best, other
    use_other = ~np.isnan(other_spread) & ~(other_spread * margin >= spread)
    return np.where(use_other, other_center, center), np.where(use_other, other_spread * margin, spread)


def totals_through(values: np.ndarray, window: int) -> np.ndarray:
    """For each point, the sum of `values` over the `window` points up to and including it
    (`window_totals` stops before the point)."""
    return window_totals(np.append(values, 0.0), window)[1:]


def trailing_count(mask: np.ndarray, window: int) -> np.ndarray:
    """How many of the `window` points up to and including each point are True."""
    return totals_through(mask.astype(float), window).round()


def sustained(z: np.ndarray, window: int, threshold: float) -> np.ndarray:
    """Points where every one of the last `window` points that has a value (at least half of them
    must) is at least `threshold` out, all on the same side: a shift that has held that long.
    A lone spike is never one, however large."""
    present = ~np.isnan(z)
    count = trailing_count(present, window)
    enough = present & (count >= max((window + 1) // 2, 1))
    above = trailing_count(present & (np.nan_to_num(z) >= threshold), window)
    below = trailing_count(present & (np.nan_to_num(z) <= -threshold), window)
    return enough & ((above == count) | (below == count))


def routine_factor(z: np.ndarray, period: int, halfwidth: int, threshold: float) -> np.ndarray:
    """How large the excursions near this time of day have routinely been, over the threshold
    (never below 1): per previous day (up to SEASON_DAYS), the largest |z| within `halfwidth`
    buckets of the same time, and of those the ROUTINE_DAYS-th largest. A job that spikes every
    night at about the same time (a backup, a cron, a batch) stops paging once it has done so on
    ROUTINE_DAYS days, and a larger excursion at that time still pages. Only earlier days are
    read, so an ongoing anomaly cannot make itself routine within its first day."""
    near = window_extreme(np.abs(z), halfwidth, halfwidth, largest=True)
    n = len(z)
    by_day = np.zeros((SEASON_DAYS, n))
    for k in range(1, SEASON_DAYS + 1):
        if k * period < n:
            by_day[k - 1, k * period:] = np.nan_to_num(near[: n - k * period], nan=0.0)
    routine = -np.sort(-by_day, axis=0)[min(ROUTINE_DAYS, SEASON_DAYS) - 1]
    return np.maximum(routine / threshold, 1.0)


def seasonal_baseline(values: np.ndarray, window: int, context: SeriesContext) -> Baseline:
    """Level and spread from the model that has explained the recent past best, with anomalies
    kept out. Three models, each judged by its residuals over the trailing `window`:

    - day: the median of the `window` points before the point (the default window is a day);
    - hour: the median of the last hour, which follows a daily ramp the day's median cannot. It
      must explain the past LOCAL_MARGIN times better to be chosen, and its spread is widened by
      as much: a level that follows every move would also follow an incident;
    - time of day: the median of the same bucket on up to SEASON_DAYS previous days, once a day
      of history exists, so a daily peak is judged against earlier peaks and a night anomaly
      against the quiet night;
    - time of week: the median of the same bucket on up to SEASON_WEEKS previous weeks, once a
      week of history exists, so a quiet Sunday or a busy Monday is judged against earlier
      Sundays and Mondays, not against the weekdays (the time of day) or the day before (the day).
      It is also one of the slow models of the sustained rule.

    Points flagged at `context.threshold` leave every window (up to PASSES rounds, fewer once a
    round keeps out the points the one before did), and so do points of a
    sustained shift (`sustained`): every point of the last SUSTAINED_SECONDS beyond the threshold
    against the slow models (day and time of day, without the hour model, which would follow the
    shift and make it look normal within the hour). A run longer than MAX_EXCLUSION_SECONDS stops being
    excluded, so a lasting shift becomes the new normal. The
    spread is floored at 1% of the level and at the series' resolution, widened where the same
    excursion came at about the same time of day on ROUTINE_DAYS previous days (routine_factor),
    then scaled by the series' noise factor, so a series of routine spikes cannot flood the
    incident list. The routine factor comes first: a routine spike, no longer flagged, must not
    enter the noise factor at full size and raise the bar for everything else.
    """
    window = max(window, 2 * MIN_POINTS)
    hour = max(LOCAL_WINDOW_SECONDS // context.bucket_seconds, MIN_POINTS)
    period = max(SEASON_SECONDS // context.bucket_seconds, 1)
    max_excluded = max(MAX_EXCLUSION_SECONDS // context.bucket_seconds, 1)
    routine_halfwidth = max(ROUTINE_HALFWIDTH_SECONDS // context.bucket_seconds, 0)
    noise_window = max(NOISE_WINDOW_SECONDS // context.bucket_seconds, window)
    held = max(SUSTAINED_SECONDS // context.bucket_seconds, 1)
    floor = resolution(values)
    excluded = np.zeros(len(values), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(PASSES):
            normal = np.where(excluded, np.nan, values)
            day_center, day_spread = trailing_median_and_spread(normal, window)
            hour_center = trailing_median(normal, hour)
            season_center = same_time_on_previous_days(normal, period)
            center, spread = tighter((day_center, floored(day_spread, day_center, floor)),
                                     (hour_center, residual_spread(normal, hour_center, window, floor)), LOCAL_MARGIN)
            season = (season_center, residual_spread(normal, season_center, window, floor))
            center, spread = tighter((center, spread), season)
            slow_center, slow_spread = tighter((day_center, floored(day_spread, day_center, floor)), season)
            if SEASON_WEEKS:  # the same bucket on previous weeks: a quiet weekend, a busy Monday
                week_center = same_time_on_previous_days(normal, 7 * period, SEASON_WEEKS)
                week = (week_center, residual_spread(normal, week_center, window, floor))
                center, spread = tighter((center, spread), week)
                slow_center, slow_spread = tighter((slow_center, slow_spread), week)
            model_spread = spread
            spread = spread * routine_factor((values - center) / spread, period, routine_halfwidth, context.threshold)
            z = (values - center) / spread
            spread = spread * noise_factor(np.where(excluded, np.nan, z), noise_window, max_excluded)
            flagged = np.abs(np.nan_to_num((values - center) / spread)) >= context.threshold
            # the same factors on the slow models' spread: a shift judged as the point is
            slow_z = (values - slow_center) / (slow_spread * spread / model_spread)
            flagged |= sustained(slow_z, held, context.threshold)
            still_excluded = flagged & (run_position(flagged) <= max_excluded)
            if np.array_equal(still_excluded, excluded):
                break  # another pass would exclude the same points and compute the same figures
            excluded = still_excluded
        # Without a time-of-day value (the first day above all) the slow models are the day's
        # median alone, which a morning ramp outruns: there the faster models' word stands.
        slow_z = np.where(np.isnan(season_center), np.inf * np.sign(values - center), slow_z)
    return Baseline(center, spread, slow_z)


# ---- pooled scores: the last few minutes' requests together ------------------------------------

def pooled_mean(values: np.ndarray, weights: np.ndarray, window: int) -> np.ndarray:
    """Weighted mean of `values` over the `window` buckets up to and including each one (a bucket's
    mean latency weighted by its requests is the mean over all their requests); NaN where the
    bucket itself has no value."""
    counted = ~np.isnan(values)
    w = np.where(counted, weights, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = totals_through(np.where(counted, values, 0.0) * w, window) / totals_through(w, window)
    return np.where(counted, pooled, np.nan)


def pooled_latency_z(values: np.ndarray, requests: np.ndarray, window: int, method: str, context: SeriesContext,
                     relative_floor: float, min_history: int) -> tuple[np.ndarray, np.ndarray]:
    """z of the mean latency over the last POOL_SECONDS of requests against that pooled series' own
    baseline (the same method): at low traffic one minute's mean is too noisy to show a 1.5x
    regression or a slow ramp, five minutes' is not. Also the pooled mean's z against the slow
    models (Baseline.slow_z; NaN for a method without them), so a run the pooled z flags is
    confirmed by the same evidence. NaN where the bucket is not scored, and for buckets of
    POOL_SECONDS or longer (nothing to pool)."""
    k = POOL_SECONDS // context.bucket_seconds
    if k <= 1:
        return np.full(len(values), np.nan), np.full(len(values), np.nan)
    pooled = pooled_mean(values, requests, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        center, spread, slow_z = baseline_of(method, pooled, window, context)
        scale = np.fmax(np.nan_to_num(spread, nan=0.0), np.abs(center) * relative_floor)
        history = window_totals((~np.isnan(pooled)).astype(float), window)
        needed = max(min_history, POOL_MIN_HISTORY_SECONDS // context.bucket_seconds)
        scored = (history >= needed) & ~np.isnan(pooled)
        slow_z = np.full(len(values), np.nan) if slow_z is None else slow_z
        return np.where(scored, (pooled - center) / scale, np.nan), np.where(scored, slow_z, np.nan)


def pooled_error_z(values: np.ndarray, requests: np.ndarray, errors: np.ndarray, level: np.ndarray,
                   history: np.ndarray, context: SeriesContext, rate_floor: float, min_history: int) -> np.ndarray:
    """z of the 5xx rate over the last POOL_SECONDS of requests (their errors over their requests)
    against `level` (the trailing window's pooled rate), with the binomial deviation for that many
    requests, floored at `rate_floor` and one request: a 12% burst on a staging service of 20
    requests a minute is 2 or 3 errors a minute (z about 2 in one bucket) and 12 in five minutes.
    NaN where the bucket is not scored (`values` NaN, under `min_history`) or POOL_SECONDS is
    no longer than a bucket."""
    k = POOL_SECONDS // context.bucket_seconds
    if k <= 1:
        return np.full(len(values), np.nan)
    counted = ~np.isnan(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled_requests = totals_through(np.where(counted, requests, 0.0), k)
        pooled_errors = totals_through(np.where(counted, errors, 0.0), k)
        scale = np.fmax(np.nan_to_num(np.sqrt(level * (1 - level) / pooled_requests), nan=0.0),
                        np.maximum(rate_floor, 1.0 / pooled_requests))
        return np.where((history >= min_history) & counted & (pooled_requests > 0),
                        (pooled_errors / pooled_requests - level) / scale, np.nan)


def beyond_recent_range(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(new high, new low) for each point: above every value of the `window` points before it,
    below every one (NaN skipped; a point with no earlier value is both). A spike to a level the
    series has already reached in that time is no news (anomalies.signals)."""
    high, low = (window_extreme(values, window, -1, largest) for largest in (True, False))
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        return present & (np.isnan(high) | (values > high)), present & (np.isnan(low) | (values < low))


def far_beyond_recent_range(values: np.ndarray, window: int, margin: float,
                            min_span: int) -> tuple[np.ndarray, np.ndarray]:
    """(far high, far low) for each point: beyond every value of the `window` points before it by
    `margin` times that window's reach on that side (max - median above, median - min below).
    A record by a clear margin is news whatever the spread says: the spread of a series of routine
    bursts (a disk counter, a network counter) is wide enough to hide a burst half again as high
    as any in three weeks, and a slow series' noise factor can hide its first excursion out of its
    range. Nothing is said until the series has values `min_span` points back and MIN_POINTS
    values in the window (the first day of a series sets its range, it cannot break it), nor on a
    side the window never left its median (a count that was always 1: its range says nothing
    about how far it may go; the z-score judges that)."""
    high, low = (window_extreme(values, window, -1, largest) for largest in (True, False))
    middle = trailing_quantiles(values, window, (0.5,), MIN_POINTS)[0]  # NaN under MIN_POINTS: no say
    present = ~np.isnan(values)
    first = np.flatnonzero(present)[0] if present.any() else len(values)
    old_enough = np.arange(len(values)) - first >= min_span
    with np.errstate(invalid="ignore"):
        far_high = present & old_enough & (high > middle) & (values > high + margin * (high - middle))
        far_low = present & old_enough & (low < middle) & (values < low - margin * (middle - low))
    return far_high, far_low


# Baseline methods by name: the detector and the parameter check both look here, so a new
# method is one function (values, window, context) -> Baseline plus one entry.
BaselineMethod = Callable[[np.ndarray, int, SeriesContext], Baseline]
BASELINE_METHODS: dict[str, BaselineMethod] = {
    "mean": mean_baseline,
    "robust": robust_baseline,
    "seasonal": seasonal_baseline,
}


def baseline_of(method: str, values: np.ndarray, window: int, context: SeriesContext) -> Baseline:
    """The named method's Baseline of `values`; a method that returns a plain (center, spread)
    pair has no slow models."""
    return Baseline(*BASELINE_METHODS[method](values, window, context))

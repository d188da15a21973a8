"""The driver-side plan of synthetic traffic: how many requests each service x environment
receives in each minute, and which incidents change that minute's behaviour.

The plan is small (series x minutes), so it is computed with numpy on the driver and the
executors only expand it into records. It is also the generator's ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Endpoint spec: "METHOD /path": [median latency ms, relative traffic weight]. `calls`: the
# services a service depends on, where a dependency failure can start.
DEFAULT_SERVICES: dict = {
    "catalog": {
        "traffic_share": 0.38, "error_rate": 0.004, "latency_sigma": 0.45,
        "endpoints": {"GET /api/products": [45, 5], "GET /api/products/{id}": [30, 8],
                      "GET /api/search": [120, 4]},
    },
    "checkout": {
        "traffic_share": 0.27, "error_rate": 0.006, "latency_sigma": 0.5, "calls": ["payments", "auth"],
        "endpoints": {"GET /api/cart": [60, 6], "POST /api/cart/items": [90, 3],
                      "POST /api/checkout": [180, 1]},
    },
    "auth": {
        "traffic_share": 0.2, "error_rate": 0.003, "latency_sigma": 0.35,
        "endpoints": {"POST /api/login": [80, 2], "POST /api/token/refresh": [25, 6],
                      "POST /api/logout": [15, 1]},
    },
    "payments": {
        "traffic_share": 0.1, "error_rate": 0.008, "latency_sigma": 0.55,
        "endpoints": {"POST /api/payments/authorize": [250, 4], "POST /api/payments/refund": [300, 1],
                      "GET /api/payments/status": [40, 3]},
    },
    "notifications": {
        "traffic_share": 0.05, "error_rate": 0.01, "latency_sigma": 0.6,
        "endpoints": {"POST /api/notify/email": [150, 2], "POST /api/notify/push": [70, 3]},
    },
}

# Each kind: the signal its magnitude is measured in, and the IncidentSpec ranges its magnitude
# and its length are drawn from. A magnitude is a latency factor, a 5xx rate or a traffic factor.
KINDS: dict[str, tuple[str, str, str]] = {
    "latency_spike": ("latency", "latency_multiplier", "duration_minutes"),     # a step, then back
    "error_burst": ("errors", "error_rate", "duration_minutes"),
    "traffic_drop": ("traffic", "traffic_remaining", "duration_minutes"),
    "latency_ramp": ("latency", "latency_multiplier", "ramp_minutes"),        # a leak: grows, then a restart
    "error_ramp": ("errors", "error_rate", "ramp_minutes"),
    "level_shift": ("latency", "latency_multiplier", "shift_minutes"),        # a bad deploy, hours until rollback
    "host_degradation": ("latency", "host_latency_multiplier", "duration_minutes"),  # one host of several
    # Errors in the callee (this row) and, in a second row, latency in its caller (`upstream` names the callee).
    "dependency_failure": ("errors", "error_rate", "duration_minutes"),
    # A launch or a batch job: more traffic, nothing wrong. Ground truth says "not an incident".
    "benign_surge": ("traffic", "surge_multiplier", "surge_minutes"),
}
INCIDENT_KINDS = tuple(KINDS)
BENIGN_KINDS = ("benign_surge",)
# Incidents on one series stay this far apart (longer than the detector's default merge gap of an
# hour plus its match tolerance), so two truth windows are never one detected incident by design.
MIN_GAP_MINUTES = 90

TRUTH_COLUMNS = ["incident_id", "kind", "service", "environment", "start", "end", "magnitude",
                 "is_incident", "signal", "host_index", "upstream"]


@dataclass(frozen=True)
class IncidentSpec:
    """How many incidents to inject and how strong; each range is [low, high]. The defaults
    live in generate.GeneratorSettings, which builds this."""

    count: int
    kinds: tuple[str, ...]
    latency_multiplier: tuple[float, float]       # spike, ramp peak, level shift, a failing dependency's caller
    error_rate: tuple[float, float]               # burst, ramp peak, a failing dependency: 5xx rate
    traffic_remaining: tuple[float, float]        # drop: share of traffic left
    duration_minutes: tuple[int, int]             # spike, burst, drop, host, dependency
    ramp_minutes: tuple[int, int]
    shift_minutes: tuple[int, int]
    host_latency_multiplier: tuple[float, float]  # the degraded host's own slowdown
    surge_multiplier: tuple[float, float]         # benign surge: traffic factor
    surge_minutes: tuple[int, int]
    # Incidents go only to series busy enough for them to be measurable minute by minute.
    min_requests_per_minute: float = 20.0


def as_utc(timestamp: str) -> pd.Timestamp:
    """A timestamp string as UTC; one without an offset is taken to be UTC already."""
    parsed = pd.Timestamp(timestamp)
    return parsed.tz_localize("UTC") if parsed.tzinfo is None else parsed.tz_convert("UTC")


def daily_cycle(minutes: pd.DatetimeIndex) -> np.ndarray:
    """A sine over the day in [-1, 1], peaking at 15:00 UTC: the busy afternoon."""
    hour = minutes.hour + minutes.minute / 60.0
    return np.sin(2 * np.pi * (hour - 9.0) / 24.0)


def traffic_shape(minutes: pd.DatetimeIndex) -> np.ndarray:
    """Relative load per minute: a daily cycle peaking mid-afternoon UTC and quieter weekends."""
    weekend = np.where(minutes.dayofweek >= 5, 0.7, 1.0)
    return (1.0 + 0.6 * daily_cycle(minutes)) * weekend


def latency_shape(minutes: pd.DatetimeIndex, amplitude: float) -> np.ndarray:
    """Latency factor per minute: slower when busy, by `amplitude` at the afternoon peak (and as
    much faster at night), as shared pools and caches are under more load."""
    return 1.0 + amplitude * daily_cycle(minutes)


def series_table(services: dict, environments: dict) -> pd.DataFrame:
    """One row per service x environment with its share of all traffic."""
    total_service = sum(spec["traffic_share"] for spec in services.values())
    total_env = sum(environments.values())
    rows = [
        {
            "service": service,
            "environment": env,
            "share": spec["traffic_share"] / total_service * env_share / total_env,
        }
        for service, spec in services.items()
        for env, env_share in environments.items()
    ]
    return pd.DataFrame(rows)


def _targets(kind: str, eligible: pd.DataFrame, services: dict) -> list[tuple[tuple, ...]]:
    """Where an incident of `kind` can go, as tuples of series keys: one series, or for a
    dependency failure (callee, caller) pairs of one environment, both busy enough."""
    if kind != "dependency_failure":
        return [((s, e),) for s, e in zip(eligible["service"], eligible["environment"])]
    busy = set(zip(eligible["service"], eligible["environment"]))
    return [((callee, env), (caller, env))
            for caller, spec in services.items() for callee in spec.get("calls", [])
            for env in sorted({e for _, e in busy})
            if (caller, env) in busy and (callee, env) in busy]


def _is_free(taken: dict, keys: tuple, start: int, stop: int) -> bool:
    gap = max(MIN_GAP_MINUTES, stop - start)
    return all(stop + gap <= begin or end + gap <= start for key in keys for begin, end in taken.get(key, []))


def plan_incidents(
    rng: np.random.Generator,
    series: pd.DataFrame,
    minutes: pd.DatetimeIndex,
    expected_per_minute: pd.Series,
    spec: IncidentSpec,
    services: dict,
    hosts_per_service: int,
) -> pd.DataFrame:
    """Choose incidents: kinds in rotation, busy series weighted by traffic, apart from each other
    on a series, none in the first tenth of the range (detectors need history to compare with).
    A window longer than half of what follows the warm-up is shortened to that. A dependency
    failure is two rows (the failing callee, its slowed caller); a degraded host is named by its
    1-based index among the series' hosts. A kind with nowhere to go (a dependency failure needs
    a service that `calls` another, both busy enough) is left out of the rotation, as every kind
    is when no series is busy enough: the ground truth holds what was injected."""
    unknown = sorted(set(spec.kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown incident kinds {unknown}; known: {', '.join(KINDS)}")
    eligible = series[expected_per_minute.to_numpy() >= spec.min_requests_per_minute]
    targets = {kind: _targets(kind, eligible, services) for kind in dict.fromkeys(spec.kinds)}
    kinds = [kind for kind in spec.kinds if targets[kind]]
    if spec.count == 0 or not kinds:
        return pd.DataFrame(columns=TRUTH_COLUMNS)
    share = dict(zip(zip(series["service"], series["environment"]), series["share"]))
    first = max(len(minutes) // 10, 1)
    longest = (len(minutes) - first - 1) // 2
    if longest < 1:
        raise ValueError("the time range is too short to place incidents after a warm-up")

    sequence = [kinds[i % len(kinds)] for i in range(spec.count)]
    draw = _magnitude_draws(rng, spec, [KINDS[kind][1] for kind in sequence]
                            + ["latency_multiplier"] * sequence.count("dependency_failure"))
    taken: dict[tuple, list[tuple[int, int]]] = {}
    rows: list[dict] = []
    placed = attempts = 0
    while placed < spec.count:
        attempts += 1
        if attempts > 1000 * spec.count:
            raise ValueError(f"could not place {spec.count} incidents apart from each other")
        kind = sequence[placed]
        signal, magnitude_range, duration_range = KINDS[kind]
        weights = np.array([share[keys[-1]] for keys in targets[kind]])
        keys = targets[kind][rng.choice(len(weights), p=weights / weights.sum())]
        low, high = (min(int(x), longest) for x in getattr(spec, duration_range))
        duration = int(rng.integers(max(low, 1), max(high, 1) + 1))
        start = int(rng.integers(first, len(minutes) - duration))
        if not _is_free(taken, keys, start, start + duration):
            continue
        magnitude = draw(magnitude_range)
        host = int(rng.integers(1, hosts_per_service + 1)) if kind == "host_degradation" else 0
        for key in keys:
            taken.setdefault(key, []).append((start, start + duration))
        placed += 1
        window = {"kind": kind, "start": minutes[start], "end": minutes[start + duration]}  # end exclusive
        rows.append({**window, "service": keys[0][0], "environment": keys[0][1], "magnitude": magnitude,
                     "is_incident": kind not in BENIGN_KINDS, "signal": signal, "host_index": host, "upstream": None})
        if kind == "dependency_failure":
            rows.append({**window, "service": keys[1][0], "environment": keys[1][1],
                         "magnitude": draw("latency_multiplier"),
                         "is_incident": True, "signal": "latency", "host_index": 0, "upstream": keys[0][0]})
    return pd.DataFrame(rows).assign(incident_id=range(1, len(rows) + 1))[TRUTH_COLUMNS]


def _magnitude_draws(rng: np.random.Generator, spec: IncidentSpec, ranges: list[str]):
    """A function drawing the next magnitude from one of the spec's ranges (by name). The n
    magnitudes a run takes from one range each come from a different n-th of it, in random
    order: a run holds subtle and clear cases instead of whatever a few uniform draws give."""
    strata = {name: list(rng.permutation(ranges.count(name))) for name in dict.fromkeys(ranges)}

    def draw(name: str) -> float:
        low, high = getattr(spec, name)
        return round(low + (high - low) * (int(strata[name].pop()) + float(rng.uniform())) / ranges.count(name), 3)

    return draw


def _ramp(length: int) -> np.ndarray:
    """From near nothing to all of the effect, linearly, over `length` minutes."""
    return np.arange(1, length + 1) / length


def plan_traffic(
    n_records: int,
    start: str,
    duration_hours: int,
    services: dict,
    environments: dict,
    incidents: IncidentSpec,
    seed: int,
    *,
    hosts_per_service: int,
    latency_seasonality: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (cells, incidents): requests per service x environment x minute, with the
    incident effects each cell carries, and the incidents themselves (the ground truth).

    A cell's `latency_factor` multiplies every request's latency (the daily cycle and any
    incident); `slow_host` (1-based, 0 for none) is a host whose requests are slower by
    `host_factor` on top of it; `error_rate` is the cell's 5xx probability."""
    rng = np.random.default_rng(seed)
    minutes = pd.date_range(as_utc(start), periods=duration_hours * 60, freq="min")
    series = series_table(services, environments)
    expected_per_minute = series["share"] * n_records / len(minutes)
    incident_table = plan_incidents(rng, series, minutes, expected_per_minute, incidents, services, hosts_per_service)

    # weight[series, minute]; incident effects as per-cell multipliers and overrides
    weight = np.outer(series["share"].to_numpy(), traffic_shape(minutes))
    latency_factor = np.tile(latency_shape(minutes, latency_seasonality), (len(series), 1))
    base_error_rate = series["service"].map(lambda s: services[s]["error_rate"]).to_numpy()
    error_rate = np.tile(base_error_rate[:, None], (1, len(minutes)))
    slow_host = np.zeros(weight.shape, dtype=np.int32)
    host_factor = np.ones_like(weight)
    series_index = {key: i for i, key in enumerate(zip(series["service"], series["environment"]))}
    for incident in incident_table.itertuples():
        row = series_index[(incident.service, incident.environment)]
        window = slice(minutes.get_loc(incident.start), minutes.get_loc(incident.start) + int(
            (incident.end - incident.start) / pd.Timedelta(minutes=1)))
        ramp = _ramp(window.stop - window.start)
        m = incident.magnitude
        if incident.kind == "host_degradation":
            slow_host[row, window], host_factor[row, window] = incident.host_index, m
        elif incident.signal == "latency":
            latency_factor[row, window] *= 1 + (m - 1) * ramp if incident.kind == "latency_ramp" else m
        elif incident.signal == "errors":
            base = base_error_rate[row]
            error_rate[row, window] = base + (m - base) * ramp if incident.kind == "error_ramp" else m
        else:  # traffic: a drop keeps a share, a surge multiplies
            weight[row, window] *= m

    counts = rng.multinomial(n_records, (weight / weight.sum()).ravel()).reshape(weight.shape)
    cells = pd.DataFrame(
        {
            "service": np.repeat(series["service"].to_numpy(), len(minutes)),
            "environment": np.repeat(series["environment"].to_numpy(), len(minutes)),
            # Taken from the index by position: tz-aware minutes to_numpy() are Timestamp objects
            # (4.3M of them for 1,500 series: 0.8 s of conversion back).
            "minute": minutes[np.tile(np.arange(len(minutes)), len(series))],
            "n": counts.ravel(),
            "latency_factor": latency_factor.ravel(),
            "error_rate": error_rate.ravel(),
            "slow_host": slow_host.ravel(),
            "host_factor": host_factor.ravel(),
        }
    )
    cells["first_id"] = cells["n"].cumsum() - cells["n"]
    return cells, incident_table


def hourly_volume(cells: pd.DataFrame) -> pd.DataFrame:
    """Planned requests per service per hour: the traffic shape, from the plan itself."""
    return (
        cells.assign(hour=cells["minute"].dt.floor("h"))
        .groupby(["service", "hour"], as_index=False)["n"].sum()
        .rename(columns={"n": "requests"})
    )

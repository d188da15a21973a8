"""The driver-side plan of synthetic traffic: how many requests each service x environment
receives in each minute, and which incidents change that minute's behaviour.

The plan is small (series x minutes), so it is computed with numpy on the driver and the
executors only expand it into records. It is also the generator's ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Endpoint spec: "METHOD /path": [median latency ms, relative traffic weight]
DEFAULT_SERVICES: dict = {
    "catalog": {
        "traffic_share": 0.38, "error_rate": 0.004, "latency_sigma": 0.45,
        "endpoints": {"GET /api/products": [45, 5], "GET /api/products/{id}": [30, 8],
                      "GET /api/search": [120, 4]},
    },
    "checkout": {
        "traffic_share": 0.27, "error_rate": 0.006, "latency_sigma": 0.5,
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

INCIDENT_KINDS = ("latency_spike", "error_burst", "traffic_drop")


@dataclass(frozen=True)
class IncidentSpec:
    """How many incidents to inject and how strong; each range is [low, high]. The defaults
    live in generate.GeneratorSettings, which builds this."""

    count: int
    kinds: tuple[str, ...]
    latency_multiplier: tuple[float, float]
    error_rate: tuple[float, float]
    traffic_remaining: tuple[float, float]
    duration_minutes: tuple[int, int]
    # Incidents go only to series busy enough for them to be measurable minute by minute.
    min_requests_per_minute: float = 20.0


def as_utc(timestamp: str) -> pd.Timestamp:
    """A timestamp string as UTC; one without an offset is taken to be UTC already."""
    parsed = pd.Timestamp(timestamp)
    return parsed.tz_localize("UTC") if parsed.tzinfo is None else parsed.tz_convert("UTC")


def traffic_shape(minutes: pd.DatetimeIndex) -> np.ndarray:
    """Relative load per minute: a daily cycle peaking mid-afternoon UTC and quieter weekends."""
    hour = minutes.hour + minutes.minute / 60.0
    daily = 1.0 + 0.6 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
    weekend = np.where(minutes.dayofweek >= 5, 0.7, 1.0)
    return daily * weekend


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


def plan_incidents(
    rng: np.random.Generator,
    series: pd.DataFrame,
    minutes: pd.DatetimeIndex,
    expected_per_minute: pd.Series,
    spec: IncidentSpec,
) -> pd.DataFrame:
    """Choose incidents: kinds in rotation, busy series weighted by traffic, no overlaps per
    series, none in the first tenth of the range (detectors need history to compare with)."""
    columns = ["incident_id", "kind", "service", "environment", "start", "end", "magnitude"]
    eligible = series[expected_per_minute.to_numpy() >= spec.min_requests_per_minute]
    if spec.count == 0 or eligible.empty:
        return pd.DataFrame(columns=columns)
    weights = eligible["share"].to_numpy() / eligible["share"].sum()
    first = max(len(minutes) // 10, 1)
    last = len(minutes) - spec.duration_minutes[1] - 1
    if last <= first:
        raise ValueError("the time range is too short to place incidents after a warm-up")

    taken: dict[tuple, list[tuple[int, int]]] = {}
    incidents = []
    attempts = 0
    while len(incidents) < spec.count:
        attempts += 1
        if attempts > 1000 * spec.count:
            raise ValueError(f"could not place {spec.count} non-overlapping incidents")
        kind = spec.kinds[len(incidents) % len(spec.kinds)]
        row = eligible.iloc[rng.choice(len(eligible), p=weights)]
        start = int(rng.integers(first, last))
        duration = int(rng.integers(spec.duration_minutes[0], spec.duration_minutes[1] + 1))
        key = (row["service"], row["environment"])
        # Keep a gap of one incident length between incidents on the same series.
        if any(start < end + duration and begin < start + 2 * duration
               for begin, end in taken.get(key, [])):
            continue
        taken.setdefault(key, []).append((start, start + duration))
        low, high = {
            "latency_spike": spec.latency_multiplier,
            "error_burst": spec.error_rate,
            "traffic_drop": spec.traffic_remaining,
        }[kind]
        incidents.append(
            {
                "incident_id": len(incidents) + 1,
                "kind": kind,
                "service": row["service"],
                "environment": row["environment"],
                "start": minutes[start],
                "end": minutes[start + duration],  # exclusive
                "magnitude": round(float(rng.uniform(low, high)), 3),
            }
        )
    return pd.DataFrame(incidents, columns=columns)


def plan_traffic(
    n_records: int,
    start: str,
    duration_hours: int,
    services: dict,
    environments: dict,
    incidents: IncidentSpec,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (cells, incidents): requests per service x environment x minute, with the
    incident effects each cell carries, and the incidents themselves."""
    rng = np.random.default_rng(seed)
    minutes = pd.date_range(as_utc(start), periods=duration_hours * 60, freq="min")
    series = series_table(services, environments)
    shape = traffic_shape(minutes)
    expected_per_minute = series["share"] * n_records / len(minutes)
    incident_table = plan_incidents(rng, series, minutes, expected_per_minute, spec=incidents)

    # weight[series, minute]; incident effects as per-cell multipliers and overrides
    weight = np.outer(series["share"].to_numpy(), shape)
    latency_factor = np.ones_like(weight)
    error_rate = np.tile(
        series["service"].map(lambda s: services[s]["error_rate"]).to_numpy()[:, None],
        (1, len(minutes)),
    )
    series_index = {key: i for i, key in enumerate(zip(series["service"], series["environment"]))}
    for incident in incident_table.itertuples():
        row = series_index[(incident.service, incident.environment)]
        window = (minutes >= incident.start) & (minutes < incident.end)
        if incident.kind == "latency_spike":
            latency_factor[row, window] = incident.magnitude
        elif incident.kind == "error_burst":
            error_rate[row, window] = incident.magnitude
        else:
            weight[row, window] *= incident.magnitude

    counts = rng.multinomial(n_records, (weight / weight.sum()).ravel()).reshape(weight.shape)
    cells = pd.DataFrame(
        {
            "service": np.repeat(series["service"].to_numpy(), len(minutes)),
            "environment": np.repeat(series["environment"].to_numpy(), len(minutes)),
            "minute": np.tile(minutes.to_numpy(), len(series)),
            "n": counts.ravel(),
            "latency_factor": latency_factor.ravel(),
            "error_rate": error_rate.ravel(),
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

"""Synthetic service logs: the traffic plan expanded into records on the executors.

Faker is called a few thousand times on the driver to fill value pools (client IPs, user
names, hosts, error causes); records pick from those pools by hashing. Every random choice
is a hash of (seed, record id, purpose) (`uniform`; the trace id an MD5 of the same), so a
record depends only on its id and the seed, never on partitioning, and the same parameters
always give the same set of records.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from faker import Faker
from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from loganalysis.core.schema import INJECTED_INCIDENT_SCHEMA, LOG_FIELDS, LOG_SCHEMA, SERIES_KEYS
from loganalysis.sources.traffic_plan import DEFAULT_SERVICES, IncidentSpec

# The default mix, in rotation: two of each with incident_count 18. Magnitudes are spread over
# each range (traffic_plan._magnitude_draws), whose low ends sit below the 1.5x latency, 5% 5xx
# and half-traffic marks, so a run holds subtle cases and clear ones.
DEFAULT_KINDS = ("latency_spike", "error_burst", "traffic_drop", "host_degradation", "latency_ramp",
                 "dependency_failure", "level_shift", "error_ramp", "benign_surge")

BAD_LINE_KINDS = ("malformed_json", "missing_field", "wrong_type", "out_of_range")


@dataclass(frozen=True)
class GeneratorSettings:
    """What stage 01 generates. Field names and defaults are the notebook's parameters
    (a test holds the two equal), so this is the one place the defaults live."""

    seed: int = 42
    n_records: int = 200_000
    start: str = "2026-11-02T00:00:00Z"
    duration_hours: int = 48
    services: dict = field(default_factory=dict)  # empty: DEFAULT_SERVICES
    environments: dict = field(default_factory=lambda: {"prod": 0.7, "staging": 0.2, "dev": 0.1})
    hosts_per_service: int = 4
    incident_count: int = 18
    incident_kinds: tuple = DEFAULT_KINDS
    latency_multiplier: tuple = (1.3, 2.0)
    error_burst_rate: tuple = (0.02, 0.2)
    traffic_remaining: tuple = (0.3, 0.7)
    incident_minutes: tuple = (10, 45)
    ramp_minutes: tuple = (30, 90)
    shift_minutes: tuple = (120, 360)
    host_latency_multiplier: tuple = (3.0, 6.0)
    surge_multiplier: tuple = (1.5, 3.0)
    surge_minutes: tuple = (20, 90)
    latency_seasonality: float = 0.15
    bad_line_rate: float = 0.001
    n_partitions: int = 0  # 0: `task_count`

    @property
    def topology(self) -> dict:
        return self.services or DEFAULT_SERVICES

    def incident_spec(self) -> IncidentSpec:
        return IncidentSpec(count=self.incident_count, kinds=tuple(self.incident_kinds),
                            latency_multiplier=tuple(self.latency_multiplier),
                            error_rate=tuple(self.error_burst_rate),
                            traffic_remaining=tuple(self.traffic_remaining),
                            duration_minutes=tuple(self.incident_minutes),
                            ramp_minutes=tuple(self.ramp_minutes), shift_minutes=tuple(self.shift_minutes),
                            host_latency_multiplier=tuple(self.host_latency_multiplier),
                            surge_multiplier=tuple(self.surge_multiplier),
                            surge_minutes=tuple(self.surge_minutes))


_STATUS_5XX = [500, 502, 503, 504]
_STATUS_4XX = [400, 401, 403, 404, 409, 429]
_WARN_4XX = {401: "invalid or expired token", 403: "permission denied",
             409: "conflict: resource version mismatch", 429: "rate limit exceeded"}
_INFO_4XX = {400: "validation failed", 404: "not found"}


# ---- deterministic randomness -------------------------------------------------------------

def uniform(seed: int, purpose: str, id_col: str = "id") -> Column:
    """A uniform number in [0, 1) that depends only on (seed, record id, purpose)."""
    bits53 = F.xxhash64(F.lit(seed), F.col(id_col), F.lit(purpose)).bitwiseAND(F.lit((1 << 53) - 1))
    return bits53.cast("double") / float(1 << 53)


def standard_normal(seed: int, purpose: str) -> Column:
    """Box-Muller from two independent uniforms; 1 - u keeps the log argument in (0, 1]."""
    u1 = F.lit(1.0) - uniform(seed, purpose + ":1")
    u2 = uniform(seed, purpose + ":2")
    return F.sqrt(F.lit(-2.0) * F.log(u1)) * F.cos(F.lit(2 * math.pi) * u2)


def pick(pool: Column, u: Column) -> Column:
    """An element of an array column, chosen uniformly by u in [0, 1)."""
    return F.element_at(pool, (F.floor(u * F.size(pool)) + 1).cast("int"))


_POOL_SEPARATOR = "\u0001"  # a control character: no name, address or message holds it


def string_pool(values: list[str]) -> Column:
    """A list of strings as one array literal. `F.lit(list)` makes a literal per element, each
    a round trip to the JVM (a 5,000-name pool cost 3-4 s per plan); one joined string split
    on a separator none of them holds is two, and Spark folds the split of a constant once, at
    planning, so no row splits anything."""
    assert not any(_POOL_SEPARATOR in v for v in values), "a pool value holds the separator"
    return F.split(F.lit(_POOL_SEPARATOR.join(values)), _POOL_SEPARATOR)


def bad_line_kind(seed: int, rate: float) -> Column:
    """Which kind of bad line a record becomes (null for a good one), at the given rate."""
    kind = pick(F.array(*[F.lit(k) for k in BAD_LINE_KINDS]), uniform(seed, "bad-kind"))
    return F.when(uniform(seed, "bad") < F.lit(rate), kind)


# ---- Faker pools, built once on the driver -----------------------------------------------

def value_pools(seed: int, services: dict, environments: dict, hosts_per_service: int) -> dict:
    fake = Faker()
    fake.seed_instance(seed)
    dependencies = [f"{name}-db" for name in services] + ["redis-cache", "kafka-broker"]
    error_causes = (
        [f"upstream {dep} timed out after {fake.random_int(800, 5000)}ms" for dep in dependencies]
        + [f"connection refused by {fake.hostname()}:{fake.port_number()}" for _ in range(4)]
        + [f"circuit breaker open for {dep}" for dep in dependencies[:3]]
        + [f"unhandled {exc} in {fake.word()}_handler" for exc in
           ("NullPointerException", "KeyError", "IllegalStateException")]
    )
    hosts = {
        (service, env): [f"{service}-{env}-{i:02d}.{fake.ipv4_private().replace('.', '-')}.internal"
                         for i in range(hosts_per_service)]
        for service in services for env in environments
    }
    return {
        "client_ips": [fake.ipv4_public() for _ in range(2000)],
        "user_ids": list(dict.fromkeys(fake.user_name() for _ in range(3000))),
        "error_causes": error_causes,
        "hosts": hosts,
    }


# ---- tasks --------------------------------------------------------------------------------

# Records per generation task on average (tasks follow the plan's cells, so a busy series makes a
# larger task). 10M records in 2 tasks took 38-43 s, in 8 tasks 32-34 s, in 16 or 32 about 35 s
# (2026-11-30, 2 cores); at 2M, 2, 4 or 8 tasks made no difference.
RECORDS_PER_TASK = 1_250_000


def task_count(n_records: int, parallelism: int) -> int:
    """Generation tasks: at least one per core, and RECORDS_PER_TASK records a task on average."""
    return max(parallelism, -(-n_records // RECORDS_PER_TASK))


# ---- the plan as a Spark table ------------------------------------------------------------

def cells_frame(spark: SparkSession, cells: pd.DataFrame, services: dict, pools: dict,
                n_partitions: int) -> DataFrame:
    """The per-minute plan with each series' constants (endpoints, hosts) attached as arrays.

    Cells are split into ranges of ids holding about as many cells each. Cells run series by
    series, so a busy series makes a larger task (3.3M and 0.15M records of the default 10M);
    tasks of equal records measured slower (docs/performance.md, 2026-12-07).
    """
    endpoint_rows = []
    for service, spec in services.items():
        names = list(spec["endpoints"])
        weights = [spec["endpoints"][name][1] for name in names]
        total = float(sum(weights))
        cumulative = [sum(weights[: i + 1]) / total for i in range(len(weights) - 1)]
        endpoint_rows.append((service, [n.split(" ", 1)[0] for n in names],
                              [n.split(" ", 1)[1] for n in names],
                              [float(spec["endpoints"][n][0]) for n in names],
                              cumulative, float(spec["latency_sigma"])))
    endpoints = spark.createDataFrame(
        endpoint_rows, "service string, methods array<string>, paths array<string>, "
        "medians array<double>, cum_weights array<double>, sigma double")
    hosts = spark.createDataFrame(
        [(s, e, h) for (s, e), h in pools["hosts"].items()],
        "service string, environment string, hosts array<string>")
    plan = spark.createDataFrame(
        cells[cells["n"] > 0].assign(minute_ms=lambda c: c["minute"].astype("int64") // 10**6)
        [["service", "environment", "minute_ms", "n", "first_id", "latency_factor", "error_rate",
          "slow_host", "host_factor"]])
    # Split by id range first, then attach the constants: a broadcast join keeps the partitions,
    # and the shuffle moves the plan's bare cells, not each cell with its series' arrays (1.6M
    # cells of 1,500 quiet series against 43k of the default 15).
    return (
        plan.repartitionByRange(n_partitions, "first_id")
        .join(F.broadcast(endpoints), "service", how="inner")
        .join(F.broadcast(hosts), SERIES_KEYS, how="inner")
    )


def expand_records(cells: DataFrame) -> DataFrame:
    """One row per planned request: its id and the constants of its cell."""
    return (
        cells
        .withColumn("seq", F.explode(F.sequence(F.lit(0), F.col("n") - 1)))
        .withColumn("id", F.col("first_id") + F.col("seq"))
    )


# ---- record fields --------------------------------------------------------------------------

def weighted_choice(cum_weights: Column, u: Column, choices: int) -> Column:
    """The 1-based index of the choice a uniform draw `u` falls on, given the cumulative weights
    of all choices but the last (`cum_weights`, ascending, at most `choices` - 1 of them): one more
    than the weights at or below `u`. Unrolled over the positions instead of `filter` with a
    lambda: Spark evaluates a higher-order function outside its generated code, for every row and
    every use of the index (10M records written: 29-33 s with `filter`, 19-22 s unrolled)."""
    below = [F.coalesce(F.try_element_at(cum_weights, F.lit(k)) <= u, F.lit(False)).cast("int")
             for k in range(1, choices)]
    return sum(below, F.lit(1))


def with_request_fields(df: DataFrame, seed: int, pools: dict, most_endpoints: int) -> DataFrame:
    """Timestamp, endpoint, latency, status, client, user and trace of every request.
    `most_endpoints`: the most endpoints any service has."""
    u_endpoint = uniform(seed, "endpoint")
    endpoint_index = weighted_choice(F.col("cum_weights"), u_endpoint, most_endpoints)
    u_status = uniform(seed, "status")
    method = F.element_at("methods", endpoint_index)
    u_host = uniform(seed, "host")
    # 1-based like the plan's slow_host; the same draw as pick(hosts, u_host) below
    host_index = F.floor(u_host * F.size("hosts")) + 1
    host_factor = F.when(host_index == F.col("slow_host"), F.col("host_factor")).otherwise(F.lit(1.0))
    status = (
        F.when(u_status < F.col("error_rate"), pick(F.lit(_STATUS_5XX), uniform(seed, "5xx")))
        .when(u_status < F.col("error_rate") + 0.03, pick(F.lit(_STATUS_4XX), uniform(seed, "4xx")))
        .when((method == "GET") & (uniform(seed, "304") < 0.05), F.lit(304))
        .when(method == "POST", F.lit(201))
        .otherwise(F.lit(200))
    )
    # 32 lowercase hex digits, as W3C trace context writes them. One MD5 of (seed, id) gives them
    # directly: two xxhash64 halves through hex, lower and lpad took 4.3 s of 10M records, MD5 2.2 s.
    trace_id = F.md5(F.concat_ws(":", F.lit(seed), F.col("id"), F.lit("trace")))
    return (
        df.select(
            "*",
            F.timestamp_millis(F.col("minute_ms") + F.floor(uniform(seed, "ms") * 60_000).cast("long"))
            .alias("timestamp"),
            method.alias("method"),
            F.element_at("paths", endpoint_index).alias("endpoint"),
            F.round(F.element_at("medians", endpoint_index) * F.col("latency_factor") * host_factor
                    * F.exp(F.col("sigma") * standard_normal(seed, "latency")), 1).alias("response_time_ms"),
            status.cast("int").alias("status_code"),
            pick(F.col("hosts"), u_host).alias("host"),
            pick(string_pool(pools["client_ips"]), uniform(seed, "ip")).alias("client_ip"),
            pick(string_pool(pools["user_ids"]), uniform(seed, "user")).alias("user_id"),
            trace_id.alias("trace_id"),
        )
        # A step of its own: the size follows the status, which is drawn once per record.
        .select("*", F.when(F.col("status_code") == 304, F.lit(0))
                .otherwise(F.round(F.exp(F.lit(7.5) + standard_normal(seed, "bytes"))).cast("long"))
                .alias("bytes_sent"))
    )


def most_endpoints(services: dict) -> int:
    return max(len(spec["endpoints"]) for spec in services.values())


def with_level_and_message(df: DataFrame, seed: int, pools: dict,
                           slow_factor: float = 5.0) -> DataFrame:
    """Level follows status (5xx ERROR, most 4xx WARN, slow successes WARN); messages fit both."""
    status = F.col("status_code")
    request = F.concat_ws(" ", "method", "endpoint")
    slow = F.col("response_time_ms") > F.element_at("medians", F.array_position("paths", F.col("endpoint")).cast("int")) * slow_factor
    warn_4xx = F.create_map(*[x for k, v in _WARN_4XX.items() for x in (F.lit(k), F.lit(v))])
    info_4xx = F.create_map(*[x for k, v in _INFO_4XX.items() for x in (F.lit(k), F.lit(v))])
    level = (
        F.when(status >= 500, "ERROR")
        .when(status.isin(list(_WARN_4XX)), "WARN")
        .when(status >= 400, "INFO")
        .when(slow, "WARN")
        .when((F.col("environment") == "dev") & (uniform(seed, "debug") < 0.2), "DEBUG")
        .otherwise("INFO")
    )
    message = (
        F.when(status >= 500, F.concat(request, F.lit(" failed: "),
                                       pick(string_pool(pools["error_causes"]), uniform(seed, "cause"))))
        .when(status.isin(list(_WARN_4XX)), F.concat(request, F.lit(" rejected: "), warn_4xx[status]))
        .when(status >= 400, F.concat(request, F.lit(": "), info_4xx[status]))
        .when(slow, F.concat(F.lit("slow request: "), request, F.lit(" took "),
                             F.col("response_time_ms").cast("string"), F.lit(" ms")))
        .otherwise(F.concat(request, F.lit(" completed with "), status.cast("string")))
    )
    return df.select("*", level.alias("level"), message.alias("message"))


# `to_json`'s own format for a timestamp (Spark's default timestampFormat, in the session's UTC)
_JSON_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
_NEEDS_JSON_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def needs_no_json_escaping(strings: Iterable[str]) -> bool:
    """True when every string can stand in JSON between quotes as it is (no quote, backslash or
    control character to escape)."""
    return not any(_NEEDS_JSON_ESCAPE.search(value) for value in strings)


def plain_json_object(schema: T.StructType) -> Column:
    """The columns of `schema` as `to_json` writes them, built by concatenation: for records whose
    strings need no escaping (`needs_no_json_escaping`) and no field is null, the same text, without a
    JSON writer per row (to_json was 10 of the 30 s that 10M records took to compute)."""
    parts = []
    for i, field in enumerate(schema.fields):
        key = ("{" if i == 0 else ",") + json.dumps(field.name) + ":"
        if isinstance(field.dataType, T.StringType):
            parts += [F.lit(key + '"'), F.col(field.name), F.lit('"')]
        elif isinstance(field.dataType, T.TimestampType):
            parts += [F.lit(key + '"'), F.date_format(field.name, _JSON_TIMESTAMP), F.lit('"')]
        else:
            parts += [F.lit(key), F.col(field.name).cast("string")]
    return F.concat(*parts, F.lit("}"))


def json_line(seed: int, bad_line_rate: float, no_escaping: bool = False) -> Column:
    """The record as one JSON line, damaged in one of four ways for a small share of records.
    `no_escaping`: every string the records can hold needs no JSON escaping (`needs_no_json_escaping`
    of `record_strings`) and no field is null, so the line is concatenated (`plain_json_object`)."""
    good = plain_json_object(LOG_SCHEMA) if no_escaping else F.to_json(F.struct(*LOG_FIELDS))
    kind = bad_line_kind(seed, bad_line_rate)
    return (
        F.when(kind == "malformed_json", F.substring(good, 1, 40))
        .when(kind == "missing_field", F.regexp_replace(good, r'"timestamp":"[^"]*",', ""))
        .when(kind == "wrong_type", F.regexp_replace(
            good, r'"response_time_ms":[-0-9.Ee]+', '"response_time_ms":"slow"'))
        .when(kind == "out_of_range", F.regexp_replace(
            good, r'"status_code":[0-9]+', '"status_code":999'))
        .otherwise(good)
    )


def record_strings(services: dict, pools: dict) -> list[str]:
    """Every string a generated record is made of: names from the topology, the value pools, and
    the fixed words of messages."""
    environments = {environment for _, environment in pools["hosts"]}
    strings = [*services, *environments, *pools["client_ips"], *pools["user_ids"], *pools["error_causes"],
               *_WARN_4XX.values(), *_INFO_4XX.values()]
    strings += [host for hosts in pools["hosts"].values() for host in hosts]
    strings += [part for spec in services.values() for name in spec["endpoints"] for part in name.split(" ", 1)]
    return strings


def generate_lines(spark: SparkSession, cells: pd.DataFrame, services: dict, pools: dict,
                   seed: int, bad_line_rate: float, n_partitions: int) -> DataFrame:
    """Every planned request as a JSON line, with the service and environment to partition by."""
    return (
        cells_frame(spark, cells, services, pools, n_partitions)
        .transform(expand_records)
        .transform(lambda df: with_request_fields(df, seed, pools, most_endpoints(services)))
        .transform(lambda df: with_level_and_message(df, seed, pools))
        .select(json_line(seed, bad_line_rate, needs_no_json_escaping(record_strings(services, pools)))
                .alias("value"), "service", "environment")
    )


def bad_line_counts(spark: SparkSession, n_records: int, seed: int, bad_line_rate: float) -> DataFrame:
    """How many lines of each bad kind the generator wrote: ids are 0..n-1, so the same
    hash decides it without regenerating the records."""
    return (
        spark.range(n_records)
        .select(bad_line_kind(seed, bad_line_rate).alias("kind"))
        .where(F.col("kind").isNotNull())
        .groupBy("kind")
        .agg(F.count(F.lit(1)).alias("lines"))
        .select("kind", "lines")
    )


def ground_truth(incidents: pd.DataFrame, hosts: dict) -> pd.DataFrame:
    """The planned incidents as ground truth (INJECTED_INCIDENT_SCHEMA's columns), a degraded
    host by its name (`hosts`: the pools' host names per series, in the order records pick them)."""
    names = [hosts[(r.service, r.environment)][int(r.host_index) - 1] if r.host_index else None
             for r in incidents.itertuples()]
    return incidents.assign(host=names).reindex(columns=INJECTED_INCIDENT_SCHEMA.names)


def incidents_frame(spark: SparkSession, truth: pd.DataFrame) -> DataFrame:
    rows = [(int(r.incident_id), r.kind, r.service, r.environment, r.start.to_pydatetime(),
             r.end.to_pydatetime(), float(r.magnitude), bool(r.is_incident), r.signal, r.host, r.upstream)
            for r in truth.itertuples()]
    return spark.createDataFrame(rows, INJECTED_INCIDENT_SCHEMA)

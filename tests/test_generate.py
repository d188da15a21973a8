"""The generator: deterministic, incidents visible in the data, bad lines counted exactly."""

import dataclasses
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from loganalysis.core.schema import LOG_FIELDS
from loganalysis.metrics import validation
from loganalysis.sources import generate
from loganalysis.sources.traffic_plan import DEFAULT_SERVICES, INCIDENT_KINDS, plan_traffic

ENVS = {"prod": 0.7, "staging": 0.2, "dev": 0.1}
N = 60_000  # enough for each injected incident to stand out of its series' sampling noise
SMALL = 5_000  # enough to compare two generations record by record
HOSTS = 3
DEFAULTS = generate.GeneratorSettings()
# The kinds whose effect the Spark expansion carries in a different column each.
SPEC = dataclasses.replace(DEFAULTS.incident_spec(), count=4,
                           kinds=("latency_spike", "error_burst", "traffic_drop", "host_degradation"))


def plan(spec, n=N, hours=4, seed=11, seasonality=0.0, services=DEFAULT_SERVICES):
    return plan_traffic(n, "2026-11-02T00:00:00Z", hours, services, ENVS, spec, seed,
                        hosts_per_service=HOSTS, latency_seasonality=seasonality)


def lines(spark, partitions, seed=11, rate=0.01, n=N):
    spec = SPEC if n == N else dataclasses.replace(SPEC, count=0)
    cells, incidents = plan(spec, n, seed=seed, seasonality=0.0 if n == N else DEFAULTS.latency_seasonality)
    pools = generate.value_pools(seed, DEFAULT_SERVICES, ENVS, HOSTS)
    return generate.generate_lines(spark, cells, DEFAULT_SERVICES, pools, seed, rate, partitions), incidents, pools


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("gen") / "raw")
    df, incidents, pools = lines(spark, 3)
    df.write.partitionBy("service", "environment").text(out)
    records = validation.validate_records(validation.read_raw_records(spark, out))
    truth = generate.ground_truth(incidents, pools["hosts"])
    pd.testing.assert_frame_equal(generate.incidents_frame(spark, truth).toPandas().drop(columns=["start", "end"]),
                                  truth.drop(columns=["start", "end"]), check_dtype=False)
    return out, truth, records


def test_same_seed_same_records_whatever_the_partitioning(spark):
    first, _, _ = lines(spark, 2, n=SMALL)
    second, _, _ = lines(spark, 5, n=SMALL)
    assert first.count() == SMALL
    assert first.exceptAll(second).count() == 0 and second.exceptAll(first).count() == 0


def test_another_seed_gives_other_records(spark):
    first, _, _ = lines(spark, 2, seed=11, n=SMALL)
    other, _, _ = lines(spark, 2, seed=12, n=SMALL)
    assert first.select("value").exceptAll(other.select("value")).count() > SMALL * 0.99


def records_of(spark, services=DEFAULT_SERVICES, seed=11, n=SMALL):
    cells, _ = plan(dataclasses.replace(SPEC, count=0), n, seed=seed, services=services)
    pools = generate.value_pools(seed, services, ENVS, HOSTS)
    return (generate.cells_frame(spark, cells, services, pools, 2).transform(generate.expand_records)
            .transform(lambda df: generate.with_request_fields(df, seed, pools, generate.most_endpoints(services)))
            .transform(lambda df: generate.with_level_and_message(df, seed, pools))
            .select(*LOG_FIELDS)), pools, cells


def test_concatenated_json_is_what_to_json_writes(spark):
    records, pools, _ = records_of(spark)
    assert generate.needs_no_json_escaping(generate.record_strings(DEFAULT_SERVICES, pools))
    edge = spark.createDataFrame(
        [(datetime(2026, 11, 2, 0, 0, 0), 0.1, 0), (datetime(2026, 11, 2, 23, 59, 59, 999000), 1e7, 2**40),
         (datetime(2026, 11, 2, 1, 2, 3, 4000), 12345678.9, 7), (datetime(2026, 11, 2, 1, 2, 3), 1e-5, -1)],
        "timestamp timestamp, response_time_ms double, bytes_sent long")
    for frame in (records, edge):
        both = frame.select(generate.plain_json_object(frame.schema).alias("plain"),
                            F.to_json(F.struct(*frame.columns)).alias("writer"))
        assert both.where("plain <=> writer").count() == both.count() > 0


def test_a_name_that_needs_escaping_is_written_by_the_json_writer(spark):
    services = {name: dict(spec) for name, spec in list(DEFAULT_SERVICES.items())[:2]}
    first = next(iter(services))
    services[first]["endpoints"] = {'GET /api/"quoted"\\path': [50, 1]}
    _, pools, cells = records_of(spark, services, n=500)
    assert not generate.needs_no_json_escaping(generate.record_strings(services, pools))
    lines = generate.generate_lines(spark, cells, services, pools, 11, 0.0, 2).toPandas()
    parsed = [json.loads(line) for line in lines["value"]]
    assert {'/api/"quoted"\\path'} == {r["endpoint"] for r in parsed if r["service"] == first}


def test_partition_folders_on_disk(written):
    from pathlib import Path
    out, _, _ = written
    folders = {p.relative_to(out).as_posix() for p in Path(out).glob("service=*/environment=*")}
    assert folders == {f"service={s}/environment={e}" for s in DEFAULT_SERVICES for e in ENVS}


def test_bad_line_counts_match_the_lines_on_disk(spark, written):
    _, _, records = written
    quarantined = (records.where("reason IS NOT NULL").groupBy(validation.reason_category().alias("kind"))
                   .count().toPandas().set_index("kind")["count"].to_dict())
    injected = generate.bad_line_counts(spark, N, 11, 0.01).toPandas().set_index("kind")["lines"].to_dict()
    assert quarantined == injected and sum(injected.values()) > 0


def test_status_and_level_are_consistent(written):
    _, _, records = written
    clean = records.where("reason IS NULL")
    assert clean.where("status_code >= 500 AND level != 'ERROR'").count() == 0
    assert clean.where("level = 'ERROR' AND status_code < 500").count() == 0
    assert clean.where("status_code IN (401, 403, 409, 429) AND level != 'WARN'").count() == 0
    assert clean.where("level = 'WARN'").count() > 0


def _window(records, incident, inside):
    in_series = (F.col("service") == incident.service) & (F.col("environment") == incident.environment)
    in_time = (F.col("timestamp") >= incident.start.to_pydatetime()) & (F.col("timestamp") < incident.end.to_pydatetime())
    return records.where("reason IS NULL").where(in_series & (in_time if inside else ~in_time))


def _mean_latency(frame):
    return frame.agg(F.mean("response_time_ms")).first()[0]


def test_every_incident_is_visible_in_the_data(written):
    _, incidents, records = written
    assert set(incidents["kind"]) == set(SPEC.kinds)
    for incident in incidents.itertuples():
        inside, outside = _window(records, incident, True), _window(records, incident, False)
        if incident.kind == "latency_spike":
            ratio = _mean_latency(inside) / _mean_latency(outside)
            assert ratio >= 1 + (incident.magnitude - 1) * 0.7, (incident, ratio)  # sampling noise on small data
        elif incident.kind == "error_burst":
            rate = inside.where("status_code >= 500").count() / inside.count()
            assert rate >= incident.magnitude * 0.75, (incident, rate)
        elif incident.kind == "traffic_drop":
            minutes = (incident.end - incident.start) / pd.Timedelta(minutes=1)
            rate_in = inside.count() / minutes
            rate_out = outside.count() / (240 - minutes)
            assert rate_in <= rate_out * (incident.magnitude + 0.25), (incident, rate_in, rate_out)


def test_a_degraded_host_is_slow_and_the_others_are_not(written):
    """Only the host the ground truth names slows down, by its magnitude; its neighbours keep
    their latency, so the series moves by a share of it (what the explanation must pin down)."""
    _, incidents, records = written
    (incident,) = [i for i in incidents.itertuples() if i.kind == "host_degradation"]
    assert incident.host.startswith(f"{incident.service}-{incident.environment}-")
    in_time = ((F.col("timestamp") >= incident.start.to_pydatetime())
               & (F.col("timestamp") < incident.end.to_pydatetime()))
    means = (records.where("reason IS NULL")
             .where((F.col("service") == incident.service) & (F.col("environment") == incident.environment))
             .groupBy(in_time.alias("inside"), (F.col("host") == incident.host).alias("degraded"))
             .agg(F.mean("response_time_ms").alias("mean_ms"), F.count(F.lit(1)).alias("requests"))
             .toPandas().set_index(["inside", "degraded"]))
    outside = (means.loc[(False, True), "mean_ms"] + means.loc[(False, False), "mean_ms"] * (HOSTS - 1)) / HOSTS
    assert means.loc[(True, True), "mean_ms"] / outside == pytest.approx(incident.magnitude, rel=0.2)
    assert means.loc[(True, False), "mean_ms"] / outside == pytest.approx(1.0, abs=0.1)
    assert means.loc[(False, True), "mean_ms"] / means.loc[(False, False), "mean_ms"] == pytest.approx(1.0, abs=0.1)


# ---- the plan: each kind's effect, per series and minute, on small plans --------------------

def one_kind(kind, seed=3, count=1, hours=8, **ranges):
    spec = dataclasses.replace(DEFAULTS.incident_spec(), count=count, kinds=(kind,), **ranges)
    cells, truth = plan(spec, n=200_000, hours=hours, seed=seed)
    return cells, truth


def series_cells(cells, row):
    return cells[(cells["service"] == row.service) & (cells["environment"] == row.environment)].set_index("minute")


def in_window(frame, row):
    return frame[(frame.index >= row.start) & (frame.index < row.end)]


def test_a_latency_ramp_grows_over_its_window_to_its_magnitude():
    cells, truth = one_kind("latency_ramp")
    (row,) = truth.itertuples()
    assert 30 <= (row.end - row.start) / pd.Timedelta(minutes=1) <= 90
    factor = in_window(series_cells(cells, row), row)["latency_factor"].to_numpy()
    assert (np.diff(factor) > 0).all() and factor[0] < 1.05 and factor[-1] == pytest.approx(row.magnitude)
    assert (series_cells(cells, row).drop(in_window(series_cells(cells, row), row).index)["latency_factor"] == 1).all()


def test_an_error_ramp_grows_from_the_normal_rate_to_its_magnitude():
    cells, truth = one_kind("error_ramp")
    (row,) = truth.itertuples()
    rate = in_window(series_cells(cells, row), row)["error_rate"].to_numpy()
    normal = DEFAULT_SERVICES[row.service]["error_rate"]
    assert (np.diff(rate) > 0).all() and rate[0] < normal + 0.01 and rate[-1] == pytest.approx(row.magnitude)
    assert row.signal == "errors" and row.is_incident


def test_a_level_shift_holds_for_hours():
    cells, truth = one_kind("level_shift", hours=24)
    (row,) = truth.itertuples()
    assert (row.end - row.start) >= pd.Timedelta(hours=2)
    window = in_window(series_cells(cells, row), row)
    assert (window["latency_factor"] == row.magnitude).all() and 1.3 <= row.magnitude <= 2.0


def test_a_degraded_host_is_one_host_of_the_series_in_the_plan():
    cells, truth = one_kind("host_degradation")
    (row,) = truth.itertuples()
    assert 1 <= row.host_index <= HOSTS and 3.0 <= row.magnitude <= 6.0
    flagged = cells[cells["slow_host"] > 0]
    assert set(zip(flagged["service"], flagged["environment"])) == {(row.service, row.environment)}
    assert (flagged["slow_host"] == row.host_index).all() and (flagged["host_factor"] == row.magnitude).all()
    assert len(flagged) == (row.end - row.start) / pd.Timedelta(minutes=1)
    assert (cells["latency_factor"] == 1).all()  # the series as a whole is not slowed


def test_a_dependency_failure_is_errors_in_the_callee_and_latency_in_its_caller():
    cells, truth = one_kind("dependency_failure")
    callee, caller = truth.itertuples()
    assert callee.service in DEFAULT_SERVICES[caller.service]["calls"] and caller.upstream == callee.service
    assert (callee.environment, callee.start, callee.end) == (caller.environment, caller.start, caller.end)
    assert (callee.signal, caller.signal) == ("errors", "latency")
    callee_cells, caller_cells = in_window(series_cells(cells, callee), callee), in_window(series_cells(cells, caller), caller)
    assert (callee_cells["error_rate"] == callee.magnitude).all() and (callee_cells["latency_factor"] == 1).all()
    assert (caller_cells["latency_factor"] == caller.magnitude).all()
    assert (caller_cells["error_rate"] == DEFAULT_SERVICES[caller.service]["error_rate"]).all()


def test_a_dependency_failure_without_a_calling_service_is_left_out_of_the_rotation():
    spec = dataclasses.replace(DEFAULTS.incident_spec(), count=3, kinds=("dependency_failure", "latency_spike"))
    alone = {name: {k: v for k, v in service.items() if k != "calls"} for name, service in DEFAULT_SERVICES.items()}
    _, truth = plan(spec, n=200_000, hours=8, services=alone)
    assert truth["kind"].tolist() == ["latency_spike"] * 3
    _, truth = plan(spec, n=200_000, hours=8)
    assert truth["kind"].tolist() == ["dependency_failure"] * 2 + ["latency_spike", "dependency_failure",
                                                                   "dependency_failure"]


def test_a_benign_surge_raises_traffic_and_nothing_else_and_is_no_incident():
    cells, truth = one_kind("benign_surge", seed=5)
    (row,) = truth.itertuples()
    assert (row.is_incident, row.signal) == (False, "traffic") and 1.5 <= row.magnitude <= 3.0
    surge = series_cells(cells, row)
    others = cells[(cells["service"] != row.service) | (cells["environment"] != row.environment)]
    inside = in_window(surge, row)
    # requests per minute against the same series in the hour before, shape-corrected by its neighbours
    before = surge[(surge.index >= row.start - pd.Timedelta(hours=1)) & (surge.index < row.start)]
    neighbours = others.groupby("minute")["n"].sum()
    lift = (inside["n"].sum() / neighbours.loc[inside.index].sum()) / (before["n"].sum() / neighbours.loc[before.index].sum())
    assert lift == pytest.approx(row.magnitude, rel=0.15)
    assert (inside["error_rate"] == DEFAULT_SERVICES[row.service]["error_rate"]).all()
    assert (inside["latency_factor"] == 1).all()


def test_latency_follows_the_time_of_day():
    spec = dataclasses.replace(DEFAULTS.incident_spec(), count=0)
    cells, _ = plan(spec, n=10_000, hours=24, seasonality=0.15)
    by_hour = cells.groupby(cells["minute"].dt.hour)["latency_factor"].mean()
    assert by_hour[15] == pytest.approx(1.15, abs=0.01) and by_hour[3] == pytest.approx(0.85, abs=0.01)
    flat, _ = plan(spec, n=10_000, hours=24, seasonality=0.0)
    assert (flat["latency_factor"] == 1).all()


def test_the_default_mix_holds_every_kind_subtle_and_clear_cases():
    """The default profile: every kind twice, magnitudes spread so some fall below the 1.5x /
    5% / half-traffic bar the acceptance is measured at, and some above; all in ground truth."""
    settings = generate.GeneratorSettings(n_records=2_000_000)
    _, truth = plan_traffic(settings.n_records, settings.start, settings.duration_hours, settings.topology,
                            settings.environments, settings.incident_spec(), settings.seed,
                            hosts_per_service=settings.hosts_per_service,
                            latency_seasonality=settings.latency_seasonality)
    assert set(truth["kind"]) == set(INCIDENT_KINDS)
    assert (truth.groupby("kind").size().drop("dependency_failure") == 2).all()
    assert (truth[truth["kind"] == "benign_surge"]["is_incident"] == False).all()  # noqa: E712
    assert truth[truth["kind"] != "benign_surge"]["is_incident"].all()
    latency = truth[(truth["signal"] == "latency") & (truth["kind"] != "host_degradation")]["magnitude"]
    errors = truth[truth["signal"] == "errors"]["magnitude"]
    assert latency.between(1.3, 2.0).all() and (latency < 1.5).any() and (latency >= 1.5).any()
    assert errors.between(0.02, 0.2).all() and (errors < 0.05).any() and (errors >= 0.05).any()
    drops = truth[truth["kind"] == "traffic_drop"]["magnitude"]
    assert drops.between(0.3, 0.7).all() and (drops <= 0.5).any() and (drops > 0.5).any()
    # no two windows of one series closer than the gap that keeps them apart for the detector
    for _, series in truth.sort_values("start").groupby(["service", "environment"]):
        gaps = series["start"].iloc[1:].to_numpy() - series["end"].iloc[:-1].to_numpy()
        assert (gaps >= pd.Timedelta(minutes=90)).all()


def test_magnitudes_of_one_kind_are_spread_over_its_range():
    spec = dataclasses.replace(DEFAULTS.incident_spec(), count=4, kinds=("latency_spike",),
                               latency_multiplier=(1.0, 2.0))
    _, truth = plan(spec, n=400_000, hours=12)
    assert sorted((truth["magnitude"] - 1.0) * 4 // 1) == [0, 1, 2, 3]  # one in each quarter


def test_a_large_run_gets_tasks_of_bounded_size():
    assert generate.task_count(2_000_000, 2) == 2
    assert generate.task_count(10_000_000, 2) == 8
    assert generate.task_count(1_000, 16) == 16


def test_a_weighted_choice_falls_where_the_cumulative_weights_put_the_draw(spark):
    """Choices 1-4 weighted 0.1 / 0.2 / 0.3 / 0.4 (cumulative 0.1, 0.3, 0.6: the last is implied);
    a series with fewer choices has fewer weights, and its extra positions choose nothing."""
    rows = spark.createDataFrame([([0.1, 0.3, 0.6], u) for u in (0.0, 0.0999, 0.1, 0.29, 0.3, 0.59, 0.6, 0.999)]
                                 + [([0.5], 0.7), ([], 0.7)], "cum array<double>, u double")
    chosen = rows.select(generate.weighted_choice(F.col("cum"), F.col("u"), 4).alias("i")).collect()
    assert [row.i for row in chosen] == [1, 1, 2, 2, 3, 3, 4, 4, 2, 1]


def test_generated_endpoints_follow_their_weights(spark):
    records, _, _ = records_of(spark)
    service = "checkout"
    weights = {name.split(" ", 1)[1]: spec[1] for name, spec in DEFAULT_SERVICES[service]["endpoints"].items()}
    counts = {row.endpoint: row["count"] for row in records.where(F.col("service") == service)
              .groupBy("endpoint").count().collect()}
    total, weight_total = sum(counts.values()), sum(weights.values())
    assert set(counts) == set(weights)
    for endpoint, weight in weights.items():
        assert abs(counts[endpoint] / total - weight / weight_total) < 0.03, (endpoint, counts, weights)

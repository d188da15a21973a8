"""The generator: deterministic, incidents visible in the data, bad lines counted exactly."""

import dataclasses

import pandas as pd
import pytest
from pyspark.sql import functions as F

from loganalysis.metrics import validation
from loganalysis.sources import generate
from loganalysis.sources.traffic_plan import DEFAULT_SERVICES, plan_traffic

ENVS = {"prod": 0.7, "staging": 0.2, "dev": 0.1}
N = 60_000  # enough for each injected incident to stand out of its series' sampling noise
SMALL = 5_000  # enough to compare two generations record by record
SPEC = dataclasses.replace(generate.GeneratorSettings().incident_spec(), count=3)


def lines(spark, partitions, seed=11, rate=0.01, n=N):
    spec = SPEC if n == N else dataclasses.replace(SPEC, count=0)
    cells, incidents = plan_traffic(n, "2026-11-02T00:00:00Z", 4, DEFAULT_SERVICES, ENVS, spec, seed)
    pools = generate.value_pools(seed, DEFAULT_SERVICES, ENVS, 3)
    return generate.generate_lines(spark, cells, DEFAULT_SERVICES, pools, seed, rate, partitions), incidents


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("gen") / "raw")
    df, incidents = lines(spark, 3)
    df.write.partitionBy("service", "environment").text(out)
    records = validation.validate_records(validation.read_raw_records(spark, out))
    return out, incidents, records


def test_same_seed_same_records_whatever_the_partitioning(spark):
    first, _ = lines(spark, 2, n=SMALL)
    second, _ = lines(spark, 5, n=SMALL)
    assert first.count() == SMALL
    assert first.exceptAll(second).count() == 0 and second.exceptAll(first).count() == 0


def test_another_seed_gives_other_records(spark):
    first, _ = lines(spark, 2, seed=11, n=SMALL)
    other, _ = lines(spark, 2, seed=12, n=SMALL)
    assert first.select("value").exceptAll(other.select("value")).count() > SMALL * 0.99


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


def test_every_incident_is_visible_in_the_data(written):
    _, incidents, records = written
    assert set(incidents["kind"]) == {"latency_spike", "error_burst", "traffic_drop"}
    for incident in incidents.itertuples():
        inside, outside = _window(records, incident, True), _window(records, incident, False)
        if incident.kind == "latency_spike":
            ratio = (inside.agg(F.mean("response_time_ms")).first()[0]
                     / outside.agg(F.mean("response_time_ms")).first()[0])
            assert ratio >= incident.magnitude * 0.85, (incident, ratio)  # sampling noise on small data
        elif incident.kind == "error_burst":
            rate = inside.where("status_code >= 500").count() / inside.count()
            assert rate >= incident.magnitude * 0.75, (incident, rate)
        else:
            minutes = (incident.end - incident.start) / pd.Timedelta(minutes=1)
            rate_in = inside.count() / minutes
            rate_out = outside.count() / (240 - minutes)
            assert rate_in <= rate_out * (incident.magnitude + 0.25), (incident, rate_in, rate_out)

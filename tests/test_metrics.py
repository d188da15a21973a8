"""Metrics against independent pandas/numpy computations, and DataFrame vs RDD agreement."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pyspark.sql import functions as F, types as T
from pyspark.testing import assertDataFrameEqual

from loganalysis.metrics import rdd_summary, service_metrics
from loganalysis.core.schema import LOG_SCHEMA

T0 = datetime(2026, 11, 2, 10, 0, 0)


def records(spark, rows):
    """rows: (service, environment, status, latency, seconds after T0, message, endpoint)."""
    full = [dict(timestamp=T0 + timedelta(seconds=sec), service=s, environment=e, status_code=st_,
                 response_time_ms=lat, message=msg, endpoint=ep)
            for s, e, st_, lat, sec, msg, ep in rows]
    return spark.createDataFrame([tuple(r.get(f) for f in LOG_SCHEMA.names) for r in full], LOG_SCHEMA)


@pytest.fixture(scope="module")
def as_clean_logs(tmp_path_factory):
    """Records written as the metrics stage writes clean_logs: the RDD summary reads the files."""
    def write(df) -> str:
        path = str(tmp_path_factory.mktemp("clean_logs"))
        df.write.mode("overwrite").parquet(path)
        return path
    return write


EDGE_ROWS = [
    ("api", "prod", 200, 10.0, 0, "ok", "/a"),
    ("api", "prod", 503, 30.0, 30, "upstream timeout", "/a"),
    ("api", "prod", 404, None, 70, "not found", "/b"),   # null latency
    ("api", "prod", 200, 20.0, 75, "ok", "/b"),
    ("api", "prod", 500, 50.0, 130, "upstream timeout", "/b"),
    ("solo", "dev", 200, 7.0, 5, "ok", "/s"),            # a series with one record
    ("down", "prod", 500, 100.0, 1, "boom", "/d"),       # all errors
    ("down", "prod", 502, 300.0, 2, "boom", "/d"),
    ("api", "staging", None, None, 3, "?", "/a"),        # no status, no latency
]


def pandas_summary(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["service", "environment", "status", "latency", "sec", "msg", "ep"])
    out = []
    for (service, env), g in df.groupby(["service", "environment"]):
        lat = g["latency"].dropna().to_numpy(dtype=float)
        status = g["status"].dropna()
        n = len(g)
        pct = (lambda q: float(np.percentile(lat, q))) if len(lat) else (lambda q: None)
        out.append({"service": service, "environment": env, "requests": n,
                    "errors_5xx": int((status >= 500).sum()), "error_rate_5xx": (status >= 500).sum() / n,
                    "errors_4xx": int(status.between(400, 499).sum()),
                    "error_rate_4xx": status.between(400, 499).sum() / n,
                    "mean_ms": float(lat.mean()) if len(lat) else None,
                    "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
                    "max_ms": float(lat.max()) if len(lat) else None})
    return pd.DataFrame(out)


def test_summary_matches_pandas_on_edge_cases(spark):
    actual = service_metrics.summarize(records(spark, EDGE_ROWS)).toPandas()
    expected = pandas_summary(EDGE_ROWS)
    assert rdd_summary.compare_summaries(expected, actual, rtol=1e-12).empty
    assert len(actual) == 4


def test_rdd_summary_matches_pandas_on_edge_cases(spark, as_clean_logs):
    actual = rdd_summary.summarize_rdd(spark, as_clean_logs(records(spark, EDGE_ROWS).repartition(3)))
    differences = rdd_summary.compare_summaries(pandas_summary(EDGE_ROWS), actual, rtol=1e-12)
    assert differences.empty, differences


def test_an_empty_environment_has_no_row_and_compares_as_absent(spark, as_clean_logs):
    # "solo" runs in dev only: no prod, no staging rows, so nothing to rank it against
    summary = service_metrics.summarize(records(spark, EDGE_ROWS))
    assert summary.where("service = 'solo'").select("environment").collect() == [("dev",)]
    assert rdd_summary.summarize_rdd(spark, as_clean_logs(records(spark, EDGE_ROWS))).query(
        "service == 'solo'")["environment"].tolist() == ["dev"]
    comparison = {(r.service, r.environment): r for r in service_metrics.environment_comparison(summary).collect()}
    assert set(comparison) == {("api", "prod"), ("api", "staging"), ("solo", "dev"), ("down", "prod")}
    assert comparison[("solo", "dev")].error_rate_vs_prod is None
    assert comparison[("solo", "dev")].p95_ratio_vs_prod is None
    # api staging has no latency at all: a null ratio, not zero; prod against itself: 1 and 0
    assert comparison[("api", "staging")].p95_ratio_vs_prod is None
    assert comparison[("api", "prod")].p95_ratio_vs_prod == pytest.approx(1.0)
    assert comparison[("api", "prod")].error_rate_vs_prod == pytest.approx(0.0)


def test_compare_summaries_reports_a_real_difference():
    left = pandas_summary(EDGE_ROWS)
    right = left.copy()
    right.loc[0, "p95_ms"] += 0.5
    diff = rdd_summary.compare_summaries(left, right, rtol=1e-9)
    assert list(diff["metric"]) == ["p95_ms"]


def test_exact_percentile_interpolates_like_numpy():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 9.0, 9.0]
    distinct, counts = rdd_summary.histogram(np.array(values), np.ones(len(values), dtype=np.int64))
    assert distinct.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0] and counts.tolist() == [2, 1, 1, 1, 1, 1, 3]
    for q in (0.0, 0.1, 0.5, 0.95, 0.99, 1.0):
        assert rdd_summary.exact_percentile(distinct, counts, q) == pytest.approx(np.percentile(values, q * 100))
    assert rdd_summary.exact_percentile(np.array([]), np.array([], dtype=np.int64), 0.5) is None


def test_timeseries_buckets_and_rates(spark):
    ts = service_metrics.timeseries(records(spark, EDGE_ROWS), 60).where("service = 'api' AND environment = 'prod'")
    expected = spark.createDataFrame(
        [("api", "prod", T0, 60, 2, 1, 0.5, 20.0, 2, 40.0, 1000.0),
         ("api", "prod", T0 + timedelta(minutes=1), 60, 2, 0, 0.0, 20.0, 1, 20.0, 400.0),  # one null latency
         ("api", "prod", T0 + timedelta(minutes=2), 60, 1, 1, 1.0, 50.0, 1, 50.0, 2500.0)],
        "service string, environment string, bucket timestamp, bucket_seconds int, requests long, "
        "errors_5xx long, error_rate double, mean_ms double, latency_count long, latency_sum double, "
        "latency_sum_sq double")
    assertDataFrameEqual(ts.drop("p95_ms"), expected, rtol=1e-9)


def test_latency_sums_do_not_depend_on_the_order_spark_adds_them_in(spark):
    # In doubles, 1e16 + 1 - 1e16 is 0 or 2 depending on the order; exactly, the four sum to 2.
    latencies = [1e16, 1.0, -1e16, 1.0]
    orders = [latencies, latencies[::-1], [1.0, 1.0, 1e16, -1e16]]
    results = set()
    for order in orders:
        df = (spark.createDataFrame([(i, v) for i, v in enumerate(order)], "i int, response_time_ms double")
              .repartition(4, "i"))
        row = df.agg(service_metrics.exact_sum("response_time_ms").alias("s"),
                     service_metrics.exact_mean("response_time_ms").alias("m")).first()
        results.add((row.s, row.m))
    assert results == {(2.0, 0.5)}


def test_a_latency_sum_past_the_long_range_stops_with_an_error_not_a_wrong_mean(spark):
    from pyspark.errors import ArithmeticException
    df = spark.createDataFrame([(5e18,), (5e18,)], "response_time_ms double")
    with pytest.raises(ArithmeticException, match="OVERFLOW"):
        df.agg(service_metrics.exact_mean("response_time_ms")).collect()


def test_a_buckets_latency_sums_do_not_depend_on_the_order_of_its_records(spark):
    latencies = [1e16, 1.0, -1e16, 1.0, 3.0]
    sums = set()
    for order in (latencies, latencies[::-1], [1.0, 1.0, 3.0, 1e16, -1e16]):
        rows = [("api", "prod", 200, v, i, "ok", "/a") for i, v in enumerate(order)]
        ts = service_metrics.timeseries(records(spark, rows).repartition(3), 60).first()
        sums.add((ts.latency_sum, ts.latency_sum_sq, ts.mean_ms))
    assert len(sums) == 1


def test_records_per_hour_counts_every_record_of_a_service_over_its_environments(spark):
    rows = EDGE_ROWS + [("api", "prod", 500, 5.0, 3600, "late", "/a")]  # the next hour
    per_hour = service_metrics.records_per_hour(records(spark, rows))
    expected = spark.createDataFrame(
        [("api", T0.replace(minute=0), 6, 2),  # prod and staging together; the staging row has no status
         ("api", T0.replace(minute=0) + timedelta(hours=1), 1, 1),
         ("down", T0.replace(minute=0), 2, 2), ("solo", T0.replace(minute=0), 1, 0)],
        "service string, hour timestamp, requests long, errors_5xx long")
    assertDataFrameEqual(per_hour, expected)
    # the same figures as rolling up the stage's per-minute series
    assertDataFrameEqual(per_hour, service_metrics.hourly_rollup(service_metrics.timeseries(records(spark, rows), 60)))


def test_timeseries_p95_is_the_numpy_percentile_of_each_bucket(spark):
    """A bucket's p95 is the smallest latency with at least 95% of the bucket at or below it
    (numpy's "inverted_cdf"); a bucket without latencies has none."""
    rng = np.random.default_rng(5)
    rows = [("api", "prod", 200, float(round(rng.lognormal(3, 1), 1)), int(sec), "ok", "/a")
            for sec in rng.integers(0, 180, 400)]
    rows += [("api", "prod", 200, None, 200, "ok", "/a")]  # a bucket of null latencies only
    full = service_metrics.timeseries(records(spark, rows), 60).toPandas().set_index("bucket")
    ts = full["p95_ms"]
    empty = full.loc[pd.Timestamp(T0 + timedelta(minutes=3))]  # second 200: the null latency's minute
    assert empty["latency_count"] == 0 and pd.isna(empty["latency_sum"]) and pd.isna(empty["latency_sum_sq"])
    frame = pd.DataFrame(rows, columns=["service", "environment", "status", "latency", "sec", "msg", "ep"])
    for minute, bucket in frame.groupby(frame["sec"] // 60):
        latencies = bucket["latency"].dropna().to_numpy()
        expected = np.percentile(latencies, 95, method="inverted_cdf") if len(latencies) else None
        actual = ts[pd.Timestamp(T0 + timedelta(minutes=int(minute)))]
        assert (actual is None or np.isnan(actual)) if expected is None else actual == expected


def test_nearest_rank_is_numpys_inverted_cdf_at_every_size(spark):
    rng = np.random.default_rng(11)
    arrays = [sorted(rng.normal(100, 30, n).round(1).tolist()) for n in range(0, 201)]
    got = [r.p for r in spark.createDataFrame([(a,) for a in arrays], "v array<double>")
           .select(service_metrics.nearest_rank(F.col("v"), 95).alias("p")).collect()]
    assert got == [np.percentile(a, 95, method="inverted_cdf") if a else None for a in arrays]


def test_top_error_messages_ranks_per_service(spark):
    top = service_metrics.top_error_messages(records(spark, EDGE_ROWS), 1).orderBy("service").collect()
    assert [(r.service, r.message, r.occurrences) for r in top] == [
        ("api", "upstream timeout", 2), ("down", "boom", 2)]


def test_top_error_messages_count_a_message_with_ids_as_one_kind_with_an_example(spark):
    failing = [("pay", "prod", 503, 10.0, 1, message, "/p") for message in
               ["reset order 18 after 3.5s", "reset order 17 after 2s", "reset order 9 after 40ms", "card declined",
                "reset order 17 after 2s", "card declined"]]
    top = service_metrics.top_error_messages(records(spark, failing), 5).orderBy("rank").collect()
    assert [(r.rank, r.message, r.occurrences, r.example) for r in top] == [  # the example: its most frequent line
        (1, "reset order <*> after <*>", 4, "reset order 17 after 2s"), (2, "card declined", 2, None)]  # nothing masked: no second copy


def test_top_error_endpoints(spark):
    top = service_metrics.top_error_endpoints(service_metrics.request_mix(records(spark, EDGE_ROWS)), 5).where("service = 'api'").orderBy("rank").collect()
    # over environments (the staging /a has no latency) and status codes, from the mix's parts
    assert [(r.endpoint, r.requests, r.errors_5xx, r.mean_ms) for r in top] == [("/a", 3, 1, 20.0), ("/b", 3, 1, 35.0)]


row_strategy = st.tuples(
    st.sampled_from(["a", "b", "c"]), st.sampled_from(["prod", "dev"]),
    st.one_of(st.none(), st.sampled_from([200, 201, 301, 404, 429, 500, 503])),
    st.one_of(st.none(), st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda x: round(x, 1))),
    st.integers(0, 3600), st.just("m"), st.just("/e"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row_strategy, min_size=1, max_size=60))
def test_dataframe_and_rdd_summaries_agree_on_any_input(spark, as_clean_logs, rows):
    df = records(spark, rows).repartition(3)
    differences = rdd_summary.compare_summaries(service_metrics.summarize(df).toPandas(),
                                                rdd_summary.summarize_rdd(spark, as_clean_logs(df)), rtol=1e-9)
    assert differences.empty, differences


LEVEL_ROWS = [  # (service, status, level, latency): application logs carry a level, no status
    ("worker", None, "INFO", 12.0), ("worker", None, "WARN", 30.0), ("worker", None, "ERROR", 55.0),
    ("worker", None, "error", 41.0), ("worker", None, "FATAL", None), ("worker", None, None, 9.0),
    ("worker", None, "DEBUG", 3.0), ("api", 503, "INFO", 80.0), ("api", 200, "ERROR", 20.0),
]


def level_records(spark):
    return spark.createDataFrame(
        [tuple(dict(timestamp=T0 + timedelta(seconds=i), service=s, environment="prod", status_code=status,
                    level=level, response_time_ms=latency).get(f) for f in LOG_SCHEMA.names)
         for i, (s, status, level, latency) in enumerate(LEVEL_ROWS)], LOG_SCHEMA)


@pytest.mark.parametrize("failure_levels, worker_failures", [(("ERROR", "FATAL"), 3), (("fatal",), 1), (("critical",), 1), ((), 0)])
def test_failures_of_records_without_a_status_come_from_their_level(spark, as_clean_logs, failure_levels,
                                                                    worker_failures):
    df = level_records(spark)
    summary = service_metrics.summarize(df, failure_levels).toPandas().set_index("service")
    # a status decides when there is one: the 503 failed, the 200 at ERROR did not
    assert summary.loc["api", "errors_5xx"] == 1
    assert summary.loc["worker", "errors_5xx"] == worker_failures
    assert summary.loc["worker", "error_rate_5xx"] == pytest.approx(worker_failures / 7)
    assert summary.loc["worker", "errors_4xx"] == 0  # a WARN is counted by level, not as a 4xx
    by_rdd = rdd_summary.summarize_rdd(spark, as_clean_logs(df), failure_levels)
    differences = rdd_summary.compare_summaries(summary.reset_index(), by_rdd, rtol=1e-9)
    assert differences.empty, differences
    ts = service_metrics.timeseries(df, 3600, failure_levels).where("service = 'worker'").collect()
    assert sum(row.errors_5xx for row in ts) == worker_failures
    top = service_metrics.top_error_messages(df, 5, failure_levels).where("service = 'worker'").collect()
    assert sum(row.occurrences for row in top) == worker_failures


def test_traffic_breakdown_matches_pandas_by_every_dimension(spark):
    rows = [dict(service="web", environment="prod", status_code=status, endpoint=endpoint, client_ip=client,
                 bytes_sent=size, level=level, timestamp=T0)
            for status, endpoint, client, size, level in [
                (200, "/a", "1.1.1.1", 100, None), (200, "/a", "1.1.1.1", 50, None), (404, "/b", "2.2.2.2", 10, None),
                (503, "/c", "3.3.3.3", None, None), (200, "/d", "1.1.1.1", 7, None), (408, "/a", "4.4.4.4", 0, None)]]
    rows.append(dict(service="app", environment="prod", status_code=None, endpoint=None, client_ip=None,
                     bytes_sent=None, level="ERROR", timestamp=T0))
    df = spark.createDataFrame([tuple(r.get(f) for f in LOG_SCHEMA.names) for r in rows], LOG_SCHEMA)
    got = service_metrics.traffic_breakdown(df, n=2).toPandas()

    expected = pd.DataFrame(rows)
    # a failure: a 5xx, or without a status an ERROR or FATAL level (the app line)
    expected["failed"] = (expected["status_code"] >= 500) | (expected["status_code"].isna() & (expected["level"] == "ERROR"))
    for dimension in service_metrics.BREAKDOWNS:
        want = (expected.dropna(subset=[dimension]).assign(value=lambda d: d[dimension].map(lambda v: str(int(v)) if isinstance(v, float) else str(v)))
                .groupby(["service", "environment", "value"])
                .agg(requests=("timestamp", "size"), bytes_sent=("bytes_sent", lambda b: b.sum(min_count=1)),
                     errors_4xx=("status_code", lambda s: int(s.between(400, 499).sum())),
                     errors_5xx=("failed", "sum"))
                .reset_index().sort_values(["requests", "value"], ascending=[False, True]))
        if dimension in service_metrics.TOP_ONLY:
            want = want.groupby(["service", "environment"]).head(2)
        mine = got[got["dimension"] == dimension].sort_values(["requests", "value"], ascending=[False, True])
        assert mine[["service", "value", "requests", "errors_4xx", "errors_5xx"]].values.tolist() == \
            want[["service", "value", "requests", "errors_4xx", "errors_5xx"]].values.tolist(), dimension
        assert mine["bytes_sent"].fillna(-1).tolist() == want["bytes_sent"].fillna(-1).tolist(), dimension
    assert got[(got["dimension"] == "status_code") & (got["value"] == "200")]["bytes_sent"].item() == 157


def _spacing(records: int, first: int, last: int, filled: dict) -> dict:
    return {"records": records, "first": first, "last": last,
            **{f"filled_{size}": filled.get(size, 0) for size in service_metrics.AUTO_BUCKETS}}


def test_auto_bucket_follows_the_datas_spacing_then_its_volume():
    import pandas as pd
    day = 86_400
    busy = _spacing(2_000_000, 0, 2 * day - 60, {60: 2880, 300: 576, 900: 192, 3600: 48, 21600: 8, 86400: 2})
    assert service_metrics.choose_bucket(pd.DataFrame([busy]), 10) == 60
    hourly_stamps = _spacing(10_000, 0, 84 * 3600 - 1, {60: 84, 300: 84, 900: 84, 3600: 84, 21600: 14, 86400: 4})
    assert service_metrics.choose_bucket(pd.DataFrame([hourly_stamps]), 5) == 3600  # 5 min: 11 of 12 empty
    every_5_minutes = _spacing(4032, 0, 14 * day - 300, {60: 4032, 300: 4032, 900: 1344, 3600: 336, 21600: 56, 86400: 14})
    assert service_metrics.choose_bucket(pd.DataFrame([every_5_minutes]), 1) == 300
    assert service_metrics.choose_bucket(pd.DataFrame([every_5_minutes]), 10) == 3600  # 12 values an hour
    sparse = _spacing(3, 0, 30 * day, {size: 3 for size in service_metrics.AUTO_BUCKETS})
    assert service_metrics.choose_bucket(pd.DataFrame([sparse]), 1) == 86400


def test_auto_bucket_from_records(spark):
    rows = [("web", "prod", 200, 1.0, 3600 * h + 300, "ok", "/") for h in range(24) for _ in range(20)]
    assert service_metrics.auto_bucket_seconds(records(spark, rows), 10) == 3600

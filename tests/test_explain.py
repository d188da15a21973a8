"""Incident explanations: over-represented values among an incident's affected requests."""

from datetime import datetime, timedelta

import pytest
from pyspark.sql import types as T

from loganalysis.detect import explain
from loganalysis.core.schema import LOG_SCHEMA

T0 = datetime(2026, 11, 2, 10, 0)


def enriched_frame(spark, rows):
    fields = [*LOG_SCHEMA.names, "z_score"]
    schema = T.StructType(LOG_SCHEMA.fields + [T.StructField("z_score", T.DoubleType())])  # .add() would mutate
    return spark.createDataFrame([tuple(r.get(f) for f in fields) for r in rows], schema)


def incidents_frame(spark, rows):
    """(id, service, environment, metric that moved, start, end) rows as incidents."""
    return spark.createDataFrame([(i, svc, env, [metric], start, end) for i, svc, env, metric, start, end in rows],
                                 "incident_id string, service string, environment string, metrics array<string>, "
                                 "start timestamp, end timestamp")


def test_error_incident_names_the_failing_endpoint(spark):
    rows = [dict(timestamp=T0 + timedelta(minutes=m), service="api", environment="prod", endpoint=f"/e{m % 4}",
                 status_code=200, host="h1", message="ok") for m in range(60)]
    rows += [dict(timestamp=T0 + timedelta(minutes=60, seconds=s), service="api", environment="prod",
                  endpoint="/pay", status_code=503, host="h2", message="upstream timeout") for s in range(10)]
    incidents = incidents_frame(spark, [("i1", "api", "prod", "error_rate", T0 + timedelta(minutes=60),
                                         T0 + timedelta(minutes=61))])
    top = {(r.dimension, r.value): r for r in explain.explain(enriched_frame(spark, rows), incidents, 3600).collect()
           if r.rank == 1}
    assert top[("endpoint", "/pay")].incident_share == 1.0 and top[("endpoint", "/pay")].baseline_share == 0.0
    assert ("status_code", "503") in top and ("host", "h2") in top


def test_hundreds_of_incidents_do_not_overflow_the_filter(spark):
    """A noisy series can have hundreds of incidents; the record filter must still build."""
    rows = [dict(timestamp=T0 + timedelta(minutes=m), service="api", environment="prod",
                 endpoint="/a" if m >= 0 else "/b", status_code=500, host="h", message="m") for m in range(-1, 5)]
    incidents = incidents_frame(spark, [(f"i{k}", "api", "prod", "error_rate", T0 + timedelta(minutes=k),
                                         T0 + timedelta(minutes=k, seconds=30)) for k in range(600)])
    explained = {r.incident_id for r in explain.explain(enriched_frame(spark, rows), incidents, 60).collect()}
    # Each of i0..i4 holds one record of /a, and so does the minute before it, except for i0,
    # whose minute before is /b: only i0 has anything over-represented.
    assert explained == {"i0"}


def test_the_records_filter_spans_each_incident_and_merges_the_closest_past_its_limit():
    from collections import namedtuple
    Window = namedtuple("Window", "service environment baseline_start end")
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    windows = [Window("api", "prod", at(0), at(2)), Window("api", "dev", at(1), at(3)),  # overlap: one span
               Window("api", "prod", at(10), at(11)), Window("api", "prod", at(4), at(5)),
               Window("db", "prod", at(0), at(1))]
    assert explain._spans(windows) == [("api", at(0), at(3)), ("api", at(4), at(5)), ("api", at(10), at(11)),
                                       ("db", at(0), at(1))]
    # past the limit the closest spans of a service merge first: 3-4 h apart before 5-10 h
    assert explain._spans(windows, 3) == [("api", at(0), at(5)), ("api", at(10), at(11)), ("db", at(0), at(1))]
    assert explain._spans(windows, 2) == [("api", at(0), at(11)), ("db", at(0), at(1))]
    assert explain._spans(windows, 1) is None  # two services: no span can cover both


def test_the_records_filter_keeps_each_incident_span_and_what_lies_between_only_past_the_limit(spark):
    from collections import namedtuple
    Window = namedtuple("Window", "service environment baseline_start end")
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    rows = [dict(timestamp=at(h), service=svc, environment=env, status_code=200)
            for h, svc, env in [(0.5, "api", "prod"), (5, "api", "prod"), (10.5, "api", "prod"),  # between: 5 h
                                (0.5, "db", "prod"), (10.5, "db", "prod"), (0.5, "api", "qa")]]
    records = enriched_frame(spark, rows)
    windows = [Window("api", "prod", at(0), at(1)), Window("api", "prod", at(10), at(11)),
               Window("db", "prod", at(0), at(1))]

    def kept(spans_allowed):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(explain, "MAX_SPANS", spans_allowed)
            return sorted((r.service, r.environment, r.timestamp) for r in
                          records.where(explain._within_any(windows)).collect())

    spans = [("api", "prod", at(0.5)), ("api", "prod", at(10.5)), ("db", "prod", at(0.5))]
    assert kept(3) == spans  # a span each: api's 5 h record between its incidents is left out
    assert kept(2) == sorted([*spans, ("api", "prod", at(5))])  # api's two spans merged
    assert kept(1) == sorted([*spans, ("api", "prod", at(5)), ("db", "prod", at(10.5))])  # one span for all
    assert not records.where(explain._within_any([])).count()


def test_nothing_is_claimed_without_a_baseline_or_of_a_field_the_records_lack(spark):
    """A CSV series' records carry no endpoint, host or message; after a gap in a sparse series
    the hour before an incident holds no records at all."""
    rows = [dict(timestamp=T0 + timedelta(minutes=m), service="api", environment="prod", status_code=200)
            for m in range(0, 60, 10)]
    rows += [dict(timestamp=T0 + timedelta(hours=3, minutes=m), service="api", environment="prod",
                  status_code=503) for m in range(5)]
    incidents = incidents_frame(spark, [("after_gap", "api", "prod", "error_rate", T0 + timedelta(hours=3),
                                         T0 + timedelta(hours=3, minutes=5)),
                                        ("in_traffic", "api", "prod", "error_rate", T0 + timedelta(minutes=30),
                                         T0 + timedelta(minutes=31))])
    rows += [dict(timestamp=T0 + timedelta(minutes=30, seconds=5), service="api", environment="prod", status_code=503)]
    found = {(r.incident_id, r.dimension, r.value)
             for r in explain.explain(enriched_frame(spark, rows), incidents, 3600).collect()}
    assert found == {("in_traffic", "status_code", "503")}


def test_latency_incident_names_the_slow_host_not_the_busy_one(spark):
    """One host of four goes slow: among the slow requests it is over-represented; traffic is not."""
    rows = [dict(timestamp=T0 + timedelta(minutes=m, seconds=h), service="api", environment="prod", endpoint="/a",
                 status_code=200, host=f"h{h}", message="ok", z_score=0.0) for m in range(60) for h in range(4)]
    rows += [dict(timestamp=T0 + timedelta(minutes=60 + m, seconds=h), service="api", environment="prod",
                  endpoint="/a", status_code=200, host=f"h{h}", message="ok", z_score=9.0 if h == 3 else 0.5)
             for m in range(5) for h in range(4)]
    incidents = incidents_frame(spark, [("i1", "api", "prod", "p95_ms", T0 + timedelta(minutes=60),
                                         T0 + timedelta(minutes=65))])
    top = {(r.dimension, r.rank): r for r in explain.explain(enriched_frame(spark, rows), incidents, 3600).collect()}
    assert top[("host", 1)].value == "h3" and top[("host", 1)].incident_share == 1.0
    assert top[("host", 1)].baseline_share == 0.25


def test_the_baseline_is_the_hour_before_or_twelve_buckets_never_more_than_the_window():
    assert explain.baseline_seconds(60, 86_400) == 3600
    assert explain.baseline_seconds(3600, 86_400) == 12 * 3600  # hourly buckets: half a day
    assert explain.baseline_seconds(86_400, 7 * 86_400) == 7 * 86_400  # capped by the window
    assert explain.baseline_seconds(60, 1800) == 1800

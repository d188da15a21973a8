"""Incident explanations: over-represented values among an incident's affected requests."""

from datetime import datetime, timedelta

from pyspark.sql import types as T

from loganalysis.detect import explain
from loganalysis.core.schema import LOG_SCHEMA

T0 = datetime(2026, 11, 2, 10, 0)


def enriched_frame(spark, rows):
    fields = [*LOG_SCHEMA.names, "z_score"]
    schema = T.StructType(LOG_SCHEMA.fields + [T.StructField("z_score", T.DoubleType())])  # .add() would mutate
    return spark.createDataFrame([tuple(r.get(f) for f in fields) for r in rows], schema)


def incidents_frame(spark, rows):
    return spark.createDataFrame(rows, "incident_id string, service string, environment string, metric string, "
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
    rows = [dict(timestamp=T0 + timedelta(minutes=m), service="api", environment="prod", endpoint="/a",
                 status_code=500, host="h", message="m") for m in range(5)]
    incidents = incidents_frame(spark, [(f"i{k}", "api", "prod", "error_rate", T0 + timedelta(minutes=k),
                                         T0 + timedelta(minutes=k, seconds=30)) for k in range(600)])
    explained = {r.incident_id for r in explain.explain(enriched_frame(spark, rows), incidents, 60).collect()}
    # Each of i0..i4 holds one record, and every record looks alike: only i0, with no baseline
    # record before it, has anything over-represented.
    assert explained == {"i0"}

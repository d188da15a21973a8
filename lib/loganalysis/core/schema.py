"""The canonical log record: the one schema every stage reads and writes."""

from pyspark.sql import types as T

LOG_SCHEMA = T.StructType(
    [
        T.StructField("timestamp", T.TimestampType()),  # UTC
        T.StructField("service", T.StringType()),
        T.StructField("environment", T.StringType()),
        T.StructField("host", T.StringType()),
        T.StructField("level", T.StringType()),
        T.StructField("status_code", T.IntegerType()),
        T.StructField("response_time_ms", T.DoubleType()),
        T.StructField("method", T.StringType()),
        T.StructField("endpoint", T.StringType()),
        T.StructField("client_ip", T.StringType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("message", T.StringType()),
        T.StructField("trace_id", T.StringType()),
        # Not in every source (the synthetic logs and access logs have it), so nullable.
        T.StructField("bytes_sent", T.LongType()),
    ]
)

LOG_FIELDS = [field.name for field in LOG_SCHEMA.fields]

# Level names as ecosystems write them -> the canonical ones (OpenTelemetry's severity texts), so
# "warning", "WARN" and "W" count alike and a failure level (service_metrics.FAILURE_LEVELS)
# means the same in a Python, Java or syslog log. Unknown names are kept, upper-cased.
LEVEL_ALIASES = {  # single letters: Android's logcat, klog; three: Serilog's {Level:u3}
    "TRACE": ("FINEST", "FINER", "VERBOSE", "VRB", "TRC", "TRCE", "V"),  # TRC, PNC: zerolog's console; TRCE: log15
    "DEBUG": ("FINE", "DBG", "DBUG", "D"),  # DBUG, EROR, CRIT: log15 (Grafana before 7)
    "INFO": ("INFORMATION", "INFORMATIONAL", "NOTICE", "CONFIG", "INF", "LOG", "I"),  # LOG: PostgreSQL's
    "WARN": ("WARNING", "WRN", "W"),
    "ERROR": ("ERR", "EROR", "ERRO", "SEVERE", "DPANIC", "E"),  # DPANIC: zap's development panic; ERRO: logrus
    "FATAL": ("CRITICAL", "CRIT", "ALERT", "EMERG", "EMERGENCY", "PANIC", "PNC", "FTL", "F", "A"),
}
CANONICAL_LEVEL = {alias: level for level, aliases in LEVEL_ALIASES.items() for alias in aliases}
# The names of three letters or more, longest first (an alternation then tries WARNING before
# WARN): the ones read as words in free text; a single letter is a level only where a layout
# puts one.
LEVEL_WORDS = sorted({name for name in (*LEVEL_ALIASES, *CANONICAL_LEVEL) if len(name) > 2}, key=lambda n: (-len(n), n))


def canonical_level_name(name: str) -> str:
    """`canonical_level` for one name given in a parameter (failure_levels: [critical])."""
    upper = name.strip().upper()
    return CANONICAL_LEVEL.get(upper, upper)


# Records and the lines to quarantine leave stages 01 and 02 in one write, split by this column.
OUTCOME = "outcome"
CLEAN, QUARANTINED = "clean", "quarantined"

# One time series per service and environment: the key of every per-series table.
SERIES_KEYS = ["service", "environment"]

# Without these a record cannot be placed on a service's timeline, so it is quarantined.
# Everything else may be null: an access log has no trace id, a metric series no status code.
REQUIRED_FIELDS = ("timestamp", "service", "environment")

CORRUPT_RECORD = "_corrupt_record"

# Raw lines are parsed with every field as a string, so a wrong-typed value is caught by
# an explicit cast (and quarantined with its field name) instead of silently nulled.
RAW_JSON_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in LOG_FIELDS]
    + [T.StructField(CORRUPT_RECORD, T.StringType())]
)


# Ground truth: incidents injected by the generator, or labelled windows of real data.
TRUTH_INCIDENT_SCHEMA = T.StructType(
    [
        T.StructField("incident_id", T.IntegerType()),
        T.StructField("kind", T.StringType()),
        T.StructField("service", T.StringType()),
        T.StructField("environment", T.StringType()),
        T.StructField("start", T.TimestampType()),
        T.StructField("end", T.TimestampType()),  # exclusive
        T.StructField("magnitude", T.DoubleType()),
    ]
)

# The generator's ground truth: the columns above, then what only an injected incident can
# say. Labelled windows of real data leave these null; a null is_incident means an incident.
INJECTED_INCIDENT_SCHEMA = T.StructType(
    TRUTH_INCIDENT_SCHEMA.fields
    + [
        T.StructField("is_incident", T.BooleanType()),  # False: a benign surge, where an alarm is false
        T.StructField("signal", T.StringType()),        # what the magnitude measures: latency, errors, traffic
        T.StructField("host", T.StringType()),          # the one host carrying it, when one does
        T.StructField("upstream", T.StringType()),      # a caller's row: the failing service it calls
    ]
)

# One row for all truth windows (kind "all") and one per kind; events and precision are for
# all kinds only (a false alarm belongs to no kind), but for the alarms on benign windows (a
# surge that is not an incident): counted on the "all" row and on their kind's row. Injected
# truth adds the rows "clear cases" and "subtle cases" (evaluate.CLEAR_MARKS).
EVALUATION_SCHEMA = T.StructType(
    [T.StructField("kind", T.StringType())]
    + [T.StructField(name, T.LongType()) for name in ("truth_windows", "warmup_windows", "caught", "events",
                                                         "false_events", "benign_windows", "benign_alarms")]
    + [T.StructField(name, T.DoubleType()) for name in ("precision", "recall", "f1", "mean_delay_minutes",
                                                           "mean_extent", "fragmentation", "false_alarms_per_day")]
)

TRUTH_MATCH_SCHEMA = T.StructType(
    INJECTED_INCIDENT_SCHEMA.fields
    + [T.StructField("clear", T.BooleanType()),  # magnitude at evaluate.CLEAR_MARKS or beyond; null: unknown
       T.StructField("in_warmup", T.BooleanType()), T.StructField("detected", T.BooleanType()),
       T.StructField("delay_minutes", T.DoubleType()), T.StructField("extent", T.DoubleType()),
       T.StructField("detections", T.LongType())]
)

"""The `regex` input format: any text log read by a Java regex whose named groups are
canonical fields, with an optional `line_filter` for the lines that are records."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, functions as F

from loganalysis.core.schema import LOG_FIELDS
from loganalysis.sources import container, logformat
from loganalysis.sources.fields import (CAPTURES, line_columns, matched, record_columns, service_column,
                                        typed_fields, with_constants, with_captures)


def regex_fields(pattern: str, needs_timestamp: bool = True) -> tuple[str, dict[str, int]]:
    """A regex format's pattern for Spark and its canonical field per group number; refuses a
    group name that is no canonical field and, unless the lines are timed elsewhere (a container
    runtime's time), a pattern without a timestamp group."""
    plain, names = logformat.named_groups(pattern)
    unknown = sorted(set(names) - set(LOG_FIELDS))
    if unknown:
        raise ValueError(f"pattern groups {unknown} are not canonical fields {LOG_FIELDS}")
    if needs_timestamp and "timestamp" not in names:
        raise ValueError("pattern needs a (?<timestamp>...) group: a record without a time cannot be placed")
    return plain, names


def pattern_ok(pattern: str, needs_timestamp: bool = True) -> bool:
    try:
        regex_fields(pattern, needs_timestamp)
        return True
    except ValueError:
        return False


def kept_by_line_filter(lines: DataFrame, line_filter: str) -> Column:
    """True for a line the filter finds (anywhere in it, as rlike does), every line without one,
    and a container's line whose wrapper is broken (quarantined, never passed over)."""
    if not line_filter:
        return F.lit(True)
    return F.coalesce(F.col("raw_line").rlike(line_filter), F.lit(False)) | container.broken_wrapper(lines)


def parse_regex(lines: DataFrame, pattern: str, line_filter: str = "", timestamp_format: str = "auto",
                duration_unit: str = "ms", service: str = "", environment: str = "",
                service_from: str = "constant", fill: dict | None = None) -> DataFrame:
    """Lines read with a Java regex whose named groups are canonical fields, e.g.
    `(?<timestamp>\\S+ \\S+) (?<level>[A-Z]+) (?<message>.*)`. Lines the `line_filter` does not
    find are not records: they are left out here and counted apart (`ingest.line_counts`); a line
    it lets through that the pattern does not match is quarantined as `unparseable:regex`."""
    runtime_time = container.runtime_time(lines)  # a container's lines: a time for those without one
    plain, names = regex_fields(pattern, needs_timestamp=runtime_time is None)
    records, capture = with_captures(lines.where(kept_by_line_filter(lines, line_filter)), plain, names.values())
    captured = {name: F.coalesce(capture(index), F.lit("")) for name, index in names.items()}
    text = with_constants(captured, {"environment": environment, **(fill or {})})
    text["service"] = service_column(text.get("service"), service, service_from)
    fields, field_problem = typed_fields(text, timestamp_format, duration_unit, runtime_time)
    reason = F.when(~matched(), F.lit("unparseable:regex")).otherwise(field_problem)
    return records.select(*record_columns(**fields), reason.alias("reason"), *line_columns(lines))


def with_message_fields(parsed: DataFrame, pattern: str, timestamp_format: str, duration_unit: str) -> DataFrame:
    """Records whose messages `pattern` reads (a Java regex, its groups named after canonical
    fields, as the `regex` format's) with the fields it captures in place of those the line's
    header gave (a syslog header, an application log's time and level): an access log a load
    balancer or web server sends to syslog (HAProxy's, nginx's `access_log syslog:`) has its
    status, latency and path in the message. Its own time, when the pattern has one, wins over
    the header's, as a line's own time wins over its container runtime's; a group that captures
    nothing keeps what the header gave; the level is the pattern's, else the status code's (a
    503 is an ERROR whatever the priority said), else the header's. A message the pattern does
    not find keeps its header's fields (HAProxy's `Server app/srv1 is DOWN` is an event, not a
    request: page 01 counts the records that carry a status code); a field it finds that is no
    number where one is due quarantines the line."""
    plain, names = regex_fields(pattern, needs_timestamp=False)
    found, capture = with_captures(parsed, plain, names.values(), source="message")
    text = {name: F.nullif(capture(index), F.lit("")) for name, index in names.items()}
    fields, problem = typed_fields(text, timestamp_format, duration_unit, runtime_time=F.col("timestamp"))
    replaced = {name: F.when(matched(), F.coalesce(fields[name], F.col(name))).otherwise(F.col(name))
                for name in {*names, "level"}}
    reason = F.coalesce("reason", F.when(matched(), problem))
    return found.withColumns({**replaced, "reason": reason}).drop(CAPTURES)

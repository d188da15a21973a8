"""Canonical record columns from text fields: what every reader of real logs shares.

A reader captures text (a regex group, a CSV cell, a JSON field) and builds its record with
these, so every format types, names and quarantines a field the same way.
"""

from __future__ import annotations

from typing import Callable, Iterable

from pyspark.sql import Column, DataFrame, functions as F, types as T

from loganalysis.core.schema import CANONICAL_LEVEL, LOG_SCHEMA
from loganalysis.sources import container
from loganalysis.sources.logformat import TIME_UNITS_MS


def nth(array: Column, position: int) -> Column:
    """1-based element, null when the array is shorter (a plain index raises under ANSI mode)."""
    return F.try_element_at(array, F.lit(position))


def level_for_status(status: Column) -> Column:
    return F.when(status >= 500, "ERROR").when(status >= 400, "WARN").otherwise("INFO")


def canonical_level(level: Column) -> Column:
    """A source's level name as its canonical severity (schema.LEVEL_ALIASES); null stays null."""
    name = F.upper(F.trim(level))
    lookup = F.create_map(*[F.lit(v) for pair in CANONICAL_LEVEL.items() for v in pair])
    return F.coalesce(lookup[name], F.nullif(name, F.lit("")))


# Joins a line's captures in one string: a control character no log line should hold (a line
# that does is unparseable, never misread).
CAPTURE_SEPARATOR = "\u001f"
CAPTURES = "_captures"


def with_captures(lines: DataFrame, pattern: str, groups: Iterable[int],
                  source: str = "raw_line") -> tuple[DataFrame, Callable[[int], Column]]:
    """`lines` with the text of each of `groups` from one match of `pattern` per line (or per
    value of the `source` column), and the function giving a group's column ("" for a group
    that took no part, null on a line the pattern does not find: `matched`). Why not
    `regexp_extract` per group: it runs the whole pattern once per group, and an access log's
    seven groups made parsing 7x slower than one pass (docs/performance.md). The line is
    rewritten to its captures (regexp_replace of the first match, as regexp_extract finds it,
    with the rest of the line), then split."""
    groups = sorted(set(groups))
    first_match = f"^(?s:.*?)(?:{pattern})(?s:.*)$"  # non-capturing: the group numbers stay
    replacement = CAPTURE_SEPARATOR + CAPTURE_SEPARATOR.join(f"${g}" for g in groups)
    rewritten = F.regexp_replace(source, first_match, replacement)
    found = F.startswith(rewritten, F.lit(CAPTURE_SEPARATOR)) & ~F.contains(source, F.lit(CAPTURE_SEPARATOR))
    captured = lines.select("*", F.when(found, F.split(rewritten, CAPTURE_SEPARATOR)).alias(CAPTURES))
    position = {g: i + 2 for i, g in enumerate(groups)}  # 1-based, after the empty text before the first separator
    return captured, lambda group: nth(F.col(CAPTURES), position[group])


def matched() -> Column:
    """True for a line `with_captures` found its pattern in."""
    return F.col(CAPTURES).isNotNull()


def line_columns(lines: DataFrame) -> list[str]:
    """What a reader hands on beside each record: the line and its file, and for a container's
    lines the runtime's time and the wrapper's problem (`container.unwrapped`)."""
    return [name for name in ("raw_line", "source_file", *container.CARRIED) if name in lines.columns]


def record_columns(**columns: Column) -> list[Column]:
    """Canonical columns in schema order; fields a source lacks are null."""
    return [columns.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in LOG_SCHEMA.fields]


# JSON numbers arrive as text, a float as Jackson writes it back (1.7936136015E9).
_PLAIN_NUMBER = r"^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$"


def epoch_by_magnitude(value: Column) -> Column:
    """A number as an epoch in seconds, milliseconds, microseconds or nanoseconds, told apart by
    its size: every date from 1973 to 5138 is 1e8-1e11 seconds, 1e11-1e14 milliseconds, and so on
    (zap writes seconds, pino and Java loggers milliseconds, Go's UnixNano nanoseconds)."""
    number = value.try_cast("decimal(38, 9)")  # exact: a double blurs nanoseconds into the next microsecond
    size = F.abs(number)
    micros = (F.when(size < 1e11, number * 1_000_000).when(size < 1e14, number * 1_000)
              .when(size < 1e17, number).otherwise(number / 1_000))
    return F.timestamp_micros(F.floor(micros).try_cast("long"))


def parse_timestamp(value: Column, timestamp_format: str) -> Column:
    """'auto' (a number is an epoch, `epoch_by_magnitude`; text is ISO 8601), 'iso' (ISO 8601,
    offsets honoured), 'epoch_s', 'epoch_ms', 'epoch_us', or a Java date pattern (fractions of a
    second as S: `yyyy-MM-dd HH:mm:ss.SSSSSS`)."""
    if timestamp_format == "auto":
        return F.when(value.rlike(_PLAIN_NUMBER), epoch_by_magnitude(value)).otherwise(value.try_cast(T.TimestampType()))
    if timestamp_format == "iso":
        return value.try_cast(T.TimestampType())
    if timestamp_format == "epoch_s":
        return F.timestamp_micros((value.try_cast("double") * 1_000_000).cast("long"))
    if timestamp_format == "epoch_ms":
        return F.timestamp_millis(value.try_cast("double").cast("long"))
    if timestamp_format == "epoch_us":
        return F.timestamp_micros(value.try_cast("long"))
    return F.try_to_timestamp(value, F.lit(timestamp_format))


def service_column(captured: Column | None, service: str, service_from: str) -> Column:
    """A captured service wins; else the file's name up to its first dot (service_from: file),
    or the container whose log the file is (service_from: container); else the `service`
    parameter."""
    from_path = {"constant": F.lit(None).cast("string"),
                 "file": F.regexp_extract("source_file", r"([^/.]+)[^/]*$", 1),
                 "container": container.container_name(F.col("source_file"))}
    if service_from not in from_path:
        raise ValueError(f"service_from {service_from!r} is for access logs; other formats take constant, file "
                         f"or container (or a field mapped to service)")
    fallback = F.coalesce(from_path[service_from], F.lit(service))
    return fallback if captured is None else F.coalesce(captured, fallback)


def own_or_runtime_time(own: Column, timestamp_format: str, runtime: Column | None) -> tuple[Column, Column]:
    """A record's time from its own text, else, for a container's line without one, its runtime's
    (`container.runtime_time`); and why it has none, as the start of a reason chain (null when
    it has one): missing_field:timestamp, or bad_timestamp for text that is no time."""
    timestamp = parse_timestamp(own, timestamp_format)
    if runtime is not None:
        timestamp = F.when(own.isNull(), runtime).otherwise(timestamp)
    reason = (F.when(own.isNull() & timestamp.isNull(), F.lit("missing_field:timestamp"))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    return timestamp, reason


def typed_fields(text: dict[str, Column], timestamp_format: str, duration_unit: str,
                 runtime_time: Column | None = None) -> tuple[dict, Column]:
    """Canonical fields read from text columns (absent ones null), and the reason a line with
    them must be quarantined (null when it is fine): a missing or unreadable timestamp, or a
    number that is not one. `runtime_time`: a container runtime's time, for lines without one."""
    column = lambda name: text.get(name, F.lit(None).cast("string"))  # noqa: E731
    timestamp, reason = own_or_runtime_time(column("timestamp"), timestamp_format, runtime_time)
    numbers = {"status_code": column("status_code").try_cast("int"),
               "response_time_ms": column("response_time_ms").try_cast("double") * TIME_UNITS_MS[duration_unit],
               "bytes_sent": column("bytes_sent").try_cast("long")}
    for name, value in numbers.items():
        reason = reason.when(column(name).isNotNull() & value.isNull(), F.lit(f"wrong_type:{name}"))
    status = numbers["status_code"]
    level = F.coalesce(canonical_level(column("level")), F.when(status.isNotNull(), level_for_status(status)))
    return {**text, "timestamp": timestamp, "level": level, **numbers}, reason


def with_constants(text: dict[str, Column], constants: dict) -> dict[str, Column]:
    """Captured text, empty as null, then constants (`fill`) for what is missing."""
    names = set(text) | {name for name, value in constants.items() if value not in (None, "")}
    return {name: F.coalesce(F.nullif(text[name], F.lit("")), F.lit(constants.get(name)))
            if name in text else F.lit(constants[name]) for name in names}


# The column `ingest.read_lines` gives each line: when its file was last modified.
FILE_MODIFIED = "file_modified"


def year_anchor(lines: DataFrame, end_date: str = "") -> Column:
    """The time a year-less time (syslog's BSD header, klog's, logcat's) is read against: the end
    of `end_date`; else a container runtime's time of the line (it has a year); else when the
    line's file was last modified (`ingest.read_lines`); else now."""
    if end_date:
        return F.to_timestamp(F.lit(end_date)) + F.expr("INTERVAL 1 DAY")
    known = [F.col(name) for name in (container.RUNTIME_TIME, FILE_MODIFIED) if name in lines.columns]
    return F.coalesce(*known, F.current_timestamp())


def yearless_time(text: Column, pattern: str, anchor: Column) -> Column:
    """A time without a year (`Nov 3 10:00:00` read with `MMM d HH:mm:ss`) in the latest year
    that does not put it more than a day after `anchor` (`year_anchor`; the day allows for a
    host's clock and zone)."""
    in_year = lambda y: F.try_to_timestamp(F.concat_ws(" ", y.cast("string"), text), F.lit(f"yyyy {pattern}"))  # noqa: E731
    this_year = in_year(F.year(anchor))
    earlier = [in_year(F.year(anchor) - back) for back in range(1, 5)]  # Feb 29 goes back to a leap year
    return F.coalesce(F.when(this_year <= anchor + F.expr("INTERVAL 1 DAY"), this_year), *earlier)

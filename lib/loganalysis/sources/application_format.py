"""The `application` input format: the log files programs write themselves, read without a
pattern.

An entry starts with a time in a layout loggers use (maybe bracketed), then its level somewhere
near the start, then the message:
    log4j, logback, Spring Boot, Kafka, ZooKeeper, Python's logging, Go's log, zap's console
    encoder, Serilog, MySQL, PostgreSQL, gunicorn, nginx's error log:
        2026-11-30 10:00:00,123 ERROR [main] c.e.Payment: card declined
        [2026-11-30 10:00:00,123] INFO [KafkaServer id=0] started (kafka.server.KafkaServer)
        2026-11-30 10:00:00,123 - payment - ERROR - card declined
        2026/11/30 10:00:00 [error] 812#812: *1 connect() failed (111: Connection refused)
    Spark's and Hadoop's log4j (`17/06/09 20:10:40 INFO ...`), HDFS (`081109 203615 148 INFO
    ...`), Tomcat (`30-Nov-2026 10:00:00.123 SEVERE [main] ...`), Apache's error log (`[Mon Nov
    30 10:00:00.123456 2026] [core:error] ...`), Rails (`E, [2026-11-30T10:00:00.123456 #12]
    ERROR -- : ...`), an epoch in seconds or milliseconds;
    Kubernetes components' klog (`E1130 10:00:00.123456   1 reflector.go:138] ...`) and Android's
    logcat (`11-30 10:00:00.123  1702  2395 E WindowManager: ...`), whose level is a letter of
    the layout and whose time has no year: read as a BSD syslog time's (`syslog_end_date`, else
    the file's last change).
Zone-less times are UTC, as everywhere here; a time without a date cannot be placed.

The level is the layout's letter, else a level name before the time (Cassandra's `ERROR
[ReadStage-2] 2026-...`), else the first one after it (`_LEVEL`); else none. Only names of three
letters or more, and ALERT only bracketed, as in syslog messages. The message is the line
without its time and its level name (klog's and logcat's: all of it after the layout).

A line that starts with no time is no entry of its own. A stack trace's lines (indented, `Caused
by: ...`, `java.lang.IllegalStateException: ...`, Python's `Traceback ...` and `ValueError: ...`,
Go's panic and frames, Laravel's and .NET's) belong to the entry before them: counted as not
records, not joined to it. Any other such line is quarantined as `unparseable:application`,
never guessed at.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, functions as F, types as T

from loganalysis.core.schema import LEVEL_WORDS
from loganalysis.sources import container, logformat
from loganalysis.sources.fields import (canonical_level, epoch_by_magnitude, line_columns, matched, record_columns,
                                        service_column, with_captures, with_constants, year_anchor,
                                        yearless_time)
from loganalysis.sources.regex_format import with_message_fields

_NAMES = "|".join(LEVEL_WORDS)
_WORDS = "|".join(name for name in LEVEL_WORDS if name != "ALERT")  # ALERT only bracketed, as in syslog
_HMS = r"\d{2}:\d{2}:\d{2}"
_FRACTION = r"(?:[.,]\d{1,9})?"
# An offset (`+01:00`, `+0100`, logback's `+01`), Z, UTC, or PostgreSQL's zone abbreviation
# before its `[pid]` (`10:00:00.123 CET [1234]`: log_timezone's name, read by Spark's cast).
_ZONE = (r"(?: ?(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)(?!\w)"
         rf"| (?!(?:{_NAMES})\b)[A-Z]{{3,5}}(?= \[\d))?")
# The layouts, each its own group; the ISO group also takes Go's and nginx's slashes.
_TIME = "|".join([
    rf"(?<iso>\d{{4}}[-/]\d{{2}}[-/]\d{{2}}[T ]{_HMS}{_FRACTION}{_ZONE})",
    rf"(?<short_year>\d{{2}}/\d{{2}}/\d{{2}} {_HMS}{_FRACTION})",  # log4j's yy/MM/dd (Spark, Hadoop)
    r"(?<compact>\d{6} \d{6})",  # yyMMdd HHmmss (HDFS)
    rf"(?<month_name>\d{{2}}-[A-Z][a-z]{{2}}-\d{{4}} {_HMS}{_FRACTION})",  # Tomcat
    rf"[A-Z][a-z]{{2}} (?<ctime>[A-Z][a-z]{{2}} [ \d]\d {_HMS}(?:\.\d{{1,9}})? \d{{4}})",  # Apache's error log
    rf"(?<clf>\d{{2}}/[A-Z][a-z]{{2}}/\d{{4}}:{_HMS} [+-]\d{{4}})",
    r"(?<epoch>1\d{9}(?:\.\d{1,9})?|1\d{12}(?:\.\d{1,6})?)",
    rf"(?<klog_level>[IWEF])(?<klog>\d{{4}} {_HMS}\.\d{{6}}) ++\d++ [^\]\s]*+\]",
    rf"(?<logcat>\d{{2}}-\d{{2}} {_HMS}\.\d{{3}}) ++\d++ ++\d++ (?<logcat_level>[VDIWEFA])",
    rf"(?<bsd>[A-Z][a-z]{{2}} [ \d]?\d {_HMS}(?:\.\d{{1,6}})?)",
])
# Rails' `I, [time #pid]`, a bracketed time; the time ends where a word would (or a `:`: Jetty's
# `10:00:00.123:INFO::main:`, Celery's `[... 10:00:00,123: ERROR/MainProcess]`).
_START = rf"(?:[DIWEFA], )?\[?(?:{_TIME})(?: #\d+)?\]?(?=[\s\[|,;:-]|$)"
# Some put the level first (Cassandra's `ERROR [ReadStage-2] 2026-11-30 ...`, Django's verbose).
_LEADING_LEVEL = rf"(?:(?=[A-Z])(?<lead_level>{_WORDS})\s++(?:\[[^\]]*+\]\s++)?)?"
# The first level name after the time: in any case where one leads (before a colon, a tab, two
# spaces: `error: ...`, zap's `<TAB>error<TAB>`, Windows' `, Info   CBS`; Monolog's
# `production.ERROR: ...`); else within 100 characters, in capitals after a space or bracket, or
# bracketed in any case (`[warn]`, `[core:error]`, mod_php's `[:error]`, `[WARN ]`). What comes
# before it (`pre`) stays in the message.
_FIRST = (rf"[\s,|:-]*+(?=(?i:{_WORDS})(?:\s?[:\]]|[\t|,/]|\s{{2}}|$))"
          rf"|\s*+[\w-]++\.(?=(?:{_NAMES}):)")
_CAPITALS = rf"(?:^|(?<=[\s\[<|(,]))(?=(?:{_WORDS})(?:[\s\]>|):,]|$))"
_BRACKETED = rf"[\[<](?:[\w-]*+:)?\s*+(?=(?i:{_NAMES})\s*+[\]>])"
_LEVEL = (rf"(?:{_FIRST}|(?<pre>(?s:.{{0,100}}?))(?:{_CAPITALS}|{_BRACKETED}))"
          rf"(?<level>(?i:{_NAMES}))(?:/[\w-]++)?\s*+[\]>]?[\s:|,\]>-]*+")  # Celery's ERROR/MainProcess
# The rest after the time and its separators is kept whole too (klog's and logcat's message,
# whose level is a letter).
_AFTER_START = rf"[\s,|:-]*+(?=(?<rest>(?s:.*+)))(?:{_LEVEL})?(?<message>(?s:.*+))$"
PATTERN = rf"^{_LEADING_LEVEL}{_START}{_AFTER_START}"
# A container's line may leave the time to its runtime (`kubectl logs --timestamps`).
PATTERN_TIME_OPTIONAL = rf"^{_LEADING_LEVEL}(?:{_START})?{_AFTER_START}"

# The lines of a stack trace or a panic: Java's (indented frames, `Caused by:`, the exception's
# class), Python's traceback, Go's panic (frames under a module path, `[signal ...]`), Laravel's
# and .NET's. An exception's class is qualified or followed by a colon: `Error connecting to
# db` is no trace line.
_CONTINUATION = (r"^(?:\s|Caused by: |Suppressed: |\.\.\. \d+ more|Exception in thread "
                 r"|Traceback \(most recent call last\):|During handling of the above exception"
                 r"|The above exception was the direct cause|(?:[\w$]++\.)++[\w$]*(?:Exception|Error|Throwable)\b"
                 r"|[\w$]*(?:Exception|Error|Throwable)(?::|$)"
                 r"|goroutine \d+ \[|panic: |panic\(|\[signal |created by |--- End of |\[stacktrace\]"
                 r"|\[previous exception\]|#\d+ |\"\}"
                 r"|(?:[\w.-]++/)*+[\w-]++(?:\.\w++|\.\(\*?\w++\))++(?:\[[^\]]*+\])?\(.*\)$)")

# How each layout's text is read: a Spark pattern, after a `,` before a fraction became a `.`.
_PATTERNS = {"short_year": "yy/MM/dd HH:mm:ss[.SSSSSSSSS]", "compact": "yyMMdd HHmmss",
             "month_name": "dd-MMM-yyyy HH:mm:ss[.SSSSSSSSS]", "ctime": "MMM d HH:mm:ss[.SSSSSSSSS] yyyy",
             "clf": "dd/MMM/yyyy:HH:mm:ss Z"}
_YEARLESS = {"klog": "MMdd HH:mm:ss.SSSSSS", "logcat": "MM-dd HH:mm:ss.SSS", "bsd": "MMM d HH:mm:ss[.SSSSSS]"}
_TIME_GROUPS = ("iso", *_PATTERNS, "epoch", *_YEARLESS)


def is_continuation(lines: DataFrame) -> Column:
    """True for a line of a stack trace or a panic (above); never for a container's line whose
    wrapper is broken (quarantined, never left out)."""
    return F.col("raw_line").rlike(_CONTINUATION) & ~container.broken_wrapper(lines)


def parse_application_log(lines: DataFrame, service: str = "", environment: str = "",
                          service_from: str = "constant", fill: dict | None = None, end_date: str = "",
                          message_pattern: str = "", timestamp_format: str = "auto",
                          duration_unit: str = "ms") -> DataFrame:
    """Application log lines to records (module docstring); continuation lines left out (counted
    by `ingest.line_counts`). `end_date` (YYYY-MM-DD): the day the logs end, for year-less
    times. `message_pattern`: `regex_format.with_message_fields` (a status code or a duration
    in the message). A container's line without a time of its own takes its runtime's."""
    runtime_time = container.runtime_time(lines)
    plain, groups = logformat.named_groups(PATTERN if runtime_time is None else PATTERN_TIME_OPTIONAL)
    records, capture = with_captures(lines.where(~is_continuation(lines)), plain, groups.values())
    text = {name: F.nullif(capture(index), F.lit("")) for name, index in groups.items()}
    letter = F.coalesce(text["klog_level"], text["logcat_level"])
    # The line without its time and its level name (`- orders - ERROR - declined` is `orders -
    # declined`; `request failed: ERROR 1045` keeps its start).
    message = F.concat(F.coalesce(text["pre"], F.lit("")), F.coalesce(text["message"], F.lit("")))
    captured = with_constants({"message": F.when(letter.isNotNull(), text["rest"]).otherwise(message)},
                              {"environment": environment, **(fill or {})})
    captured["service"] = service_column(None, service, service_from)
    timestamp = _time(text, year_anchor(lines, end_date))
    if runtime_time is not None:
        own = F.coalesce(*[text[name] for name in _TIME_GROUPS])
        timestamp = F.when(own.isNull(), runtime_time).otherwise(timestamp)
    fields = {**captured, "timestamp": timestamp,
              "level": F.coalesce(letter, text["lead_level"], text["level"])}
    reason = F.when(~matched(), F.lit("unparseable:application"))
    parsed = records.select(*record_columns(**fields), reason.alias("reason"), *line_columns(lines))
    # The time and the level read further once they are columns: an expression written twice is
    # computed twice.
    parsed = parsed.withColumns({
        "level": canonical_level(F.col("level")),
        "reason": F.coalesce("reason", F.when(F.col("timestamp").isNull(), F.lit("bad_timestamp")))})
    return with_message_fields(parsed, message_pattern, timestamp_format, duration_unit) if message_pattern else parsed


def _time(text: dict[str, Column], anchor: Column) -> Column:
    """The time of whichever layout the line has (the others' groups are null)."""
    iso = F.regexp_replace(F.regexp_replace(F.translate(text["iso"], "/,", "-."), r" ?(?:UTC|GMT)$", "Z"),
                           r" (?=[+-]\d)", "")
    spaced = lambda name: F.regexp_replace(F.translate(text[name], ",", "."), " +", " ")  # noqa: E731
    return F.coalesce(
        iso.try_cast(T.TimestampType()),
        *[F.try_to_timestamp(spaced(name), F.lit(pattern)) for name, pattern in _PATTERNS.items()],
        epoch_by_magnitude(text["epoch"]),
        *[yearless_time(spaced(name), pattern, anchor) for name, pattern in _YEARLESS.items()])

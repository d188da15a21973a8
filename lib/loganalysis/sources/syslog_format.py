"""The `syslog` input format: a host's system log, as syslog daemons and journald write it.

Every line is read by the header it has, so one file may mix them:
    RFC 3164 (BSD), rsyslog's and syslog-ng's default file format, `journalctl -o short`:
        Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; ... rhost=218.188.2.4
    rsyslog's RSYSLOG_FileFormat (Debian 12's default), `journalctl -o short-iso[-precise]`:
        2026-11-30T10:00:00.123456+01:00 web01 nginx[812]: 2026/11/30 10:00:00 [error] ...
    RFC 5424, as sent over the network and kept by some collectors:
        <165>1 2026-11-30T10:00:00.003Z web01 payment 4321 ID47 [origin ip="10.0.0.1"] card declined
each optionally after the priority (`<PRI>`), which the wire formats carry.

The service is the program that logged (the tag or APP-NAME up to a `/` or `(`: postfix/smtpd
and postfix/qmgr are postfix, sshd(pam_unix) is sshd); a line without one (`last message repeated
2 times`) is the `service` parameter's. The host is the line's. The level is the priority's
severity, else a level name leading the message (`error: ...`, `[warn]`, `ERROR ...`), as sshd,
postfix and many daemons write them; else none, and the line is not a failure.

A BSD time has no year and no zone. Its year is the latest that does not put the line more
than a day after its file was last modified (a file that spans New Year gets both years), or
`syslog_year`; its zone is UTC, as every zone-less time here. journalctl's own lines
(`-- Boot 1a2b... --`, `-- No entries --`) are not records.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, functions as F, types as T

from loganalysis.core.schema import CANONICAL_LEVEL, LEVEL_ALIASES
from loganalysis.sources import logformat
from loganalysis.sources.fields import (canonical_level, line_columns, matched, record_columns, service_column,
                                        with_captures, with_constants)

# The column `ingest.read_lines` gives each line: when its file was last modified.
FILE_MODIFIED = "file_modified"

_PRI = r"(?:<(?<pri>\d{1,3})>)?"
# RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG], "-" for
# a value left out; an SD-ELEMENT is [id name="value" ...], `\]` and `\"` escaped in values.
# Possessive quantifiers throughout: a long line must not make Java's regex engine backtrack.
_SD_ELEMENT = r'\[(?:[^\]"\\]++|\\.|"(?:[^"\\]++|\\.)*+")*+\]'
_RFC5424 = (r"\d{1,2} (?<time5424>\S++) (?<host5424>\S++) (?<app5424>\S++) \S++ \S++ "
            rf"(?:-|(?:{_SD_ELEMENT})++)(?: \uFEFF?(?<message5424>.*+))?")
# BSD or ISO time, HOSTNAME (empty where a relay left it out), TAG[PID]: (optional), MESSAGE.
_BSD_TIME = r"[A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
_ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
_TRADITIONAL = (rf"(?:(?<bsd_time>{_BSD_TIME})|(?<iso_time>{_ISO_TIME})) (?<host>\S*+) "
                r"(?:(?<tag>[^\s\[\]:]++)(?:\[[^\]\s]*+\])?: ?)?(?<message>.*+)")
PATTERN = rf"^{_PRI}(?:{_RFC5424}|{_TRADITIONAL})$"

# A priority is facility x 8 + severity; severities 0-7 by their syslog names (canonical_level
# reads them: EMERG, ALERT and CRIT are FATAL, NOTICE is INFO).
_SEVERITIES = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")
_MAX_PRIORITY = 191

# A level name leading the message: bracketed in any case (`[warn]`, `<error>`), before a colon
# in any case (`error:`, `Warning:`), or in capitals before a space (`ERROR ...`). Names of three
# letters or more: logcat's single letters would read "A user logged in" as FATAL.
_LEVEL_NAMES = "|".join(sorted({name for name in (*LEVEL_ALIASES, *CANONICAL_LEVEL) if len(name) > 2},
                               key=len, reverse=True))
_LEADING_LEVEL = (rf"^(?:[\[<](?=(?i:{_LEVEL_NAMES})[\]>])|(?=(?i:{_LEVEL_NAMES}):)|(?=(?:{_LEVEL_NAMES})\s))"
                  rf"((?i:{_LEVEL_NAMES}))")

# journalctl's notes between entries: -- Boot 1a2b... --, -- No entries --, -- Logs begin at ... --
_JOURNAL_NOTE = r"^-- .+ --$"


def is_journal_note(line: Column) -> Column:
    return line.rlike(_JOURNAL_NOTE)


def parse_syslog(lines: DataFrame, service: str = "", environment: str = "", service_from: str = "constant",
                 fill: dict | None = None, syslog_year: int = 0) -> DataFrame:
    """Syslog lines to records; a line no header above fits is quarantined as
    `unparseable:syslog`, a priority over 191 too; an RFC 5424 line without a time ("-") as
    `missing_field:timestamp`."""
    plain, groups = logformat.named_groups(PATTERN)
    records, capture = with_captures(lines.where(~is_journal_note(F.col("raw_line"))), plain, groups.values())
    text = {name: F.nullif(capture(index), F.lit("")) for name, index in groups.items()}
    either = lambda name: F.coalesce(F.nullif(text[f"{name}5424"], F.lit("-")), text[name])  # noqa: E731
    captured = with_constants({"host": either("host"), "message": either("message"),
                               "service": program(F.coalesce(F.nullif(text["app5424"], F.lit("-")), text["tag"]))},
                              {"environment": environment, **(fill or {})})
    captured["service"] = service_column(captured.get("service"), service, service_from)
    anchor = F.col(FILE_MODIFIED) if FILE_MODIFIED in lines.columns else F.current_timestamp()
    timestamp = F.coalesce(F.nullif(text["time5424"], F.lit("-")), text["iso_time"]).try_cast(T.TimestampType())
    timestamp = F.coalesce(timestamp, bsd_time(text["bsd_time"], anchor, syslog_year))
    priority = text["pri"].cast("int")
    reason = (F.when(~matched() | (priority > _MAX_PRIORITY), F.lit("unparseable:syslog"))
              .when(text["time5424"] == "-", F.lit("missing_field:timestamp"))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    fields = {**captured, "timestamp": timestamp, "level": level(priority, captured["message"])}
    return records.select(*record_columns(**fields), reason.alias("reason"), *line_columns(lines))


def program(tag: Column) -> Column:
    """The program a tag names: up to its first `/` or `(` (postfix/smtpd is postfix, a folder
    name cannot hold a `/`; sshd(pam_unix) is sshd)."""
    return F.nullif(F.regexp_extract(tag, r"^[^/(]*", 0), F.lit(""))


def level(priority: Column, message: Column) -> Column:
    """The priority's severity, else a level name leading the message, as a canonical level."""
    names = F.array(*[F.lit(name) for name in _SEVERITIES])
    severity = F.when(priority.isNotNull(), F.element_at(names, priority % 8 + 1))  # a null index is not null here
    leading = F.nullif(F.regexp_extract(message, _LEADING_LEVEL, 1), F.lit(""))
    return canonical_level(F.coalesce(severity, leading))


def bsd_time(text: Column, anchor: Column, year: int = 0) -> Column:
    """A BSD time (`Nov  3 10:00:00`) in `year`, or without one in the latest year that does not
    put it more than a day after `anchor` (when its file was last modified; the day allows for
    a host's clock and zone)."""
    in_year = lambda y: F.try_to_timestamp(  # noqa: E731
        F.concat_ws(" ", y.cast("string"), F.regexp_replace(text, " +", " ")), F.lit("yyyy MMM d HH:mm:ss[.SSSSSS]"))
    if year:
        return in_year(F.lit(year))
    this_year = in_year(F.year(anchor))
    earlier = [in_year(F.year(anchor) - back) for back in range(1, 5)]  # Feb 29 goes back to a leap year
    return F.coalesce(F.when(this_year <= anchor + F.expr("INTERVAL 1 DAY"), this_year), *earlier)

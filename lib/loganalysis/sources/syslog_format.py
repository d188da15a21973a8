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
severity, else a level name where daemons put it (`error: ...`, `[warn]`, nginx's
`2026/11/30 10:00:00 [error] ...`, `level=error`); else none, and the line is not a failure.

A BSD time has no year and no zone. Its year is the latest that does not put the line more
than a day after the logs end: `syslog_end_date`, else the runtime's time of a container's
line, else when its file was last modified (a file that spans New Year gets both years); its
zone is UTC, as every zone-less time here. journalctl's notes (`-- Boot 1a2b... --`), the
indented lines it continues a multi-line message with and syslogd's `-- MARK --` are not records.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, functions as F, types as T

from loganalysis.core.schema import LEVEL_WORDS
from loganalysis.sources import container, logformat
from loganalysis.sources.fields import (canonical_level, line_columns, matched, record_columns, service_column,
                                        with_captures, with_constants, year_anchor, yearless_time)
from loganalysis.sources.regex_format import with_message_fields

_PRI = r"(?:<(?<pri>\d{1,3})>)?"
# RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG], "-" for
# a value left out; an SD-ELEMENT is [id name="value" ...], `\]` and `\"` escaped in values.
# Possessive quantifiers throughout: a long line must not make Java's regex engine backtrack.
# A message is read with (?s): Java's `.` stops at U+2028 and U+0085, which a message may hold.
_SD_ELEMENT = r'\[(?:[^\]"\\]++|\\.|"(?:[^"\\]++|\\.)*+")*+\]'
_RFC5424 = (r"\d{1,2} (?<time5424>\S++) (?<host5424>\S++) (?<app5424>\S++) \S++ \S++ "
            rf"(?:-|(?:{_SD_ELEMENT})++)(?: \uFEFF?(?<message5424>(?s:.*+)))?")
# BSD or ISO time, HOSTNAME (empty where a relay left it out, or missing: `<13>Nov 30 10:00:00
# app[12]: ...` as `logger` sends it), TAG[PID]: (optional), MESSAGE. A tag starts with a
# letter: a network device's sequence number (`1234: *Nov 30 ...`, Cisco) or message id
# (`%ASA-4-106023: ...`) is the message, not a program.
_BSD_TIME = r"[A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
_ISO_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
_PROGRAM, _PID = r"[A-Za-z][^\s\[\]:]*+", r"\[[^\]\s]*+\]"
# No host where the next word is already a tag: `su: ...`, `app[12]:...` (an IPv6 host `fe80::1`
# is a host: its colon is followed by no space).
_NOT_A_TAG = rf"(?!{_PROGRAM}(?:{_PID})?:(?: |$)|{_PROGRAM}{_PID}:)"
_TRADITIONAL = (rf"(?:(?<bsd_time>{_BSD_TIME})|(?<iso_time>{_ISO_TIME})) (?:{_NOT_A_TAG}(?<host>\S*+) )?"
                rf"(?:(?<tag>{_PROGRAM})(?:{_PID})?: ?)?(?<message>(?s:.*+))")
PATTERN = rf"^{_PRI}(?:{_RFC5424}|{_TRADITIONAL})$"

# A priority is facility x 8 + severity; severities 0-7 by their syslog names (canonical_level
# reads them: EMERG, ALERT and CRIT are FATAL, NOTICE is INFO).
_SEVERITIES = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")
_MAX_PRIORITY = 191

# A level name leading the message, after what some daemons write first: nginx's error-log time
# (`2026/11/30 10:00:00 [error] 812#812: ...`), PostgreSQL's line numbers and its default
# log_line_prefix (`[5-1] 2026-11-30 10:00:00.123 UTC [1234] FATAL: ...`), a module (dovecot's
# `auth: Error: ...`, `imap(bob)<123><abc>: Error: ...`), rsyslog's `message repeated 3 times:
# [ ...]`; tried without any of them first (`error: config: ...` is an error). The
# name is bracketed in any case, maybe after a module (`[warn]`, `<error>`, Apache's
# `[proxy:error]`), before a colon in any case (`error:`, `Warning:`), or in capitals before a
# space (`ERROR ...`). Names of three letters or more: logcat's single letters would read
# "A user logged in" as FATAL; ALERT only in brackets: "Alert: ..." is often a sentence.
_NAMES, _UNBRACKETED = "|".join(LEVEL_WORDS), "|".join(n for n in LEVEL_WORDS if n != "ALERT")
_BEFORE_LEVEL = (r"(?:\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} "
                 r"|\[\d+-\d+\] (?:\d{4}-\d{2}-\d{2} [\d:.]+ \S+ \[\d+\] (?:\S*@\S* )?)?"
                 r"|[\w-]+(?:\([^)\s]*\))?(?:<[^>\s]*>)*: |message repeated \d+ times: \[ ?)??")
_LEADING_LEVEL = (rf"^{_BEFORE_LEVEL}(?:[\[<](?:[\w-]+:)?(?=(?i:{_NAMES})[\]>])|(?=(?i:{_UNBRACKETED}):)"
                  rf"|(?=(?:{_UNBRACKETED})\s))((?i:{_NAMES}))")
# A key=value message (Go's logfmt loggers) says its level anywhere: `ts=... level=error msg=...`
# (a level name only: `battery level=85` is no level).
_LOGFMT_LEVEL = rf"(?:^|\s)(?:level|lvl)=\"?((?i:{_NAMES}))\b"

# Lines that are no entry: journalctl's notes (-- Boot 1a2b... --, -- No entries --), the
# indented lines `journalctl -o short` continues a multi-line message with, and syslogd's
# -- MARK -- heartbeat.
_NOTE_OR_CONTINUATION = r"(?s)^(?:-- .+ --$|\s)"


def is_no_entry(lines: DataFrame) -> Column:
    """True for a line that is no entry (above); never for a container's line whose wrapper is
    broken (quarantined, never left out)."""
    line = F.col("raw_line")
    # endswith, not `.* -- MARK --$` in the regex: that backtracks over every line's length
    no_entry = line.rlike(_NOTE_OR_CONTINUATION) | F.endswith(line, F.lit(" -- MARK --"))
    return no_entry & ~container.broken_wrapper(lines)


def parse_syslog(lines: DataFrame, service: str = "", environment: str = "", service_from: str = "constant",
                 fill: dict | None = None, end_date: str = "", message_pattern: str = "",
                 timestamp_format: str = "auto", duration_unit: str = "ms") -> DataFrame:
    """Syslog lines to records; a line no header above fits is quarantined as
    `unparseable:syslog`, a priority over 191 too; an RFC 5424 line without a time ("-") as
    `missing_field:timestamp`. `end_date` (YYYY-MM-DD): the day the logs end, for BSD times'
    year; empty: when each file was last modified. `message_pattern`: `regex_format.with_message_fields`."""
    plain, groups = logformat.named_groups(PATTERN)
    records, capture = with_captures(lines.where(~is_no_entry(lines)), plain, groups.values())
    text = {name: F.nullif(capture(index), F.lit("")) for name, index in groups.items()}
    either = lambda name: F.coalesce(F.nullif(text[f"{name}5424"], F.lit("-")), text[name])  # noqa: E731
    captured = with_constants({"host": either("host"), "message": either("message"),
                               "service": program(F.coalesce(F.nullif(text["app5424"], F.lit("-")), text["tag"]))},
                              {"environment": environment, **(fill or {})})
    captured["service"] = service_column(captured.get("service"), service, service_from)
    timestamp = F.coalesce(F.nullif(text["time5424"], F.lit("-")), text["iso_time"]).try_cast(T.TimestampType())
    bsd = yearless_time(F.regexp_replace(text["bsd_time"], " +", " "), "MMM d HH:mm:ss[.SSSSSS]",
                        year_anchor(lines, end_date))
    timestamp = F.coalesce(timestamp, bsd)
    priority = text["pri"].cast("int")
    header_problem = (F.when(~matched() | (priority > _MAX_PRIORITY), F.lit("unparseable:syslog"))
                      .when(text["time5424"] == "-", F.lit("missing_field:timestamp")))
    fields = {**captured, "timestamp": timestamp, "level": level_name(priority, captured["message"])}
    parsed = records.select(*record_columns(**fields), header_problem.alias("reason"), *line_columns(lines))
    # The time and the level read further once they are columns: an expression written twice is
    # computed twice, and these hold regexes and date parsing (docs/performance.md: parsing 1M
    # lines 12.3-13.8 s before, 10.5-10.8 s after).
    parsed = parsed.withColumns({
        "level": canonical_level(F.col("level")),
        "reason": F.coalesce("reason", F.when(F.col("timestamp").isNull(), F.lit("bad_timestamp")))})
    return with_message_fields(parsed, message_pattern, timestamp_format, duration_unit) if message_pattern else parsed


def program(tag: Column) -> Column:
    """The program a tag names: up to its first `/` or `(` (postfix/smtpd is postfix, a folder
    name cannot hold a `/`; sshd(pam_unix) is sshd)."""
    return F.nullif(F.regexp_extract(tag, r"^[^/(]*", 0), F.lit(""))


def level_name(priority: Column, message: Column) -> Column:
    """The priority's severity, else a level name leading the message, else a logfmt message's
    level, as written (`canonical_level` reads it)."""
    names = F.array(*[F.lit(name) for name in _SEVERITIES])
    severity = F.when(priority.isNotNull(), F.element_at(names, priority % 8 + 1))  # a null index is not null here
    leading = F.nullif(F.regexp_extract(message, _LEADING_LEVEL, 1), F.lit(""))
    logfmt = F.when(message.contains("l="), F.nullif(F.regexp_extract(message, _LOGFMT_LEVEL, 1), F.lit("")))
    return F.coalesce(severity, leading, logfmt)

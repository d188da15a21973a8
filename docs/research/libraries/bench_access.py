"""Access-log parsing: the apachelogs package against the pattern logformat.py compiles.

Run with the scratch venv (no pyspark needed, no Spark started):
    /tmp/libvenv/bin/python docs/research/libraries/bench_access.py --repeat 100

Data: ../shared/data/access_logs/apache_combined_10k.log (10,000 real lines), in memory, repeated
--repeat times. Format: params/apache_logformat_example.yaml's log_format (the same layout as the
apache_combined preset).
1. Fields: on the 10,000 distinct lines, apachelogs.LogParser(format).parse(line) against the
   compiled pattern applied with Python `re` (re.ASCII, as Java's \\d \\S are ASCII), turned into
   the fields ingest.access_records keeps: client_ip, user_id ('-' -> None), timestamp (our
   'dd/MMM/yyyy:HH:mm:ss Z' read here with strptime: Spark's own reading is not run),
   request (the message), status_code, bytes_sent ('-' -> 0).
3. Edge cases (synthetic lines, not in the shared log): where the two read a line differently.
2. Speed: lines per second of apachelogs over all lines (single process, one core); for scale
   only, the same compiled pattern with Python `re` (search + the groups; not the Spark figure,
   which runs in the JVM and is measured elsewhere).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from datetime import datetime
from importlib.metadata import version

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import project_code  # noqa: E402

import apachelogs  # noqa: E402

ROOT = project_code.ROOT
LOG = ROOT.parent / "shared/data/access_logs/apache_combined_10k.log"
PARAMS = ROOT / "params/apache_logformat_example.yaml"
FIELDS = ("client_ip", "user_id", "timestamp", "request", "status_code", "bytes_sent")


def log_format_from_params() -> str:
    """The `log_format: '...'` line of the params file (no yaml package needed for one scalar)."""
    for line in PARAMS.read_text().splitlines():
        match = re.match(r"log_format:\s*'(.*)'\s*$", line)
        if match:
            return match.group(1).replace("''", "'")
    raise LookupError(f"no log_format in {PARAMS}")


def ours_fields(match: re.Match | None, groups: dict[str, int], time_group: int):
    if match is None:
        return None
    g = lambda role: match.group(groups[role])  # noqa: E731
    size = g("bytes_sent")
    return {"client_ip": g("client_ip"), "user_id": None if g("user_id") == "-" else g("user_id"),
            "timestamp": datetime.strptime(match.group(time_group), "%d/%b/%Y:%H:%M:%S %z"),
            "request": g("request"), "status_code": int(g("status_code")),
            "bytes_sent": 0 if size == "-" else int(size)}


def theirs_fields(entry):
    return {"client_ip": entry.remote_host, "user_id": entry.remote_user, "timestamp": entry.request_time,
            "request": entry.request_line, "status_code": entry.final_status,
            "bytes_sent": entry.bytes_sent or 0}


def edge_cases(log_format: str, ours_re: re.Pattern, theirs) -> None:
    base = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "%s" %s %s "%s" "%s"'
    ok = base % ("GET / HTTP/1.1", 200, 5, "-", "UA")
    cases = {
        "escaped quote in request": base % ('GET /a\\"b HTTP/1.1', 200, 5, "-", "UA"),
        "\\x escape in request": base % ("GET /caf\\xc3\\xa9 HTTP/1.1", 200, 5, "-", "UA"),
        "request '-'": base % ("-", 408, "-", "-", "-"),
        "bytes '-'": base % ("GET / HTTP/1.1", 304, "-", "-", "UA"),
        "IPv6 client": ok.replace("1.2.3.4", "2001:db8::1"),
        "trailing spaces": ok + "  ",
        "extra trailing field": ok + " 1234",
        "raw non-ASCII user agent": base % ("GET / HTTP/1.1", 200, 5, "-", "Mozilla \u00e9"),
        "status '-'": base % ("GET / HTTP/1.1", "-", 5, "-", "UA"),
        "month name not a month": ok.replace("May", "Foo"),
        "space in user name": ok.replace("- - [", "- a b ["),
    }
    print("\nedge cases (synthetic): ours = compiled pattern's groups 1-6 (Python re), apachelogs = its fields")
    for name, line in cases.items():
        match = ours_re.search(line)
        ours = "no match (unparseable)" if match is None else repr(match.groups()[:6])
        try:
            e = theirs.parse(line)
            other = repr((e.remote_host, e.remote_user, str(e.request_time), e.request_line, e.final_status,
                          e.bytes_sent))
        except Exception as error:  # noqa: BLE001
            other = f"raises {type(error).__name__}"
        print(f"  {name:26} ours:       {ours}\n  {'':26} apachelogs: {other}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=100, help="copies of the 10,000 lines timed")
    args = parser.parse_args()
    log_format = log_format_from_params()
    compiled = project_code.logformat().compile_format("apache", log_format)
    lines = LOG.read_text(encoding="utf-8").splitlines()
    print(f"project code at {project_code.commit()}, apachelogs {version('apachelogs')}, "
          f"python {sys.version.split()[0]}, load average {os.getloadavg()}")
    print(f"log_format: {log_format}\npattern:    {compiled.pattern}\ngroups:     {compiled.groups}")

    # Java-regex constructs in the pattern that Python's re must support
    constructs = {"possessive ++ / *+ (Python >= 3.11)": re.search(r"[+*]\+", compiled.pattern),
                  "atomic (?>...)": "(?>" in compiled.pattern, "\\Q..\\E": "\\Q" in compiled.pattern,
                  "named (?<n>..)": re.search(r"\(\?<[A-Za-z]", compiled.pattern)}
    print("constructs:", {k: bool(v) for k, v in constructs.items()})
    ours_re = re.compile(compiled.pattern, re.ASCII)
    unicode_re = re.compile(compiled.pattern)
    theirs = apachelogs.LogParser(log_format)
    print(f"apachelogs regex: {theirs._rgx.pattern[:300]}...")
    time_group = compiled.time_groups[0]

    # 1. fields on the distinct lines
    only_ours, only_theirs, neither, same, differ = [], [], [], 0, Counter()
    examples = {}
    ascii_vs_unicode = sum(bool(ours_re.search(l)) != bool(unicode_re.search(l)) for l in lines)
    for number, line in enumerate(lines, 1):
        mine = ours_fields(ours_re.search(line), compiled.groups, time_group)
        try:
            other = theirs_fields(theirs.parse(line))
        except apachelogs.InvalidEntryError:
            other = None
        if mine is None and other is None:
            neither.append(number)
        elif mine is None:
            only_theirs.append(number)
        elif other is None:
            only_ours.append(number)
        else:
            diff = [f for f in FIELDS if mine[f] != other[f]]
            if diff:
                for f in diff:
                    differ[f] += 1
                    examples.setdefault(f, (number, mine[f], other[f]))
            else:
                same += 1
    print(f"\nfields on {len(lines):,} lines: both parse and agree on all of {FIELDS}: {same:,}")
    print(f"  both parse, some field differs: {sum(1 for _ in differ) and sum(differ.values())} field values {dict(differ)}")
    for f, (number, a, b) in examples.items():
        print(f"    e.g. line {number} {f}: ours {a!r} / apachelogs {b!r}")
    print(f"  only ours parses: {len(only_ours)} {only_ours[:5]}")
    print(f"  only apachelogs parses: {len(only_theirs)} {only_theirs[:5]}")
    print(f"  neither parses: {len(neither)} {neither[:5]}")
    for number in (only_ours + only_theirs + neither)[:3]:
        print(f"    line {number}: {lines[number - 1][:220]}")
    print(f"  lines where re.ASCII changes the match: {ascii_vs_unicode}")
    status = Counter(ours_fields(ours_re.search(l), compiled.groups, time_group)["status_code"]
                     for l in lines if ours_re.search(l))
    print(f"  status counts (ours, strict lines): {dict(status.most_common())}")

    edge_cases(log_format, ours_re, theirs)

    # 2. speed
    data = lines * args.repeat
    start = time.perf_counter()
    parsed = 0
    for line in data:
        try:
            theirs.parse(line)
            parsed += 1
        except apachelogs.InvalidEntryError:
            pass
    theirs_s = time.perf_counter() - start
    start = time.perf_counter()
    matched = 0
    search = ours_re.search
    for line in data:
        m = search(line)
        if m is not None:
            m.groups()
            matched += 1
    ours_s = time.perf_counter() - start
    print(f"\nspeed over {len(data):,} lines (one process):")
    print(f"  apachelogs.LogParser.parse: {len(data) / theirs_s:>10,.0f} lines/s ({theirs_s:.1f} s, {parsed:,} parsed)")
    print(f"  compiled pattern, Python re (reference only): {len(data) / ours_s:>10,.0f} lines/s "
          f"({ours_s:.1f} s, {matched:,} matched)")


if __name__ == "__main__":
    main()

"""Container logs: the line a container wrote, out of the wrapper its runtime keeps it in.

A Kubernetes node keeps each container's output under /var/log/pods (/var/log/containers links
to the current files), written by containerd or CRI-O in the CRI format:
    2026-11-30T10:00:00.123456789Z stdout F {"level":"info","msg":"served","status":200}
Docker's default json-file driver wraps each line in JSON:
    {"log":"{\"level\":\"info\",...}\n","stream":"stdout","time":"2026-11-30T10:00:00.123456789Z"}
and `kubectl logs --timestamps` / `docker logs -t` put the time before the line:
    2026-11-30T10:00:00.123456789Z {"level":"info",...}
`container_log: cri | docker | timestamped` unwraps every line before the input format reads it,
so a container's JSON, logfmt, access or application lines are read as it wrote them. A line's
own time wins; a line without one (a bare print()) takes the runtime's, read where the line's
own would be (`fields.own_or_runtime_time`), so its other checks still stand.

Both runtimes cut a line longer than 16 KiB into parts (CRI: the `P` tag on every part but the
last; Docker: a `log` without its closing newline), and both streams share one file. The parts
are joined to the line that ends them, in file order: a file's lines are numbered as read
(`monotonically_increasing_id` counts up within a task, and a task reads its files in order),
the parts found in one pass over the lines' tags, and joined only when there are any. A run of
parts is the parts of one stream numbered one after the other; the line right after its last
must be the same stream's, or the run is not joined. A part is counted as not a record (the
line it belongs to is). Parts that are not joined are one line, quarantined as `partial_line`:
a file cut mid-line (rotation moves the rest into the next file), a line whose parts the other
stream interleaved, a line whose parts a task boundary splits (files past Spark's 128 MB split;
a kubelet rotates at 10 MB). The line that then ends them is read on its own (a JSON reader
quarantines it as malformed).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window as W, functions as F, types as T

RUNTIMES = ("cri", "docker", "timestamped")

# The columns an unwrapped line carries beside raw_line and source_file; readers hand them on
# (`fields.line_columns`), and `with_wrapper_problems` folds the problem into the reason.
RUNTIME_TIME = "runtime_time"
WRAPPER_PROBLEM = "wrapper_problem"
JOINED_PARTS = "joined_parts"
CARRIED = (RUNTIME_TIME, WRAPPER_PROBLEM)

# Joined text of all runs of parts up to this size is broadcast to the tasks; past it, joined by
# a shuffle (a service writing many lines over 16 KiB must not fill the driver's memory).
BROADCAST_RUNS_BYTES = 64 * 1024 * 1024

_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
_DOCKER_LINE = T.StructType([T.StructField("log", T.StringType()), T.StructField("stream", T.StringType()),
                             T.StructField("time", T.StringType())])


def _cri(line: Column) -> tuple[Column, Column, Column, Column, Column]:
    # <time> <stream> <tag> <line>; the tag is P (a part) or F (full), maybe with more after a ':'.
    fields = F.split(line, " ", 4)
    time, stream, tag = (F.try_element_at(fields, F.lit(i)) for i in (1, 2, 3))
    shaped = (F.size(fields) >= 3) & stream.isin("stdout", "stderr") & tag.rlike("^[PF](:|$)")
    text = F.coalesce(F.try_element_at(fields, F.lit(4)), F.lit(""))
    return shaped, time, stream, text, F.startswith(tag, F.lit("P"))


def _docker(line: Column) -> tuple[Column, Column, Column, Column, Column]:
    fields = F.from_json(line, _DOCKER_LINE)
    text = fields["log"]
    return text.isNotNull(), fields["time"], fields["stream"], F.regexp_replace(text, r"\r?\n$", ""), \
        ~F.endswith(text, F.lit("\n"))


def _timestamped(line: Column) -> tuple[Column, Column, Column, Column, Column]:
    fields = F.split(line, " ", 2)
    time = F.try_element_at(fields, F.lit(1))
    text = F.coalesce(F.try_element_at(fields, F.lit(2)), F.lit(""))
    return time.rlike(_RFC3339), time, F.lit(""), text, F.lit(False)


_UNWRAP = {"cri": _cri, "docker": _docker, "timestamped": _timestamped}


def unwrapped(lines: DataFrame, runtime: str) -> DataFrame:
    """`lines` (raw_line, source_file) as the lines the containers wrote: raw_line the line
    itself (the whole wrapper where it is not one: `unparseable:<runtime>`), `runtime_time`,
    `wrapper_problem` and `joined_parts` (the parts joined into it, counted as not records).
    Runs one job, over the lines' tags: it finds the parts, and when there are none (most
    inputs) no join is planned."""
    if runtime not in _UNWRAP:
        raise ValueError(f"container_log {runtime!r} is not one of {', '.join(RUNTIMES)}")
    numbered = _numbered(lines, *_UNWRAP[runtime](F.col("raw_line")), runtime)
    whole = numbered.where(~F.col("_part")).drop("_part")
    runs = _runs_of_parts(numbered.where(F.col("_part"))).localCheckpoint()  # small: computed once, here
    if runs.isEmpty():
        return whole.drop("_line", "_stream").withColumn(JOINED_PARTS, F.lit(0))
    return _parts_joined(whole, runs)


def _numbered(lines: DataFrame, shaped: Column, time: Column, stream: Column, text: Column, is_part: Column,
              runtime: str) -> DataFrame:
    """Each line unwrapped, with its number in file order (`_line`), its stream and whether it is
    a part. A wrapper without a readable time is not the runtime's."""
    runtime_time = time.try_cast(T.TimestampType())
    wrapped = F.coalesce(shaped & runtime_time.isNotNull(), F.lit(False))
    return lines.select(
        "source_file", F.monotonically_increasing_id().alias("_line"), F.when(wrapped, stream).alias("_stream"),
        F.when(wrapped, text).otherwise(F.col("raw_line")).alias("raw_line"),
        F.when(wrapped, runtime_time).alias(RUNTIME_TIME),
        F.when(~wrapped, F.lit(f"unparseable:{runtime}")).alias(WRAPPER_PROBLEM),
        F.coalesce(wrapped & is_part, F.lit(False)).alias("_part"))


def _runs_of_parts(parts: DataFrame) -> DataFrame:
    """Consecutive parts of a file and stream as one row each: their text joined in order, their
    count, the first part's time, and `_next`, the number of the line that should end them."""
    # Within a run, line number minus rank is constant (gaps and islands); a part of the other
    # stream between two parts breaks the run, and neither half is then joined (see above).
    run = F.col("_line") - F.row_number().over(W.partitionBy("source_file", "_stream").orderBy("_line"))
    in_order = F.array_sort(F.collect_list(F.struct("_line", "raw_line")))
    return (parts.withColumn("_run", run).groupBy("source_file", "_stream", "_run")
            .agg(F.array_join(F.transform(in_order, lambda part: part["raw_line"]), "").alias("_head"),
                 F.count(F.lit(1)).alias("_parts"), F.min_by(RUNTIME_TIME, "_line").alias("_first_time"),
                 (F.max("_line") + 1).alias("_next")))


def _parts_joined(whole: DataFrame, runs: DataFrame) -> DataFrame:
    """Each run of parts put before the line that ends it (which keeps its own time: when the
    line was complete); a run no line of its stream ends, as one line of its own, quarantined."""
    keys = ["source_file", "_stream", "_line"]
    ends = runs.select("source_file", "_stream", F.col("_next").alias("_line"), "_head", "_parts")
    head_bytes = runs.agg(F.sum(F.length("_head"))).first()[0]
    small = F.broadcast if head_bytes <= BROADCAST_RUNS_BYTES else (lambda frame: frame)
    completed = whole.join(small(ends), keys, "left").select(
        "source_file", F.concat(F.coalesce("_head", F.lit("")), "raw_line").alias("raw_line"), RUNTIME_TIME,
        WRAPPER_PROBLEM, F.coalesce("_parts", F.lit(0)).alias(JOINED_PARTS))
    ended = (whole.join(F.broadcast(ends.select(*keys)), keys, "left_semi")
             .select("source_file", "_stream", F.col("_line").alias("_next")))
    unended = runs.join(ended, ["source_file", "_stream", "_next"], "left_anti").select(
        "source_file", F.col("_head").alias("raw_line"), F.col("_first_time").alias(RUNTIME_TIME),
        F.lit("partial_line").alias(WRAPPER_PROBLEM), (F.col("_parts") - 1).alias(JOINED_PARTS))
    return completed.unionByName(unended)


# Where each runtime keeps a container's log, and the name in that path:
#   /var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log
#   /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log (rotated: 0.log.20261130-101500)
#   /var/lib/docker/containers/<id>/<id>-json.log (no name there: the short id, as `docker ps` shows)
_CONTAINER_PATHS = (r"/[^/_]+_[^/_]+_([^/]+)-[0-9a-f]{64}\.log[^/]*$",
                    r"/[^/_]+_[^/_]+_[^/_]+/([^/]+)/\d+\.log[^/]*$",
                    r"/([0-9a-f]{12})[0-9a-f]{52}-json\.log[^/]*$")


def container_name(path: Column) -> Column:
    """The container a log file belongs to, by where its runtime keeps it; null elsewhere."""
    return F.coalesce(*[F.nullif(F.regexp_extract(path, pattern, 1), F.lit("")) for pattern in _CONTAINER_PATHS])


def runtime_time(lines: DataFrame) -> Column | None:
    """The runtime's time of each line, for a reader to give a line without its own; None when
    the lines are not a container's."""
    return F.col(RUNTIME_TIME) if RUNTIME_TIME in lines.columns else None


def broken_wrapper(lines: DataFrame) -> Column:
    """True for a container's line whose wrapper is not its runtime's (never for other lines):
    such a line is quarantined, never left out as not a record."""
    return F.col(WRAPPER_PROBLEM).isNotNull() if WRAPPER_PROBLEM in lines.columns else F.lit(False)


def with_wrapper_problems(parsed: DataFrame) -> DataFrame:
    """Records read from unwrapped lines, with the wrapper's problem, if any, as the reason
    (before the reader's: the text it read is not a line); the runtime's columns dropped."""
    return parsed.withColumn("reason", F.coalesce(WRAPPER_PROBLEM, "reason")).drop(*CARRIED)

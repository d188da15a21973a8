"""`python -m loganalysis bench`: each stage against its floor and against DuckDB, side by side.

At each size it generates synthetic logs with the default topology, then times, with the
pipeline's own Spark configuration and stage functions:
  generate           plan + records + JSON lines written (stages.generate_logs)
  faker loop         a plain Python loop calling Faker per record (a sample, as a rate)
  metrics            validate, quarantine, clean Parquet, every metric (stages.compute_metrics)
  floor: json        a bare Spark read of the raw JSON written straight to Parquet
  summary df / rdd   the summary with DataFrames, then with pair RDDs, on the clean records
  anomalies          series z-scores, incidents, explanations, enriched records (stages.detect_anomalies)
  floor: parquet     a bare read of the clean Parquet written back unchanged
  insights           the aggregates the report draws, brought to pandas
  duckdb metrics     DuckDB: raw JSON -> clean Parquet + the same summary metrics
  duckdb z-scores    DuckDB: the same bucketed series with trailing-window z-scores
  end to end         the whole run as a user starts it (`python -m loganalysis run` on the
                     default profile at this size, its own process: every stage and page),
                     against the sum of the floors and of the DuckDB steps above
  end to end, N series  the same run with the records spread over N services x 3 environments
                     (at the first size only), each stage against the default topology's; at
                     that size both whole runs alternate in ROUNDS rounds
  end to end, 52 NAB csv  `params/nab_example.yaml` on the 29 NAB series and copies of the 23
                     largest (at the first size only; when ../shared/data/nab is there)
Every step but the Faker loop, DuckDB and the insights runs in ROUNDS alternating rounds (the
whole runs too, at the first size); each reports its best run, and the table lists every run
beside it.
Driver peak memory is the Python driver process's resident set, sampled during each step.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psutil
import yaml

from loganalysis import stages
from loganalysis.metrics import rdd_summary, service_metrics, validation
from loganalysis.detect.anomalies import DetectorConfig
from loganalysis.core.paths import DataPaths
from loganalysis.core.schema import LOG_SCHEMA
from loganalysis.core.session import get_spark
from loganalysis.core.storage import read_parquet, require_complete
from loganalysis.sources.generate import GeneratorSettings
from loganalysis.sources.traffic_plan import DEFAULT_SERVICES

ENVIRONMENTS = {"prod": 0.7, "staging": 0.2, "dev": 0.1}
ROUNDS = 2  # alternating rounds of every step compared with another
MANY_SERVICES = 500  # x 3 environments: the many-series end-to-end run
NAB_COPIES = 23  # the 29 NAB files and copies of the 23 largest: 52 series, about 350k rows
PROFILES = Path(__file__).resolve().parents[3] / "params"


@contextmanager
def measured(result: dict):
    """Wall time and the driver process's peak RSS (sampled every 50 ms) of a block."""
    process = psutil.Process(os.getpid())
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        result["seconds"] = round(time.perf_counter() - started, 2)
        done.set()
        sampler.join()
        result["driver_peak_mb"] = round(peak[0] / 2**20, 1)


def faker_loop_rate(path: Path, sample: int = 20_000) -> float:
    """Records per second of the naive approach: Faker called for every record, one JSON line each."""
    import random

    from faker import Faker

    fake = Faker()
    fake.seed_instance(1)
    rng = random.Random(1)
    started = time.perf_counter()
    with open(path, "w") as out:
        for _ in range(sample):
            status = rng.choice([200, 200, 200, 201, 404, 500])
            out.write(json.dumps({
                "timestamp": fake.date_time_this_month().isoformat() + "Z", "service": rng.choice(list(DEFAULT_SERVICES)),
                "environment": rng.choice(list(ENVIRONMENTS)), "host": fake.hostname(), "level": "INFO",
                "status_code": status, "response_time_ms": round(rng.lognormvariate(4, 0.5), 1),
                "method": "GET", "endpoint": fake.uri_path(), "client_ip": fake.ipv4_public(),
                "user_id": fake.user_name(), "message": fake.sentence(), "trace_id": fake.uuid4().replace("-", ""),
                "bytes_sent": rng.randint(100, 50_000)}) + "\n")
    return sample / (time.perf_counter() - started)


def duckdb_metrics(raw: str, out: str) -> None:
    import duckdb

    columns = ", ".join(f"'{f.name}': '{_duck_type(f.dataType.simpleString())}'" for f in LOG_SCHEMA.fields)
    con = duckdb.connect()
    con.execute(f"""
        CREATE VIEW raw AS SELECT * FROM read_json('{raw}/**/*.txt', format='newline_delimited',
            columns={{{columns}}}, ignore_errors=true, hive_partitioning=false)""")
    con.execute(f"""COPY (SELECT * FROM raw WHERE timestamp IS NOT NULL AND service IS NOT NULL
        AND environment IS NOT NULL AND (status_code BETWEEN 100 AND 599 OR status_code IS NULL)
        AND (response_time_ms >= 0 OR response_time_ms IS NULL)) TO '{out}' (FORMAT parquet)""")
    con.execute(f"""SELECT service, environment, count(*) AS requests,
        count(*) FILTER (WHERE status_code >= 500) AS errors_5xx,
        count(*) FILTER (WHERE status_code BETWEEN 400 AND 499) AS errors_4xx,
        avg(response_time_ms), quantile_cont(response_time_ms, [0.5, 0.95, 0.99]), max(response_time_ms)
        FROM read_parquet('{out}') GROUP BY service, environment""").fetchall()


def duckdb_zscores(clean_parquet: str, window_minutes: int = 60) -> int:
    import duckdb

    return duckdb.connect().execute(f"""
        WITH series AS (
            SELECT service, environment, time_bucket(INTERVAL 1 MINUTE, timestamp) AS bucket,
                   count(*) AS requests, avg(response_time_ms) AS mean_ms
            FROM read_parquet('{clean_parquet}/**/*.parquet', hive_partitioning=true)
            GROUP BY ALL),
        scored AS (
            SELECT *, (mean_ms - avg(mean_ms) OVER w) / greatest(stddev_samp(mean_ms) OVER w, 1.0) AS z
            FROM series
            WINDOW w AS (PARTITION BY service, environment ORDER BY bucket
                         RANGE BETWEEN INTERVAL {window_minutes} MINUTES PRECEDING AND INTERVAL 1 MINUTE PRECEDING))
        SELECT count(*) FILTER (WHERE abs(z) >= 4) FROM scored""").fetchone()[0]


def _duck_type(spark_type: str) -> str:
    return {"timestamp": "TIMESTAMP", "string": "VARCHAR", "int": "INTEGER", "double": "DOUBLE",
            "bigint": "BIGINT"}[spark_type]


def best_run(timings: list[dict]) -> dict:
    """The fastest of a step's runs, with every run's seconds kept beside it."""
    best = dict(min(timings, key=lambda run: run["seconds"]))
    best["records_per_second"] = round(best["records"] / best["seconds"]) if best["seconds"] else None
    if len(timings) > 1:
        best["all_seconds"] = [run["seconds"] for run in timings]
    return best


def bench_size(spark, n_records: int, work: Path) -> list[dict]:
    paths = DataPaths(str(work / f"n{n_records}"))
    settings = GeneratorSettings(n_records=n_records)  # the default topology and incidents
    runs: dict[str, list[dict]] = {}

    def step(name: str, action, records: int = n_records) -> None:
        result = {"stage": name, "records": records}
        with measured(result):
            action()
        runs.setdefault(name, []).append(result)
        print(f"  {name:<18} {result['seconds']:>8.2f} s", flush=True)

    clean = None
    # The steps below are timed in alternating rounds, each keeping its best: a shared VM's timings
    # drift 20-40% between minutes, and a step timed once, right after a neighbour's burst,
    # would measure the neighbour. Each round regenerates the same records (the same seed) over
    # the last round's; the first generation is the first job of a cold JVM.
    for _ in range(ROUNDS):
        step("generate", lambda: stages.generate_logs(spark, paths, settings))
        # The json floor reads the raw logs bare, to time the read alone; checked whole here.
        require_complete(spark, paths.raw_logs)
        step("floor: json", lambda: spark.read.schema(LOG_SCHEMA).json(paths.raw_logs)
             .write.mode("overwrite").parquet(str(work / "floor_json")))
        step("metrics", lambda: stages.compute_metrics(spark, paths, 60, 5))
        clean = validation.read_clean_records(spark, paths.clean_logs)
        step("summary df", lambda: service_metrics.summarize(clean).toPandas())
        step("summary rdd", lambda: rdd_summary.summarize_rdd(spark, paths.clean_logs))
        step("floor: parquet", lambda: clean
             .write.mode("overwrite").parquet(str(work / "floor_parquet")))
        step("anomalies", lambda: stages.detect_anomalies(spark, paths, DetectorConfig()))
    faker_rate = faker_loop_rate(work / "faker_sample.jsonl")
    runs["faker loop"] = [{"stage": "faker loop", "records": 20_000, "seconds": round(20_000 / faker_rate, 2)}]
    step("insights", lambda: (read_parquet(spark, paths.metrics.summary).toPandas(),
                              read_parquet(spark, paths.metrics.timeseries).toPandas(),
                              read_parquet(spark, paths.anomalies.incidents).toPandas(),
                              service_metrics.latency_histogram(clean).toPandas()))
    step("duckdb metrics", lambda: duckdb_metrics(paths.raw_logs, str(work / f"duck_clean_{n_records}.parquet")))
    step("duckdb z-scores", lambda: duckdb_zscores(paths.clean_logs))

    rows = [best_run(timings) for timings in runs.values()]
    by_name = {r["stage"]: r for r in rows}
    ratios = {"metrics": ("floor: json", "duckdb metrics"), "anomalies": ("floor: parquet", "duckdb z-scores"),
              "summary rdd": ("summary df", None), "generate": (None, None)}
    for stage, (floor, peer) in ratios.items():
        if floor:
            by_name[stage]["ratio_to_floor"] = round(by_name[stage]["seconds"] / by_name[floor]["seconds"], 2)
        if peer:
            by_name[stage]["ratio_to_duckdb"] = round(by_name[stage]["seconds"] / by_name[peer]["seconds"], 2)
    by_name["generate"]["x_faker_loop"] = round(by_name["generate"]["records_per_second"] / faker_rate, 1)
    return rows


def many_services(count: int) -> dict:
    """`count` services shaped like the default ones (in rotation), sharing the traffic evenly
    by the default shares; no dependencies between them."""
    names = list(DEFAULT_SERVICES)
    return {f"{names[i % len(names)]}-{i:03d}":
            {**{key: value for key, value in DEFAULT_SERVICES[names[i % len(names)]].items() if key != "calls"},
             "traffic_share": DEFAULT_SERVICES[names[i % len(names)]]["traffic_share"] * len(names) / count}
            for i in range(count)}


def end_to_end(profile: dict, work: Path, label: str, stage: str, records: int) -> dict:
    """A run of `profile` by the runner, in its own process: its seconds and each stage's, from
    its manifest."""
    profile_path = work / f"run_{label}.yaml"
    profile_path.write_text(yaml.safe_dump(profile))
    run_id = f"bench-{label}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    reports = work / "reports"
    result = {"stage": stage, "records": records}
    with measured(result):
        finished = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile_path),
                                   "--reports", str(reports), "--run-id", run_id], capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the end-to-end run {label} failed: {finished.stderr[-2000:]}")
    manifest = json.loads((reports / run_id / "manifest.json").read_text())
    result["records_per_second"] = round(records / result["seconds"])  # the whole run's throughput
    result["run_seconds"] = manifest["seconds"]
    result["stage_seconds"] = {stage["name"]: stage["seconds"] for stage in manifest["stages"]}
    print(f"  {result['stage']:<18} {result['seconds']:>8.2f} s  " +
          ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["stage_seconds"].items()), flush=True)
    return result


def default_run(n_records: int, work: Path, label: str, spark_master: str, services: dict | None = None) -> dict:
    """The default profile at `n_records`, optionally over other `services`, end to end."""
    profile = yaml.safe_load((PROFILES / "default.yaml").read_text())
    profile.update(n_records=n_records, data_root=str(work / f"run_{label}"), spark_master=spark_master)
    if services:
        profile["services"] = services
    stage = f"end to end{'' if not services else f', {len(services) * 3} series'}"
    return end_to_end(profile, work, label, stage, n_records)


def nab_based_input(source: Path, target: Path, copies: int = NAB_COPIES) -> tuple[int, int]:
    """Issue #20's small input: the NAB development series (one CSV a series, in folders by
    kind under `source`) and copies of the `copies` largest under new names, so 29 files make 52
    series. Returns the series and their data rows (header lines excluded)."""
    shutil.rmtree(target, ignore_errors=True)  # an earlier bench's copies would be read too
    files = sorted(source.rglob("*.csv"))
    largest = sorted(files, key=lambda path: (-path.stat().st_size, path.name))[:copies]
    copied = [(path, target / path.relative_to(source)) for path in files]
    copied += [(path, target / path.relative_to(source).with_name(f"{path.stem}_copy.csv")) for path in largest]
    for path, destination in copied:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return len(copied), sum(data_rows(destination) for _, destination in copied)


def data_rows(csv_file: Path) -> int:
    """Lines of a CSV file after its header."""
    with csv_file.open() as lines:
        return sum(1 for _ in lines) - 1


def nab_based_run(work: Path, spark_master: str) -> dict | None:
    """`params/nab_example.yaml` on `nab_based_input`, end to end, without its labels and
    reference detectors (the copies have none); None when the NAB files are not beside the
    checkout."""
    profile = yaml.safe_load((PROFILES / "nab_example.yaml").read_text())
    source = (PROFILES.parent / profile["input_path"]).resolve()
    if not source.is_dir():
        print(f"  (no NAB files at {source}: the NAB-based run is left out)", flush=True)
        return None
    series, rows = nab_based_input(source, work / "nab_based_input")
    for key in ("labels_path", "reference_results_path", "reference_events_path"):
        profile.pop(key, None)
    profile.update(input_path=str(work / "nab_based_input"), data_root=str(work / "run_nab_based"),
                   spark_master=spark_master)
    return end_to_end(profile, work, "nab_based", f"end to end, {series} NAB csv", rows)


def end_to_end_rows(rows: list[dict], n_records: int, work: Path, spark_master: str, first_size: bool) -> list[dict]:
    """The whole run at this size beside the sum of its floors and of DuckDB's steps; with
    `first_size`, the same records over MANY_SERVICES services, each stage as a multiple of
    the default topology's (the two runs in ROUNDS alternating rounds, each stage's best kept,
    as every other ratio here), and the small NAB-based input (`nab_based_run`)."""
    by_name = {r["stage"]: r for r in rows}
    # Every round regenerates the same records into the same data root (later rounds on a warm
    # page cache, as every round of the steps above). A 10M run takes minutes: once.
    rounds = ROUNDS if first_size else 1
    defaults, manys = [], []
    for _ in range(rounds):
        defaults.append(default_run(n_records, work, f"n{n_records}", spark_master))
        if first_size:
            manys.append(default_run(n_records, work, f"n{n_records}_many", spark_master,
                                     many_services(MANY_SERVICES)))
    default = best_end_to_end(defaults)
    floors = by_name["floor: json"]["seconds"] + by_name["floor: parquet"]["seconds"]
    duckdb = by_name["duckdb metrics"]["seconds"] + by_name["duckdb z-scores"]["seconds"]
    default.update(ratio_to_floor=round(default["seconds"] / floors, 2),
                   ratio_to_duckdb=round(default["seconds"] / duckdb, 2),
                   floors_seconds=round(floors, 2), duckdb_seconds=round(duckdb, 2))
    added = [default]
    if first_size:
        many = best_end_to_end(manys)
        many["stage_ratio_to_default"] = {name: round(seconds / default["stage_seconds"][name], 2)
                                          for name, seconds in many["stage_seconds"].items()}
        many["ratio_to_default"] = round(many["seconds"] / default["seconds"], 2)
        added.append(many)
        added += [nab_run] if (nab_run := nab_based_run(work, spark_master)) else []
    return added


def best_end_to_end(runs: list[dict]) -> dict:
    """The fastest of whole runs of one profile (`best_run`), each stage's seconds the best of
    that stage over all of them."""
    best = best_run(runs)
    best["stage_seconds"] = {name: min(run["stage_seconds"][name] for run in runs) for name in best["stage_seconds"]}
    if len(runs) > 1:
        best["all_stage_seconds"] = [run["stage_seconds"] for run in runs]
    return best


def print_table(rows: list[dict]) -> None:
    header = f"{'stage':<26}{'records':>12}{'seconds':>10}{'rec/s':>12}{'vs floor':>10}{'vs duckdb':>11}{'peak MB':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        extra = f"  ({r['x_faker_loop']}x faker loop)" if "x_faker_loop" in r else ""
        if "stage_seconds" in r:
            extra += "  (" + ", ".join(f"{name[:2]} {seconds:.1f}" for name, seconds in r["stage_seconds"].items()) + ")"
        if "stage_ratio_to_default" in r:
            extra += f"  (x default topology, whole {r['ratio_to_default']}: " + ", ".join(
                f"{name[:2]} {ratio}" for name, ratio in r["stage_ratio_to_default"].items()) + ")"
        if "all_seconds" in r:
            extra += f"  (best of {', '.join(f'{s:.2f}' for s in r['all_seconds'])})"
        print(f"{r['stage']:<26}{r['records']:>12,}{r['seconds']:>10.2f}{(r.get('records_per_second') or 0):>12,}"
              f"{r.get('ratio_to_floor', ''):>10}{r.get('ratio_to_duckdb', ''):>11}{r.get('driver_peak_mb', ''):>9}{extra}")


def run(sizes: list[int], work_dir: str, out_dir: str, spark_master: str = "local[*]") -> Path:
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    spark = get_spark(spark_master, "loganalysis-bench")
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                           "python": platform.python_version(), "spark": spark.version},
               "spark_master": spark_master, "sizes": {}}
    for n in sizes:
        print(f"== {n:,} records", flush=True)
        rows = bench_size(spark, n, work)
        results["sizes"][str(n)] = rows + end_to_end_rows(rows, n, work, spark_master, first_size=n == sizes[0])
        print_table(results["sizes"][str(n)])
    if len(sizes) > 1:
        small, large = str(sizes[0]), str(sizes[-1])
        growth = {r["stage"]: round(r["seconds"] / s["seconds"], 2)
                  for r, s in zip(results["sizes"][large], results["sizes"][small])}
        results["growth"] = {"from": int(small), "to": int(large), "time_ratio": growth}
        print(f"time growth {int(small):,} -> {int(large):,} records: " +
              ", ".join(f"{k} {v}x" for k, v in growth.items()))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    target.write_text(json.dumps(results, indent=2))
    print(f"written {target}")
    return target

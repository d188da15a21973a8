"""Command line: `python -m loganalysis run --params params/default.yaml`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loganalysis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the stage notebooks of a params profile")
    run.add_argument("--params", required=True, help="a params profile, e.g. params/default.yaml")
    run.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    run.add_argument("--run-id", default=None, help="name of the run folder (default: time + profile)")

    bench = commands.add_parser("bench", help="time every stage against its floor and DuckDB")
    bench.add_argument("--sizes", type=int, nargs="+", default=[2_000_000, 10_000_000], help="records per run")
    bench.add_argument("--work", default="data/bench", help="scratch folder for the generated data")
    bench.add_argument("--out", default="reports/bench", help="folder for the JSON results")
    bench.add_argument("--master", default="local[*]", help="Spark master URL")

    cluster = commands.add_parser("cluster", help="start or stop a loopback standalone Spark cluster")
    cluster.add_argument("action", choices=["start", "stop"])
    cluster.add_argument("--state", default=".cluster", help="folder for the cluster's logs and PIDs")
    cluster.add_argument("--workers", type=int, default=2)
    cluster.add_argument("--cores", type=int, default=1, help="cores per worker")
    cluster.add_argument("--memory", default="2g", help="memory per worker")
    cluster.add_argument("--port", type=int, default=7077, help="master port")
    cluster.add_argument("--webui-port", type=int, default=8080)

    check = commands.add_parser("check-pages", help="open a run's pages in headless Chromium, save screenshots")
    check.add_argument("run_dir", help="a run folder, e.g. reports/20261129T120000Z-default")

    commands.add_parser("class-archive", help="build what makes the JVM faster: the java.nio local file system's "
                                              "jar, then the class archive (setup runs it; once per environment)")

    args = parser.parse_args(argv)
    if args.command == "run":
        from loganalysis.ops.runner import run as run_pipeline
        return run_pipeline(args.params, args.reports, args.run_id)
    if args.command == "bench":
        from loganalysis.ops.bench import run as run_bench
        run_bench(args.sizes, args.work, args.out, args.master)
        return 0
    if args.command == "cluster":
        from loganalysis.ops import cluster as local_cluster
        if args.action == "stop":
            local_cluster.stop(args.state)
            print(f"stopped the cluster of {args.state}")
            return 0
        state = local_cluster.start(args.state, args.workers, args.cores, args.memory, args.port, args.webui_port)
        print(f"master {state['master_url']} (web UI {state['webui_url']}), {args.workers} workers; "
              f"logs and PIDs in {state['state_dir']}")
        return 0
    if args.command == "class-archive":
        from loganalysis.core.session import class_archive_path, local_fs_jar_path
        from loganalysis.ops import local_fs
        from loganalysis.ops.class_archive import build
        if not local_fs_jar_path().is_file():  # first: the archive is made with the jar on the class path
            jar = local_fs.build()
            print(f"setup: local file system jar {jar}" if jar else "setup: no javac; Spark writes local files "
                  "without the java.nio file system")
        if class_archive_path().is_file():
            return 0  # quiet when there is nothing to do: setup calls this before every run
        print("setup: building the JVM class archive (once per environment, about a minute)")
        archive = build()
        print(f"setup: class archive {archive}" if archive else "setup: this JVM wrote no class archive; "
              "Spark starts without one")
        return 0
    if args.command == "check-pages":
        from pathlib import Path

        from loganalysis.ops.page_check import check_pages
        reports = check_pages(Path(args.run_dir))
        for r in reports:
            print(f"{'ok  ' if r.ok else 'FAIL'} {r.page}: {r.images} images ({r.broken_images} broken), "
                  f"{len(r.console_errors)} console errors, injected script ran: {r.injected} -> {r.screenshot}")
        return 0 if all(r.ok for r in reports) else 1
    return 2


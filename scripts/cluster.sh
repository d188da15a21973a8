#!/usr/bin/env bash
# Start or stop a loopback Spark standalone cluster (master + 2 workers on 127.0.0.1) from the
# pip-installed pyspark. Logs and PIDs live in .cluster/; stop kills exactly those PIDs.
#   scripts/cluster.sh start   |   scripts/cluster.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m loganalysis cluster "${1:?start or stop}" --state .cluster "${@:2}"

#!/usr/bin/env bash
# Make a fresh machine ready: Java when missing, a virtual environment from the pinned
# requirements, this package installed in development mode, and the JVM class archive. Safe to
# run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if ! command -v java >/dev/null 2>&1; then
  echo "setup: java not found; installing OpenJDK 17 (Spark runs on the JVM)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO apt-get install -y openjdk-17-jre-headless
fi

# The page tests open the published HTML in a real browser: Debian's Chromium, driven by
# playwright without downloading a browser of its own.
if [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: chromium not found; installing it for the page tests"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO apt-get install -y chromium
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] \
   || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: creating $VENV from requirements-dev.txt"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi

# Spark's classes in one archive the driver JVM maps at start (lib/loganalysis/ops/class_archive.py):
# built once per environment; every Spark start after it is about 4 s faster.
"$VENV/bin/python" -m loganalysis class-archive

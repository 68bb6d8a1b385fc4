#!/usr/bin/env bash
# Spark for the tests: Java 17 (on the machines already), pyspark (the [spark] extra, installed here into
# .venv), and Debian's libblas3/liblapack3 so MLlib uses a native BLAS. Idempotent: returns at once when
# everything is there; it starts no server (the standalone-cluster test starts and stops its own daemons).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if ! command -v java >/dev/null 2>&1; then
  echo "setup-spark: Java is missing; install OpenJDK 17 (Debian: apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
if ! "$PY" -c 'import pyspark, sys; sys.exit(int(pyspark.__version__.split(".")[0]) < 4)' 2>/dev/null; then
  echo "setup-spark: installing the [spark] extra (pyspark >= 4)"
  "$PY" -m pip install --quiet -e '.[spark]'
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libblas.so.3'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-spark: installing libblas3 liblapack3 (native BLAS for MLlib)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libblas3 liblapack3 >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libblas3 liblapack3 >/dev/null; }
  else
    echo "setup-spark: libblas.so.3 not found (MLlib falls back to a Java BLAS: slower, same results)" >&2
  fi
fi

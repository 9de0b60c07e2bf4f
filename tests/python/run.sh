#!/usr/bin/env bash
# Runs pycontribs_scenario.py (the `jira` package pinned in requirements.txt,
# a Jira client that is not ours) against the jira-sim binary, on both
# flavors. Exits non-zero on any failure. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/pycontribs-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt

cargo build -p jira-sim
pid=""
log=$(mktemp)
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$log"
}
trap cleanup EXIT

for flavor in cloud datacenter; do
  : >"$log"
  "$target_dir/debug/jira-sim" --listen 127.0.0.1:0 --flavor "$flavor" >"$log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 200); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)
    [ -n "$url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "jira-sim ($flavor) exited before serving:"; cat "$log"; exit 1
    fi
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "jira-sim ($flavor) did not print its address:"; cat "$log"; exit 1
  fi
  "$venv/bin/python" tests/python/pycontribs_scenario.py --url "$url" --flavor "$flavor"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
done

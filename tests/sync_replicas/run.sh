#!/usr/bin/env bash
# The claim protocol with the `sync` example as real processes on one store,
# against the jira-sim binary with a lagging search and lost answers:
#
#   pause  one process SIGSTOPped 1-4 s into its run for longer than lease +
#          request timeout + window, another run to the end meanwhile, then
#          the first continued;
#   skew   two processes at once, one with its clock 90 s ahead
#          (PENAXTRA_CLOCK_OFFSET_MS);
#   lag    search lag (8 s) longer than the window (3 s), two processes at
#          once, then two final runs sweeping at once.
#
# After each scenario one more run finishes the job, and the script counts,
# from the simulator's own state, issues created beyond one per finding
# ("made") and findings with more than one live issue ("live"). Made must be
# 0 for pause and skew; for lag, duplicates are expected (the window is the
# assumption) and live must be 0 after healing.
#
#   bash tests/sync_replicas/run.sh [sqlite|postgres] [seed]
#
# Manual (not in CI: about three minutes). Needs the built binaries:
# `cargo build --example sync -p penaxtra-jira-sync --features postgres` and
# `cargo build -p jira-sim`. Postgres: PENAXTRA_TEST_PG (default
# postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/../.."
store_kind="${1:-sqlite}"
seed="${2:-1}"
target="${CARGO_TARGET_DIR:-target}/debug"
sync_bin="${SYNC_BIN:-$target/examples/sync}"
sim_bin="$target/jira-sim"
[ -x "$sync_bin" ] && [ -x "$sim_bin" ] || { echo "build first (see the header)" >&2; exit 2; }
work="$(mktemp -d)"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  if [ "$store_kind" = postgres ]; then
    for name in pause skew lag; do
      psql "${PENAXTRA_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}" -qc \
        "DROP SCHEMA IF EXISTS sync_replicas_$$_$name CASCADE" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export JIRA_API_TOKEN=sim-api-token

python3 - "$work/findings.json" "$seed" <<'PY'
import json, random, sys
rng = random.Random(int(sys.argv[2]))
out = []
for i in range(600):
    out.append({"id": f"fnd_sync_{i:05}", "title": f"Replica check #{i}",
                "severity": rng.choice(["critical", "high", "high", "medium"]),
                "state": "open", "probe_id": "rag_indirect_v2", "scan_id": "scn_sync",
                "frameworks": ["OWASP_LLM01"], "excerpt": "ignore previous instructions"})
json.dump(out, open(sys.argv[1], "w"))
PY

port=$((20000 + RANDOM % 20000))
start_sim() { # lag_ms
  cat >"$work/sim.json" <<JSON
{"search_lag_ms": $1, "faults": {"seed": $seed, "commit_then_drop_rate": 0.3}}
JSON
  "$sim_bin" --listen "127.0.0.1:$port" --flavor cloud --config "$work/sim.json" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/_sim/issues" >/dev/null && return; sleep 0.1; done
  echo "jira-sim did not start" >&2; exit 1
}
config() { # window
  sed -e "s#http://127.0.0.1:8080#http://127.0.0.1:$port#" \
      -e "s/^# rate_limit = .*/rate_limit = { per_second = 3, burst = 1 }/" \
      -e "s/^# timeout_secs = 30/timeout_secs = 2/" \
      -e "s/^# claim_lease = .*/claim_lease = \"2s\"/" \
      -e "s/^# search_consistency_window = .*/search_consistency_window = \"$1\"/" \
      examples/penaxtra-jira.sim.toml >"$work/config.toml"
}
use_store() { # name: sets $store (and the Postgres schema) for a scenario
  if [ "$store_kind" = postgres ]; then
    export PX_PG_SCHEMA="sync_replicas_$$_$1"
    store="${PENAXTRA_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
  else
    store="$work/$1.sqlite"
  fi
}
run_sync() { # store, log, extra env...
  local store="$1" log="$2"; shift 2
  env "$@" "$sync_bin" --config "$work/config.toml" --store "$store" --shared-rate \
      --max-wait 60s "$work/findings.json" >"$log" 2>&1
}
# In the background, as the process itself (exec), so that $! is the sync
# process a signal must reach, not a subshell around it.
start_sync() { # store, log, extra env...
  ( exec_sync "$@" ) &
}
exec_sync() {
  local store="$1" log="$2"; shift 2
  exec env "$@" "$sync_bin" --config "$work/config.toml" --store "$store" --shared-rate \
      --max-wait 60s "$work/findings.json" >"$log" 2>&1
}
verdict() { # name
  curl -sf "http://127.0.0.1:$port/_sim/issues" | python3 -c '
import json, sys, collections
issues = json.load(sys.stdin)
per = collections.defaultdict(list)
for i in issues:
    labels = i.get("labels", [])
    f = next((l for l in labels if l.startswith("penaxtra-id-")), None)
    if f and not i.get("deleted"):
        per[f].append(i)
# Healed duplicates lose nothing but their liveness: count every issue
# beyond one per finding that has one.
made = sum(1 for i in issues if not i.get("deleted")) - len(per)
live = sum(1 for v in per.values() if sum(1 for i in v if "penaxtra-duplicate" not in i.get("labels", [])) > 1)
print(f"'"$1"': findings_with_issues={len(per)} issues={len(issues)} made={made} live={live}")
'
}

scenarios="${SCENARIOS:-pause skew lag}"
has() { case " $scenarios " in *" $1 "*) return 0;; *) return 1;; esac; }

if has pause; then
echo "== pause ($store_kind, seed $seed)"
start_sim 1500; config 3s; use_store pause
start_sync "$store" "$work/p1.log"
p1=$!
sleep "$(python3 -c "import random; random.seed($seed); print(random.uniform(1, 4))")"
kill -STOP "$p1" 2>/dev/null || echo "pause: the first process had already finished"
run_sync "$store" "$work/p2.log" || true
sleep 8   # past lease (2 s) + request timeout (2 s) + window (3 s)
kill -CONT "$p1" 2>/dev/null || true
wait "$p1" || true
run_sync "$store" "$work/p3.log" || true
verdict pause
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
fi

if has skew; then
echo "== skew"
start_sim 1500; config 3s; use_store skew
start_sync "$store" "$work/s1.log" PENAXTRA_CLOCK_OFFSET_MS=90000
s1=$!
run_sync "$store" "$work/s2.log" || true
wait "$s1" || true
run_sync "$store" "$work/s3.log" || true
verdict skew
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
fi

if has lag; then
echo "== lag beyond the window"
start_sim 8000; config 3s; use_store lag
start_sync "$store" "$work/l1.log"
l1=$!
run_sync "$store" "$work/l2.log" || true
wait "$l1" || true
sleep 9   # the search catches up; then two runs sweep (and heal) at once
start_sync "$store" "$work/l3.log"
l3=$!
run_sync "$store" "$work/l4.log" || true
wait "$l3" || true
verdict lag
fi

#!/usr/bin/env bash
# Throughput of penstock's Kinesis API against kinesalite (the in-memory
# Node.js emulator) with the same load generator and parameters, plus the raw
# JetStream ceiling underneath penstock (internal/storage benchmarks), as one
# table with ratios. penstock runs with its defaults: embedded JetStream,
# durability "always" (fsync before every acknowledgement); kinesalite keeps
# everything in memory.
#
#   scripts/bench-compare.sh
#   RUNS=5 RECORDS=200000 PRODUCERS=8 SHARDS=8 scripts/bench-compare.sh
#   JETSTREAM=0 scripts/bench-compare.sh        # skip the storage benchmarks
#   SERVER_FLAGS="--durability fast" scripts/bench-compare.sh
#   CLIENT=sdk scripts/bench-compare.sh         # the bench on aws-sdk-go-v2 (default: lean)
#
# Every number is the median over RUNS runs. "server CPU us/record" is the CPU
# time (user+system, /proc) the server process spent per record during the
# measured runs: less sensitive to a busy machine than records/s. "client CPU us/record" is
# the same for the bench process itself (getrusage), which shares the machine with the
# server: CLIENT=lean (default) is the hand-written data-path client, CLIENT=sdk the AWS
# SDK. Timings vary with what else the machine runs: compare columns of one invocation,
# not across invocations.
set -euo pipefail
source "$(dirname "$0")/lib/penstock.sh"

PRODUCERS=${PRODUCERS:-4}
RECORDS=${RECORDS:-100000}
RECORD_SIZE=${RECORD_SIZE:-1024}
BATCH=${BATCH:-500}
SHARDS=${SHARDS:-4}
RUNS=${RUNS:-3}
JETSTREAM=${JETSTREAM:-1}
CLIENT=${CLIENT:-lean}

command -v node >/dev/null || ps_fail "node is not installed"
command -v python3 >/dev/null || ps_fail "python3 is needed to read the JSON reports"
ps_node_install
ps_build
unset PENSTOCK_URL
read -r -a server_flags <<<"${SERVER_FLAGS:-}"
ps_start "${server_flags[@]}"
PS_SERVER_PID=${PS_PIDS[-1]}

KL_PORT=$(ps_free_port)
KL_URL=http://127.0.0.1:$KL_PORT
node "$PS_ROOT/tools/node/node_modules/kinesalite/cli.js" --port "$KL_PORT" \
  --createStreamMs 50 --deleteStreamMs 50 --updateStreamMs 50 --shardLimit 1000 >"$PS_TMP/kinesalite.log" 2>&1 &
PS_PIDS+=($!)
KL_SERVER_PID=$!
ANY_STATUS=1 ps_wait_http "$KL_URL/" 30 || ps_fail "kinesalite did not start on $KL_URL"
ps_log "kinesalite up at $KL_URL (pid ${PS_PIDS[-1]})"

params=(--producers "$PRODUCERS" --records "$RECORDS" --record-size "$RECORD_SIZE" --batch "$BATCH" --shards "$SHARDS" --runs "$RUNS" --client "$CLIENT")
echo "== parameters: ${params[*]}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
for target in penstock kinesalite; do
  url=$PS_URL pid=$PS_SERVER_PID
  [ "$target" = kinesalite ] && url=$KL_URL pid=$KL_SERVER_PID
  for op in put get; do
    ps_log "$target: penstock bench $op"
    "$PS_BIN" bench "$op" --endpoint "$url" "${params[@]}" --server-pid "$pid" --json >"$PS_TMP/$target-$op.json" 2>"$PS_TMP/$target-$op.err" ||
      { cat "$PS_TMP/$target-$op.err" >&2; ps_fail "bench $op against $target"; }
    python3 - "$PS_TMP/$target-$op.json" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
for i, run in enumerate(r["runs"], 1):
    print(f"    run {i}: {run['records_per_sec']:9.0f} records/s  {run['mib_per_sec']:6.1f} MiB/s  p50 {run['p50_ms']:7.1f} ms  p99 {run['p99_ms']:7.1f} ms"
          f"  server CPU {run.get('server_cpu_us_per_record', 0):6.1f} us/record  client CPU {run.get('client_cpu_us_per_record', 0):5.1f} us/record")
PY
  done
done

if [ "$JETSTREAM" = 1 ]; then
  ps_log "raw JetStream and storage.Store benchmarks (internal/storage), $RUNS runs"
  (cd "$PS_ROOT" && go test -run '^$' -bench '^Benchmark(Raw_AtomicBatch|Raw_AtomicBatchSharded|Store_Append|Raw_DirectGet|Store_Read)$' \
    -benchtime "$(((RECORDS + 499) / 500))x" -count "$RUNS" ./internal/storage) >"$PS_TMP/jetstream.txt" 2>&1 ||
    { cat "$PS_TMP/jetstream.txt" >&2; ps_fail "storage benchmarks"; }
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo
echo "== machine: $(nproc 2>/dev/null || echo '?') cores; load average (1/5/15 min) before $load_before, after $load_after"
CLIENT=$CLIENT python3 - "$PS_TMP" "$JETSTREAM" <<'PY'
import json, os, re, statistics, sys
tmp, jetstream = sys.argv[1], sys.argv[2] == "1"
def load(target, op):
    return json.load(open(os.path.join(tmp, f"{target}-{op}.json")))["median"]
p = {op: load("penstock", op) for op in ("put", "get")}
k = {op: load("kinesalite", op) for op in ("put", "get")}
raw = {}
if jetstream:
    runs = {}
    for line in open(os.path.join(tmp, "jetstream.txt")):
        m = re.match(r"Benchmark(\S+?)(-\d+)?\s.*?([\d.]+) records/s", line)
        if m:
            runs.setdefault(m.group(1), []).append(float(m.group(3)))
    raw = {name: statistics.median(v) for name, v in runs.items()}

def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"
rows = []
for op, verb in (("put", "PutRecords"), ("get", "GetRecords")):
    for key, label, fmt in (("records_per_sec", f"{op} records/s", "{:.0f}"), ("mib_per_sec", f"{op} MiB/s", "{:.1f}"),
                            ("p50_ms", f"{op} {verb} p50 ms", "{:.1f}"), ("p99_ms", f"{op} {verb} p99 ms", "{:.1f}"),
                            ("server_cpu_us_per_record", f"{op} server CPU us/record", "{:.1f}"),
                            ("client_cpu_us_per_record", f"{op} client CPU us/record", "{:.1f}")):
        pv, kv = p[op].get(key, 0), k[op].get(key, 0)
        rows.append((label, fmt.format(pv), fmt.format(kv), ratio(pv, kv)))
w = [max(len(r[i]) for r in rows + [("metric (median)", "penstock", "kinesalite", "penstock/kinesalite")]) for i in range(4)]
def line(r):
    print("  ".join([r[0].ljust(w[0])] + [c.rjust(w[i]) for i, c in enumerate(r[1:], 1)]))
print()
print("== Kinesis API: penstock (" + (os.environ.get("SERVER_FLAGS") or "defaults: durability always") + ") vs kinesalite (in memory), "
      + os.environ.get("CLIENT", "lean") + " bench client")
line(("metric (median)", "penstock", "kinesalite", "penstock/kinesalite"))
for r in rows:
    line(r)
print()
print("== Raw JetStream ceiling under penstock (internal/storage benchmarks, records/s, median)")
if not raw:
    print("  (skipped: JETSTREAM=0)")
else:
    for name, ref, what in (("Raw_AtomicBatch", "put", "JetStream atomic batch 500 x 1 KiB, 4 in flight"),
                            ("Raw_AtomicBatchSharded", "put", "same, as 4 batches of 125 on 4 streams (shard layout)"),
                            ("Store_Append", "put", "storage.Store.Append, same load"),
                            ("Raw_DirectGet", "get", "JetStream batch Direct Get 1000"),
                            ("Store_Read", "get", "storage.Store.Read 1000")):
        v = raw.get(name)
        if v is None:
            print(f"  {what:55s} (benchmark {name} not found)")
            continue
        print(f"  {what:55s} {v:9.0f}   penstock {ref} / this: {p[ref]['records_per_sec'] / v:.2f}")
PY

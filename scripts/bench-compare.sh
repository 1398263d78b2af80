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
# The measurement runs in RUNS rounds. Each round measures everything once,
# back to back: penstock put, the raw JetStream benchmarks, penstock get,
# then kinesalite put and get. On a shared VM the speed of the machine drifts by
# tens of percent over minutes, so a ratio is only meaningful between
# numbers measured close together: every ratio is computed within a round,
# and the tables give the median over rounds of those ratios (with their
# range), beside the median of each number.
#
# "server CPU us/record" is the CPU time (user+system, /proc) the server
# process spent per record during the measured runs. "client CPU us/record"
# is the same for the bench process itself (getrusage), which shares the
# machine with the server: CLIENT=lean (default) is the hand-written
# data-path client, CLIENT=sdk the AWS SDK.
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

params=(--producers "$PRODUCERS" --records "$RECORDS" --record-size "$RECORD_SIZE" --batch "$BATCH" --shards "$SHARDS" --runs 1 --client "$CLIENT")
echo "== parameters: ${params[*]}, $RUNS rounds"
if [ "$JETSTREAM" = 1 ]; then
  ps_log "go test -c ./internal/storage (raw JetStream and storage.Store benchmarks)"
  (cd "$PS_ROOT" && go test -c -o "$PS_TMP/storage.test" ./internal/storage) || ps_fail "building the storage benchmarks"
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
# bench_one TARGET OP ROUND: one run of penstock bench OP against TARGET.
bench_one() {
  local target=$1 op=$2 round=$3 url=$PS_URL pid=$PS_SERVER_PID out=$PS_TMP/$1-$2-$3
  [ "$target" = kinesalite ] && url=$KL_URL pid=$KL_SERVER_PID
  "$PS_BIN" bench "$op" --endpoint "$url" "${params[@]}" --server-pid "$pid" --json >"$out.json" 2>"$out.err" ||
    { cat "$out.err" >&2; ps_fail "bench $op against $target"; }
  python3 - "$out.json" "$round" "$target" "$op" <<'PY' >&2
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
print(f"--- round {sys.argv[2]}: {sys.argv[3]:10s} {sys.argv[4]}: {run['records_per_sec']:9.0f} records/s  {run['mib_per_sec']:6.1f} MiB/s"
      f"  p50 {run['p50_ms']:7.1f} ms  p99 {run['p99_ms']:7.1f} ms"
      f"  server CPU {run.get('server_cpu_us_per_record', 0):6.1f} us/record  client CPU {run.get('client_cpu_us_per_record', 0):5.1f} us/record")
PY
}

# raw_one ROUND: one run of each storage benchmark.
raw_one() {
  local round=$1 out=$PS_TMP/jetstream-$1.txt
  [ "$JETSTREAM" = 1 ] || return 0
  (cd "$PS_ROOT/internal/storage" && "$PS_TMP/storage.test" -test.run '^$' \
    -test.bench '^Benchmark(Raw_AtomicBatch|Raw_AtomicBatchSharded|Store_Append|Raw_DirectGet|Store_Read)$' \
    -test.benchtime "$(((RECORDS + 499) / 500))x" -test.count 1) >"$out" 2>&1 ||
    { cat "$out" >&2; ps_fail "storage benchmarks"; }
  grep -o 'Benchmark[A-Za-z_]*\|[0-9.]* records/s' "$out" | paste -d' ' - - | sed "s/^/--- round $round: raw JetStream /" >&2
}

# Penstock's put right next to the raw benchmarks, then the rest.
for round in $(seq "$RUNS"); do
  bench_one penstock put "$round"
  raw_one "$round"
  bench_one penstock get "$round"
  bench_one kinesalite put "$round"
  bench_one kinesalite get "$round"
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo
echo "== machine: $(nproc 2>/dev/null || echo '?') cores; load average (1/5/15 min) before $load_before, after $load_after"
CLIENT=$CLIENT python3 - "$PS_TMP" "$JETSTREAM" "$RUNS" <<'PY'
import json, os, re, statistics, sys
tmp, jetstream, runs = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
def load(target, op, i):
    return json.load(open(os.path.join(tmp, f"{target}-{op}-{i}.json")))["runs"][0]
rounds = range(1, runs + 1)
p = {op: [load("penstock", op, i) for i in rounds] for op in ("put", "get")}
k = {op: [load("kinesalite", op, i) for i in rounds] for op in ("put", "get")}
raw = []  # per round: {benchmark: records/s}
if jetstream:
    for i in rounds:
        r = {}
        for line in open(os.path.join(tmp, f"jetstream-{i}.txt")):
            m = re.match(r"Benchmark(\S+?)(-\d+)?\s.*?([\d.]+) records/s", line)
            if m:
                r[m.group(1)] = float(m.group(3))
        raw.append(r)
med = statistics.median
def paired(a, b):
    """median and range of the per-round ratios a[i]/b[i]"""
    rs = [x / y for x, y in zip(a, b) if y]
    if not rs:
        return "-"
    return f"{med(rs):.2f}x ({min(rs):.2f}-{max(rs):.2f})"
rows = []
for op, verb in (("put", "PutRecords"), ("get", "GetRecords")):
    for key, label, fmt in (("records_per_sec", f"{op} records/s", "{:.0f}"), ("mib_per_sec", f"{op} MiB/s", "{:.1f}"),
                            ("p50_ms", f"{op} {verb} p50 ms", "{:.1f}"), ("p99_ms", f"{op} {verb} p99 ms", "{:.1f}"),
                            ("server_cpu_us_per_record", f"{op} server CPU us/record", "{:.1f}"),
                            ("client_cpu_us_per_record", f"{op} client CPU us/record", "{:.1f}")):
        pv = [r.get(key, 0) for r in p[op]]
        kv = [r.get(key, 0) for r in k[op]]
        rows.append((label, fmt.format(med(pv)), fmt.format(med(kv)), paired(pv, kv)))
head = ("metric", "penstock (median)", "kinesalite (median)", "penstock/kinesalite (median of rounds, range)")
w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
def line(r):
    print("  ".join([r[0].ljust(w[0])] + [c.rjust(w[i]) for i, c in enumerate(r[1:], 1)]))
print()
print("== Kinesis API: penstock (" + (os.environ.get("SERVER_FLAGS") or "defaults: durability always") + ") vs kinesalite (in memory), "
      + os.environ.get("CLIENT", "lean") + f" bench client, {runs} rounds")
line(head)
for r in rows:
    line(r)
print()
print("== Raw JetStream ceiling under penstock (internal/storage benchmarks, records/s)")
if not raw:
    print("  (skipped: JETSTREAM=0)")
else:
    print(f"  {'':55s} {'median':>9s}   penstock / this (median of rounds, range)")
    for name, ref, what in (("Raw_AtomicBatch", "put", "JetStream atomic batch 500 x 1 KiB, 4 in flight"),
                            ("Raw_AtomicBatchSharded", "put", "same, as 4 batches of 125 on 4 streams (shard layout)"),
                            ("Store_Append", "put", "storage.Store.Append, same load"),
                            ("Raw_DirectGet", "get", "JetStream batch Direct Get 1000"),
                            ("Store_Read", "get", "storage.Store.Read 1000")):
        v = [r.get(name) for r in raw]
        if None in v:
            print(f"  {what:55s} (benchmark {name} not found)")
            continue
        pv = [r["records_per_sec"] for r in p[ref]]
        print(f"  {what:55s} {med(v):9.0f}   {ref}: {paired(pv, v)}")
PY

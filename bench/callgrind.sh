#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: a number that does not
# move with the machine's noise, for comparing two builds of the same code path (the wall-clock
# comparisons stay with bench/run.sh). The kernel's share is not counted.
#
#   bench/callgrind.sh                    # the demo page `/` under wrk (one field: Host)
#   bench/callgrind.sh --path /time       # another path of the demo site
#   bench/callgrind.sh --web-bench /json  # the framework's JSON route (bench/src/bin/web_bench.rs)
#   bench/callgrind.sh --top 30           # and the 30 functions that cost the most
#
# The binaries are built with rustix's libc backend (valgrind cannot follow its raw vDSO
# lookup) into bench/work/callgrind-target, so the usual target directory is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

path=/
web_bench=""
top=0
port=18399
while [ $# -gt 0 ]; do
    case "$1" in
        --path) path="$2"; shift 2 ;;
        --web-bench) web_bench=1; path="$2"; shift 2 ;;
        --top) top="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "callgrind.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in valgrind callgrind_control wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "callgrind.sh: needs $tool" >&2; exit 2; }
done

target=bench/work/callgrind-target
out=bench/work/callgrind
mkdir -p "$out"
rm -f "$out"/cg.out.*
if [ -n "$web_bench" ]; then
    RUSTFLAGS="--cfg rustix_use_libc" cargo build --quiet --release --target-dir "$target" \
        -p sockserve-bench --bin web_bench
    cmd=("$target/release/web_bench" --port "$port")
else
    RUSTFLAGS="--cfg rustix_use_libc" cargo build --quiet --release --target-dir "$target" \
        --bin sockserve
    cmd=("$target/release/sockserve" -p "$port" -q --threads 1)
fi

valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$out/cg.out.%p" "${cmd[@]}" >"$out/server.log" 2>&1 &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port$path"
for _ in $(seq 120); do
    curl -fs -o /dev/null "$url" && break
    sleep 0.5
done
# Warm up (buffers, caches), then count only the measured run.
wrk -t1 -c10 -d2s "$url" >/dev/null
callgrind_control -z "$server" >/dev/null 2>&1
requests=$(wrk -t1 -c10 -d4s "$url" | awk '/requests in/ {print $1}')
callgrind_control -d "$server" >/dev/null 2>&1
sleep 1

python3 - "$out" "$requests" "$top" <<'PY'
import collections, glob, re, sys

out, requests, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dump = sorted(glob.glob(f"{out}/cg.out.*.1"))[-1]
self_cost = collections.Counter()
fn, in_call = None, False
for line in open(dump):
    if line.startswith("fn="):
        fn = line[3:].strip()
    elif line.startswith(("cfn=", "cfl=", "cfi=", "cob=")):
        pass
    elif line.startswith("calls="):
        in_call = True
    elif fn and line[:1].isdigit():
        if in_call:
            in_call = False  # the inclusive cost of a call, not this function's own
            continue
        parts = line.split()
        if len(parts) >= 2:
            self_cost[fn] += int(parts[1])
total = sum(self_cost.values())
print(f"{requests} requests, {total / requests:,.0f} user-space instructions per request")
for name, cost in self_cost.most_common(top):
    for _ in range(4):
        name = re.sub(r"<[^<>]*>", "", name)
    print(f"{cost / requests:9,.0f}  {name[:120]}")
PY

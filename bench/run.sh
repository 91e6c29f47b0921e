#!/usr/bin/env bash
# The one command of the benchmark: installs what is missing, builds sockserve in release mode,
# and runs the harness. See bench/README.md.
#
#   bench/run.sh                  # full run: every workload, both layouts -> bench/results/LATEST.md
#   bench/run.sh --quick          # short smoke pass -> bench/results/raw/quick.md
#   bench/run.sh --only file-1k   # one workload (repeatable)
#   bench/run.sh --list           # the workloads
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cd "$root"

quick=0
sws_given=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --sws|--sws=*) sws_given=1 ;;
    esac
done

# Debian packages for the peers and the load generator.
missing=()
for pair in wrk:wrk nginx:nginx lighttpd:lighttpd taskset:util-linux python3:python3 \
        h2load:nghttp2-client h2o:h2o openssl:openssl caddy:caddy haproxy:haproxy \
        pg_ctlcluster:postgresql; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} with apt-get..." >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "missing: ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# static-web-server compiles for minutes, so only a full run installs it; the harness reports it
# as unavailable when it is absent.
sws="$bench/work/sws/bin/static-web-server"
if [ "$quick" = 0 ] && [ "$sws_given" = 0 ] && [ ! -x "$sws" ]; then
    echo "installing static-web-server into bench/work/sws (this takes a few minutes)..." >&2
    cargo install static-web-server --locked --quiet --root "$bench/work/sws" \
        || echo "static-web-server did not install; it will be reported as unavailable" >&2
fi

cargo build --release --quiet -p sockserve -p sockserve-bench

# 10,000 idle connections need as many descriptors, in the harness and in each server.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The harness stops its servers itself; this catches the case where it is killed first.
stop_servers() {
    local list="$bench/work/servers.pgid"
    [ -f "$list" ] || return 0
    while read -r pgid; do
        [ -n "$pgid" ] && kill -TERM -- "-$pgid" 2>/dev/null || true
    done <"$list"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

"$root/target/release/bench" "$@"

#!/usr/bin/env bash
# The guestbook on PostgreSQL for the benchmark, through scripts/cluster:
#
#   guestbook-cluster.sh pg PORT SOCKSERVE RUN_DIR MESSAGES        one instance on PORT
#   guestbook-cluster.sh cluster PORT SOCKSERVE RUN_DIR MESSAGES   two instances, HAProxy on PORT
#
# A fresh database (durable: fsync on) seeded with MESSAGES messages before the instances start,
# then it waits; SIGTERM (the harness stopping its process group) stops the whole cluster.
set -euo pipefail
mode=$1 port=$2 bin=$3 dir=$4 messages=$5
root=$(cd "$(dirname "$0")/../.." && pwd)
export CLUSTER_DIR=$dir/cluster SOCKSERVE_BIN=$bin
"$root/scripts/cluster" stop >/dev/null 2>&1 || true
stopping() { "$root/scripts/cluster" stop; exit 0; }
trap stopping TERM INT

# The same text as the SQLite book's seed, so the same check tells a seeded page.
cat >"$dir/seed.sql" <<SQL
INSERT INTO messages (name, message, created_at)
SELECT 'bench ' || g, 'benchmark message number ' || g, extract(epoch FROM now())::bigint
FROM generate_series(1, $messages) AS g;
SQL
export CLUSTER_INIT_SQL=$dir/seed.sql
case $mode in
  pg) SOCKSERVE_PORTS=$port "$root/scripts/cluster" start 1 ;;
  cluster) LB_PORT=$port "$root/scripts/cluster" start 2 ;;
  *) echo "usage: $0 pg|cluster PORT SOCKSERVE RUN_DIR MESSAGES" >&2; exit 2 ;;
esac
while :; do
  sleep 1 &
  wait $! || true
done

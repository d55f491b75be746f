#!/usr/bin/env bash
# Prometheus, a Pushgateway and node_exporter for the metrics tests
# (test/support/prom-servers.ts, test/e2e/observability.test.ts), on Debian/Ubuntu.
#
# Idempotent and fast when done before: installs Debian's `prometheus` (which brings
# `promtool`), `prometheus-pushgateway` and `prometheus-node-exporter` if a binary is
# missing, then starts each server that does not answer yet, as the current user, without
# systemd, on loopback ports of its own, with its data in a folder of its own:
#
#   Prometheus      127.0.0.1:${RECSYS_PROM_PORT:-19090}   scrapes both below every second, loads the rules
#   Pushgateway     127.0.0.1:${RECSYS_PUSHGATEWAY_PORT:-19091}
#   node_exporter   127.0.0.1:${RECSYS_NODE_EXPORTER_PORT:-19100}   textfile collector only
#
# The services the packages install (ports 9090, 9091, 9100) are neither used nor touched.
# The folder is ${RECSYS_PROM_TEST_DIR:-/tmp/recsys-prom-test-<uid>}: prometheus.yml, the rules
# (copied from deploy/observability/ at every call, and Prometheus reloaded, so the running
# server has this checkout's rules), tsdb/, textfile/ (node_exporter's collector folder),
# *.log and *.pid. Stop the servers with: kill $(cat <folder>/*.pid)
#
# stdout carries only `export …` lines, for `eval "$(scripts/prom-test-servers.sh)"`:
#   RECSYS_TEST_PROMETHEUS_URL, RECSYS_TEST_PUSHGATEWAY_URL, RECSYS_TEST_NODE_EXPORTER_URL,
#   RECSYS_TEST_TEXTFILE_DIR, RECSYS_TEST_PROMTOOL
# Progress goes to stderr. Needs root or sudo only for the install.
set -euo pipefail

log() { echo "prom-test-servers: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${RECSYS_PROM_TEST_DIR:-/tmp/recsys-prom-test-$(id -u)}"
prom_port="${RECSYS_PROM_PORT:-19090}"
push_port="${RECSYS_PUSHGATEWAY_PORT:-19091}"
node_port="${RECSYS_NODE_EXPORTER_PORT:-19100}"

# 1. The packages (one apt-get run for all that are missing).
missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian's ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# 2. Config and rules.
mkdir -p "$dir/tsdb" "$dir/textfile"
cp "$repo/deploy/observability/recsys-pipelines.rules.yml" "$dir/rules.yml.new"
mv "$dir/rules.yml.new" "$dir/rules.yml"
cat >"$dir/prometheus.yml.new" <<EOF
# Written by scripts/prom-test-servers.sh
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$dir/rules.yml"]
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{ targets: ["127.0.0.1:$push_port"] }]
  - job_name: node
    static_configs: [{ targets: ["127.0.0.1:$node_port"] }]
EOF
mv "$dir/prometheus.yml.new" "$dir/prometheus.yml"
promtool check config "$dir/prometheus.yml" >&2 || die "promtool check config $dir/prometheus.yml failed"

answers() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# Starts "$name" (a server binary and its flags) in the background unless $url answers.
start() {
  local name="$1" url="$2"
  shift 2
  if answers "$url"; then return 0; fi
  log "starting $name: $*"
  setsid nohup "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# Waits until $url answers: polls for up to 120 s (a loaded machine starts servers slowly).
ready() {
  local name="$1" url="$2"
  for _ in $(seq 1 240); do
    if answers "$url"; then return 0; fi
    sleep 0.5
  done
  die "$name does not answer at $url (see $dir/$name.log)"
}

start pushgateway "http://127.0.0.1:$push_port/-/ready" \
  prometheus-pushgateway --web.listen-address="127.0.0.1:$push_port" --web.enable-admin-api --persistence.file="$dir/pushgateway.data"
start node-exporter "http://127.0.0.1:$node_port/metrics" \
  prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$dir/textfile"
if answers "http://127.0.0.1:$prom_port/-/ready"; then
  # Already running: load this call's rules and config.
  curl -fsS -X POST --max-time 10 "http://127.0.0.1:$prom_port/-/reload" >&2 || die "Prometheus at 127.0.0.1:$prom_port did not reload $dir/prometheus.yml"
else
  start prometheus "http://127.0.0.1:$prom_port/-/ready" \
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$prom_port" --web.enable-lifecycle --web.enable-admin-api
fi
ready pushgateway "http://127.0.0.1:$push_port/-/ready"
ready node-exporter "http://127.0.0.1:$node_port/metrics"
ready prometheus "http://127.0.0.1:$prom_port/-/ready"

log "$(prometheus --version 2>&1 | head -n 1); pushgateway $(prometheus-pushgateway --version 2>&1 | head -n 1 | awk '{print $3}'); node_exporter $(prometheus-node-exporter --version 2>&1 | head -n 1 | awk '{print $3}'); folder $dir"
echo "export RECSYS_TEST_PROMETHEUS_URL=http://127.0.0.1:$prom_port"
echo "export RECSYS_TEST_PUSHGATEWAY_URL=http://127.0.0.1:$push_port"
echo "export RECSYS_TEST_NODE_EXPORTER_URL=http://127.0.0.1:$node_port"
echo "export RECSYS_TEST_TEXTFILE_DIR=$dir/textfile"
echo "export RECSYS_TEST_PROMTOOL=$(command -v promtool)"

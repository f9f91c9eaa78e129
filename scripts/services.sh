#!/usr/bin/env bash
# Local services for development, tests and the demo, all on 127.0.0.1:
#   Redis 6379, Mosquitto 1883, InfluxDB 1.x 8086, VictoriaMetrics 8428.
#
#   bash scripts/services.sh start    install what is missing (Debian packages), start what is not running,
#                                      wait until each one answers. Idempotent.
#   bash scripts/services.sh stop     stop what `start` started (nothing else).
#   bash scripts/services.sh status
#   bash scripts/services.sh tools    install the test tools: Chromium (board browser test) and
#                                      docker-compose v1 (offline validation of infra/docker-compose.yml).
#   bash scripts/services.sh setup    start + tools, quietly: what `pnpm test` runs first. Prints one line,
#                                      what it started and installed (details in .services/setup.log).
#
# State (data, logs, pid files) lives in .services/ at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${QSM_SERVICES_DIR:-$root/.services}"
mkdir -p "$state"

# `setup` is quiet: its progress goes to a log file, and it reports once what it did.
quiet=0
setup_log="$state/setup.log"
started=()
installed=()

log() {
  if [ "$quiet" -eq 1 ]; then printf 'services: %s\n' "$*" >>"$setup_log"; else printf 'services: %s\n' "$*"; fi
}

# Names as a list: "a", "a and b", "a, b and c".
listed() {
  local out="" i
  for ((i = 1; i <= $#; i++)); do
    if [ "$i" -eq 1 ]; then out="${!i}"; elif [ "$i" -eq $# ]; then out="$out and ${!i}"; else out="$out, ${!i}"; fi
  done
  printf '%s' "$out"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() {
  node -e "fetch(process.argv[1]).then(r => process.exit(r.status < 400 ? 0 : 1)).catch(() => process.exit(1))" "$1"
}

redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
mosquitto_ok() { port_open 1883; }
influxdb_ok() { http_ok http://127.0.0.1:8086/ping; }
victoriametrics_ok() { http_ok http://127.0.0.1:8428/health; }

apt_updated=0
ensure_package() { # <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ "$apt_updated" -eq 0 ]; then
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  installed+=("$2")
}

wait_for() { # <name> <check function>
  for _ in $(seq 1 100); do
    if "$2"; then
      log "$1 is up"
      started+=("$1")
      return 0
    fi
    sleep 0.1
  done
  # Shown also by the quiet `setup`: the one thing the caller has to read.
  printf 'services: %s did not come up; see %s\n' "$1" "$state/$1.log" >&2
  tail -n 20 "$state/$1.log" >&2 2>/dev/null || true
  return 1
}

start_redis() {
  if redis_ok; then log "redis already running on 6379"; return; fi
  ensure_package redis-server redis-server
  ensure_package redis-cli redis-tools
  mkdir -p "$state/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --maxmemory-policy noeviction --dir "$state/redis" \
    --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  wait_for redis redis_ok
}

start_mosquitto() {
  if mosquitto_ok; then log "mosquitto already running on 1883"; return; fi
  ensure_package mosquitto mosquitto
  mkdir -p "$state/mosquitto"
  cat >"$state/mosquitto/mosquitto.conf" <<EOF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
pid_file $state/mosquitto/mosquitto.pid
log_dest file $state/mosquitto/mosquitto.log
EOF
  # Run as root, mosquitto drops to user "mosquitto", which must be able to write its pid and log files.
  if id mosquitto >/dev/null 2>&1; then chown -R mosquitto: "$state/mosquitto"; fi
  mosquitto -d -c "$state/mosquitto/mosquitto.conf"
  ln -sf "$state/mosquitto/mosquitto.pid" "$state/mosquitto.pid"
  ln -sf "$state/mosquitto/mosquitto.log" "$state/mosquitto.log"
  wait_for mosquitto mosquitto_ok
}

start_influxdb() {
  if influxdb_ok; then log "influxdb already running on 8086"; return; fi
  ensure_package influxd influxdb
  mkdir -p "$state/influxdb"
  # max-values-per-tag = 0: every session id is a new value of the user_session_id tag (Butler SOS's schema).
  cat >"$state/influxdb/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:8098"
[meta]
  dir = "$state/influxdb/meta"
[data]
  dir = "$state/influxdb/data"
  wal-dir = "$state/influxdb/wal"
  max-values-per-tag = 0
  max-series-per-database = 0
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:8086"
  log-enabled = false
[monitor]
  store-enabled = false
EOF
  nohup influxd -config "$state/influxdb/influxdb.conf" >"$state/influxdb.log" 2>&1 &
  echo $! >"$state/influxdb.pid"
  wait_for influxdb influxdb_ok
}

start_victoriametrics() {
  if victoriametrics_ok; then log "victoriametrics already running on 8428"; return; fi
  ensure_package victoria-metrics victoria-metrics
  mkdir -p "$state/victoriametrics"
  nohup victoria-metrics -httpListenAddr=127.0.0.1:8428 -storageDataPath="$state/victoriametrics" \
    -retentionPeriod=1 -search.latencyOffset=0s >"$state/victoriametrics.log" 2>&1 &
  echo $! >"$state/victoriametrics.pid"
  wait_for victoriametrics victoriametrics_ok
}

install_tools() {
  ensure_package chromium chromium
  ensure_package docker-compose docker-compose
  log "chromium: $(command -v chromium), docker-compose: $(command -v docker-compose)"
}

stop_all() {
  for name in victoriametrics influxdb mosquitto redis; do
    local pidfile="$state/$name.pid"
    [ -e "$pidfile" ] || continue
    local pid
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" && log "stopped $name ($pid)"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
  done
}

status_all() {
  redis_ok && log "redis: up" || log "redis: down"
  mosquitto_ok && log "mosquitto: up" || log "mosquitto: down"
  influxdb_ok && log "influxdb: up" || log "influxdb: down"
  victoriametrics_ok && log "victoriametrics: up" || log "victoriametrics: down"
}

case "${1:-start}" in
  start)
    only="${*:2}"
    [ -n "$only" ] || only="redis mosquitto influxdb victoriametrics"
    for name in $only; do "start_$name"; done
    ;;
  stop) stop_all ;;
  tools) install_tools ;;
  setup)
    quiet=1
    : >"$setup_log"
    for name in redis mosquitto influxdb victoriametrics; do "start_$name"; done
    install_tools
    if [ "${#started[@]}" -eq 0 ] && [ "${#installed[@]}" -eq 0 ]; then
      echo "test set-up: all services running"
    else
      did=()
      [ "${#started[@]}" -eq 0 ] || did+=("started $(listed "${started[@]}")")
      [ "${#installed[@]}" -eq 0 ] || did+=("installed $(listed "${installed[@]}")")
      echo "test set-up: ${did[0]}${did[1]:+, ${did[1]}}"
    fi
    ;;
  status) status_all ;;
  *)
    echo "usage: $0 start [service...]|stop|status|tools|setup" >&2
    exit 2
    ;;
esac

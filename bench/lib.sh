# shellcheck shell=bash
# Helpers shared by the bench/ scripts (sourced; they run from the repository root as
# root): one scratch directory and cleanup, throwaway PostgreSQL 15 and Redis servers,
# wrk output parsing, and per-process CPU and memory from /proc.
#
#   bench_init NAME          scratch dir $bench_dir under /dev/shm, cleanup trap on EXIT
#   bench_track PID...       kill these at exit (processes started with &)
#   bench_stop PID           stop one tracked process now and wait for it
#   bench_wait_http URL      wait up to ~30 s for a 2xx answer
#   bench_metric FILE PREFIX the value of the first line of FILE starting with PREFIX
#   bench_series FILE        sample lines of an exposition body
#
#   bench_pg_start PORT [CONF_LINE...]  initdb + start as the postgres user, in $bench_dir/pg
#   bench_psql DB SQL                   psql -XAtq as the superuser postgres over TCP
#   bench_pg_cpu_ticks                  CPU ticks of the cluster (postmaster, its children
#                                       and the children it reaped)
#   bench_redis_start PORT [ARG...]     redis-server in the foreground (tracked), no disk
#   bench_redis_cli ARG...              redis-cli against it
#
#   bench_wrk ARG... URL     run wrk --latency and print one line of fields:
#                            p50_ms p99_ms requests_per_s requests non_2xx_3xx socket_errors
#   bench_cpu_ticks PID      utime + stime of a process, in clock ticks
#   bench_clk_tck            clock ticks per second
#   bench_rss_kb PID         VmRSS; bench_hwm_kb PID: VmHWM (peak)

BENCH_PGBIN=${BENCH_PGBIN:-/usr/lib/postgresql/15/bin}
bench_dir=""
bench_pids=()
bench_pg_port=""
bench_redis_port=""

bench_init() { # NAME
  bench_dir=$(mktemp -d "/dev/shm/$1-XXXXXX")
  # The servers run as the postgres user (and nginx workers as nobody): they must be able
  # to traverse it.
  chmod 755 "$bench_dir"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n "$bench_pg_port" ]]; then
    runuser -u postgres -- "$BENCH_PGBIN/pg_ctl" -D "$bench_dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  [[ -n "$bench_dir" ]] && rm -rf "$bench_dir"
}

bench_track() { bench_pids+=("$@"); }

bench_stop() { # PID
  local p kept=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${bench_pids[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
  bench_pids=("${kept[@]}")
}

bench_wait_http() { # URL
  local _
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "error: $1 did not answer" >&2
  return 1
}

bench_metric() { # FILE PREFIX
  awk -v m="$2" 'index($0, m) == 1 { print $NF; exit }' "$1"
}

bench_series() { # FILE
  grep -c -v -e '^#' -e '^$' "$1" || true
}

bench_pg_start() { # PORT [CONF_LINE...]
  local port=$1 line
  shift
  mkdir -p "$bench_dir/pg/data"
  chown -R postgres: "$bench_dir/pg"
  chmod 700 "$bench_dir/pg/data"
  runuser -u postgres -- "$BENCH_PGBIN/initdb" -D "$bench_dir/pg/data" -U postgres --auth=trust \
    -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  {
    echo "shared_preload_libraries = 'pg_stat_statements'"
    echo "pg_stat_statements.track = all"
    for line in "$@"; do echo "$line"; done
  } >>"$bench_dir/pg/data/postgresql.conf"
  bench_pg_port=$port
  runuser -u postgres -- "$BENCH_PGBIN/pg_ctl" -D "$bench_dir/pg/data" -l "$bench_dir/pg/log" -w \
    -o "-p $port -k $bench_dir/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}

bench_psql() { # DB SQL
  psql -h 127.0.0.1 -p "$bench_pg_port" -U postgres -d "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

bench_pg_cpu_ticks() {
  local pm child sum
  pm=$(head -n1 "$bench_dir/pg/data/postmaster.pid")
  # Children first: one that exits in between is then counted in the postmaster's
  # cutime/cstime instead of being missed.
  sum=0
  for child in $(pgrep -P "$pm"); do
    sum=$((sum + $(bench_cpu_ticks "$child" 2>/dev/null || echo 0)))
  done
  # After "pid (comm) ": $12 utime, $13 stime, $14 cutime, $15 cstime.
  echo $((sum + $(sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }')))
}

bench_redis_start() { # PORT [ARG...]
  local port=$1 _
  shift
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$bench_dir" \
    --logfile "$bench_dir/redis-$port.log" "$@" &
  bench_track $!
  bench_redis_port=$port
  for _ in $(seq 1 100); do
    [[ "$(bench_redis_cli ping 2>/dev/null)" == PONG ]] && return 0
    sleep 0.1
  done
  echo "error: redis-server on port $port did not start" >&2
  return 1
}

bench_redis_cli() { redis-cli -h 127.0.0.1 -p "$bench_redis_port" "$@"; }

bench_wrk() { # ARG... URL
  wrk --latency "$@" | awk '
    function ms(v) {
      if (v ~ /us$/) return v * 0.001
      if (v ~ /ms$/) return v * 1
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { n = $1 }
    /^ *Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
    /^ *Non-2xx or 3xx responses:/ { bad = $5 }
    /^Requests\/sec:/ { rps = $2 }
    END { printf "%.3f %.3f %.1f %d %d %d\n", p50, p99, rps, n, bad, err }'
}

bench_clk_tck() { getconf CLK_TCK; }

bench_cpu_ticks() { # PID
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

bench_rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
bench_hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"; }

# Starts our exporter ($BIN) with config file $1 on 127.0.0.1:$2, stderr to $3, and waits
# until it is ready; its PID in $exporter. Exits with its log if it never gets ready.
bench_start_exporter() { # CONFIG PORT LOG
  "$BIN" --config.file "$1" --web.listen-address "127.0.0.1:$2" 2>"$3" &
  exporter=$!
  bench_track "$exporter"
  bench_wait_http "http://127.0.0.1:$2/ready" && return 0
  cat "$3" >&2
  exit 1
}

"""Writes an app-shaped Prometheus text 0.0.4 body of exactly N series to stdout: the
bench scripts' app (served with bench/serve_static.py).

Per route: request counters (2 methods x 3 statuses) and a latency histogram per method
(10 buckets + _sum + _count), 30 series; one in-flight gauge per route; then busy-worker
gauges to make up N exactly. Every family has HELP and TYPE; values are seeded, so a
given N always gives the same body.

Usage: python3 bench/app_body.py N > metrics.txt
"""
import random
import sys

total = int(sys.argv[1])
rnd = random.Random(42)
routes = total // 31
methods, statuses = ("GET", "POST"), ("200", "404", "500")
buckets = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
out = []
w = out.append
w("# HELP app_requests_total Requests handled, by route, method and status.")
w("# TYPE app_requests_total counter")
for r in range(routes):
    for m in methods:
        for s in statuses:
            w(f'app_requests_total{{route="/r/{r}",method="{m}",status="{s}"}} {rnd.randrange(10**7)}')
w("# HELP app_request_duration_seconds Time to the last byte of the response.")
w("# TYPE app_request_duration_seconds histogram")
for r in range(routes):
    for m in methods:
        acc = 0
        for le in buckets:
            acc += rnd.randrange(10**5)
            w(f'app_request_duration_seconds_bucket{{route="/r/{r}",method="{m}",le="{le}"}} {acc}')
        w(f'app_request_duration_seconds_sum{{route="/r/{r}",method="{m}"}} {acc * rnd.random() * 0.2:.6f}')
        w(f'app_request_duration_seconds_count{{route="/r/{r}",method="{m}"}} {acc}')
w("# HELP app_requests_in_flight Requests being served.")
w("# TYPE app_requests_in_flight gauge")
for r in range(routes):
    w(f'app_requests_in_flight{{route="/r/{r}"}} {rnd.randrange(64)}')
w("# HELP app_worker_busy Whether a worker is busy (\\\\ escaped help).")
w("# TYPE app_worker_busy gauge")
for i in range(total - routes * 31):
    w(f'app_worker_busy{{worker="{i}",pool="main \\"fast\\""}} {rnd.randrange(2)}')
print("\n".join(out))

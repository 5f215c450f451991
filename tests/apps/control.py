"""What the Python test apps share: their /work and /health behaviour, the gauges they set
themselves, and a control server on a port of its own.

The control server is plain http.server, outside the web framework, so that a test
switching a service down or setting a gauge sends no request the app's instrumentation
sees: the app's request counts stay exactly what the load client and the exporter sent.

Started by tests/common/real_apps.rs as `python APP.py --port N --control-port M --state
JSON`, where JSON is {"services": {name: {"status": s, "latency_ms": n}}, "gauges": {name:
value}}: the harness owns the initial state, so it is written down once, in Rust.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import Gauge

_lock = threading.Lock()
_services = {}
_gauges = {}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--state", required=True)
    args = parser.parse_args()
    state = json.loads(args.state)
    with _lock:
        _services.update(state["services"])
        for name, value in state["gauges"].items():
            gauge = Gauge(name, "Set by the test app through its control port.")
            gauge.set(value)
            _gauges[name] = gauge
    return args


def work_params(ms, status):
    """(seconds to sleep, status to answer, body) of a /work request."""
    return max(ms, 0) / 1000.0, status, {"slept_ms": ms, "status": status}


def health():
    """(HTTP status, body) of /health: 503 as soon as one service is not up."""
    with _lock:
        services = json.loads(json.dumps(_services))
    all_up = all(s["status"] == "up" for s in services.values())
    body = {"status": "ok" if all_up else "degraded", "services": services}
    return (200 if all_up else 503), body


class _ControlHandler(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/ready":
            return self._answer(200, {"ready": True})
        if url.path == "/service":
            with _lock:
                service = _services.setdefault(q.get("name", ""), {"status": "up", "latency_ms": 0})
                if "status" in q:
                    service["status"] = q["status"]
                if "latency_ms" in q:
                    service["latency_ms"] = float(q["latency_ms"])
            return self._answer(200, health()[1])
        if url.path == "/gauge":
            with _lock:
                gauge = _gauges.get(q.get("name", ""))
            if gauge is None:
                return self._answer(404, {"error": "no such gauge", "gauges": sorted(_gauges)})
            if "value" not in q:
                return self._answer(400, {"error": "value is missing"})
            gauge.set(float(q["value"]))
            return self._answer(200, {"name": q["name"], "value": float(q["value"])})
        return self._answer(404, {"error": "no such control route"})

    do_GET = _route
    do_POST = _route

    def log_message(self, format, *args):
        # Only the app's own server logs requests: the control calls would bury them.
        pass


def start_control(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), _ControlHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

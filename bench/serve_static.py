"""Serves one file as a Prometheus text 0.0.4 body on every GET: the bench scripts' app.

Usage: python3 bench/serve_static.py PORT FILE
"""
import http.server
import sys

body = open(sys.argv[2], "rb").read()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

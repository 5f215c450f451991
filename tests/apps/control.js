'use strict';
// What the Express test apps share: their /work and /health routes, the gauges they set
// themselves, and a control server on a port of its own.
//
// The control server is plain node:http, outside Express, so that a test switching a
// service down or setting a gauge sends no request the app's instrumentation sees: the
// app's request counts stay exactly what the load client and the exporter sent.
//
// Started by tests/common/real_apps.rs as `node APP.js --port N --control-port M --state
// JSON` (see control.py for JSON), with NODE_PATH at the prefix's node_modules.

const http = require('node:http');
const { setTimeout: sleep } = require('node:timers/promises');
const client = require('prom-client');

function parseArgs(argv) {
  const args = {};
  const pairs = argv.slice(2);
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    args[pairs[i].replace(/^--/, '')] = pairs[i + 1];
  }
  for (const required of ['port', 'control-port', 'state']) {
    if (args[required] === undefined) {
      throw new Error(`--${required} is required`);
    }
  }
  const state = JSON.parse(args.state);
  const gauges = {};
  for (const [name, value] of Object.entries(state.gauges)) {
    gauges[name] = new client.Gauge({
      name,
      help: 'Set by the test app through its control port.',
    });
    gauges[name].set(value);
  }
  return {
    port: Number(args.port),
    controlPort: Number(args['control-port']),
    services: state.services,
    gauges,
  };
}

function health(services) {
  const allUp = Object.values(services).every((s) => s.status === 'up');
  return [allUp ? 200 : 503, { status: allUp ? 'ok' : 'degraded', services }];
}

function addRoutes(app, state) {
  app.get('/work', async (req, res) => {
    const ms = Number(req.query.ms ?? 0);
    const status = Number(req.query.status ?? 200);
    // A timer, not a busy wait: slow requests must not hold up the others.
    await sleep(Math.max(ms, 0));
    res.status(status).json({ slept_ms: ms, status });
  });
  app.get('/health', (req, res) => {
    const [status, body] = health(state.services);
    res.status(status).json(body);
  });
}

function startControl(state) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://control');
    const q = url.searchParams;
    const answer = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/ready') {
      return answer(200, { ready: true });
    }
    if (url.pathname === '/service') {
      const name = q.get('name') ?? '';
      const service = (state.services[name] ??= { status: 'up', latency_ms: 0 });
      if (q.has('status')) service.status = q.get('status');
      if (q.has('latency_ms')) service.latency_ms = Number(q.get('latency_ms'));
      return answer(200, health(state.services)[1]);
    }
    if (url.pathname === '/gauge') {
      const gauge = state.gauges[q.get('name') ?? ''];
      if (!gauge) {
        return answer(404, { error: 'no such gauge', gauges: Object.keys(state.gauges) });
      }
      if (!q.has('value')) {
        return answer(400, { error: 'value is missing' });
      }
      gauge.set(Number(q.get('value')));
      return answer(200, { name: q.get('name'), value: Number(q.get('value')) });
    }
    return answer(404, { error: 'no such control route' });
  });
  server.listen(state.controlPort, '127.0.0.1');
  return server;
}

module.exports = { parseArgs, addRoutes, startControl };

'use strict';
// Express with plain prom-client, instrumented the way its README shows: the default
// metrics (`collectDefaultMetrics()`), a Histogram at its default buckets timed with
// `startTimer()` and labelled when the request ends, and `register.metrics()` served on
// /metrics. The histogram's name and labels (method, route, code) are the usual ones for
// HTTP servers; the README names none. The timer wraps every route, /metrics included,
// as a middleware registered first does. See tests/common/real_apps.rs for what that
// exposes.

const express = require('express');
const client = require('prom-client');
const control = require('./control');

const state = control.parseArgs(process.argv);
client.collectDefaultMetrics();
const httpRequestDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Duration of HTTP requests in seconds',
  labelNames: ['method', 'route', 'code'],
});

const app = express();
app.use((req, res, next) => {
  const end = httpRequestDuration.startTimer();
  res.on('finish', () => {
    // The route template, not the URL: a URL label grows a series per query string.
    // Requests that match no route share one value.
    const route = req.route ? req.route.path : 'unmatched';
    end({ method: req.method, route, code: res.statusCode });
  });
  next();
});
app.get('/metrics', async (req, res) => {
  res.set('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
});
control.addRoutes(app, state);
control.startControl(state);
app.listen(state.port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${state.port}`));

'use strict';
// Express instrumented by express-prom-bundle at its defaults: `promBundle()` with no
// options (the README's sample adds `{includeMethod: true}`; that is an option, so it is
// only used with --readme-sample). The middleware comes before every route, as the README
// requires for the routes to be measured, and serves /metrics itself. See
// tests/common/real_apps.rs for what that exposes.

const express = require('express');
const promBundle = require('express-prom-bundle');
const control = require('./control');

const readmeSample = process.argv.includes('--readme-sample');
const state = control.parseArgs(process.argv.filter((a) => a !== '--readme-sample'));
const app = express();
app.use(readmeSample ? promBundle({ includeMethod: true }) : promBundle());
control.addRoutes(app, state);
control.startControl(state);
app.listen(state.port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${state.port}`));

//! Real web apps instrumented by the libraries users run, at those libraries' defaults,
//! and a load client that drives them at a known latency and error mix: the ground truth
//! for the golden signals the exporter derives from an app's own `/metrics`.
//!
//! # The apps
//!
//! Each [`RealAppKind`] is a small app in `tests/apps/` run by the real interpreter with
//! packages installed from PyPI / npm by `scripts/test.sh` under [`apps_prefix`]
//! (`venv/` and `node_modules/`). [`RealApp::start`] runs one on a free `127.0.0.1` port
//! and waits until it accepts connections; dropping it kills its process group. Missing
//! packages fail the test with a message saying to run `scripts/test.sh`; they never
//! skip it.
//!
//! Every app serves, on its port ([`RealApp::url`]):
//! - `GET /work?ms=N&status=S`: waits N ms without holding up other requests (an async
//!   sleep in FastAPI and Express, a thread per request in Django's threaded
//!   `runserver`), then answers status S (default 200) with a small JSON body;
//! - `GET /health`: `{"status":"ok","services":{"database":{"status":"up","latency_ms":3},
//!   "cache":{"status":"up","latency_ms":1}}}` ([`DEFAULT_SERVICES`]); with a service
//!   not up, `"status":"degraded"` and HTTP 503;
//! - `GET /metrics`: what the library serves.
//!
//! Besides the library's own families, `/metrics` has the gauges the app sets itself
//! ([`APP_GAUGES`], a plain `prometheus_client.Gauge` / `prom-client` `Gauge`).
//!
//! [`RealApp::set_service`] and [`RealApp::set_gauge`] go to a control server on a second
//! port, outside the web framework, so they add nothing to the app's request metrics:
//! between the load client, the exporter and a test's own [`RealApp::get`], the app's
//! counts are exactly the requests that were sent to [`RealApp::url`].
//!
//! # What each library exposes at its defaults
//!
//! Read from the installed packages' source (the versions `scripts/test.sh` pins) and
//! checked against the running apps by `tests/harness.rs`; [`RealAppKind::defaults`]
//! holds the same facts as data. Every app's `/health` is counted like any other route.
//! The Python apps' `prometheus_client` 0.26.0 adds a `<name>_created` series to every
//! counter, histogram and summary, and its default registry `process_*`, `python_gc_*`
//! and `python_info`.
//!
//! - **FastAPI** 0.165.0 (Starlette 1.10.0, uvicorn 0.55.0) with
//!   **prometheus-fastapi-instrumentator 8.1.0**, `Instrumentator().instrument(app)
//!   .expose(app)` (README, first example). `metrics.default()`:
//!   - `http_request_duration_highr_seconds`, histogram, no labels, buckets 0.01 0.025
//!     0.05 0.075 0.1 0.25 0.5 0.75 1 1.5 2 2.5 3 3.5 4 4.5 5 7.5 10 30 60;
//!   - `http_request_duration_seconds`, histogram, `handler` `method`, buckets 0.1 0.5 1;
//!   - `http_requests_total`, counter, `method` `status` `handler`: `status` is grouped
//!     (`should_group_status_codes=True`), so a 500 counts as `status="5xx"`;
//!   - `http_request_size_bytes`, `http_response_size_bytes`: summaries by `handler`.
//!
//!   `handler` is the route template (`/work`, `/health`, `/metrics`); a path no route
//!   matches is `none`. Nothing is excluded (`excluded_handlers=[]`): `/metrics` itself is
//!   counted, observed after its response is sent (so in the next scrape). The duration
//!   is taken in an ASGI middleware around the whole app.
//! - **Express** 5.3.0 with **express-prom-bundle 8.0.0** (prom-client 15.1.3),
//!   `app.use(promBundle())` with no options. (The README's sample passes
//!   `{includeMethod: true}`, an option; [`RealAppKind::ExpressPromBundleSample`] runs
//!   that.)
//!   - `http_request_duration_seconds`, histogram, `status_code` only (plus `method` with
//!     `includeMethod`), buckets 0.003 0.03 0.1 0.3 1.5 10; no `path` label
//!     (`includePath` defaults to false), so requests are not labelled by route;
//!   - `up` gauge, always 1;
//!   - no request counter, no `process_*` / `nodejs_*` (`collectDefaultMetrics` only
//!     with `promClient.collectDefaultMetrics`).
//!
//!   `/metrics` is answered by the middleware before the timer starts: it is never
//!   counted. Every other request is, `/health` and 404s included, with nothing to tell
//!   them apart; `status_code` is the number (`500`).
//! - **Django** 5.2.19 with **django-prometheus 2.5.0**, the README's Quickstart
//!   (`INSTALLED_APPS`, `PrometheusBeforeMiddleware` first and
//!   `PrometheusAfterMiddleware` last, `path("", include("django_prometheus.urls"))`),
//!   `runserver --noreload` (threaded). `PROMETHEUS_LATENCY_BUCKETS` = 0.01 0.025 0.05
//!   0.075 0.1 0.25 0.5 0.75 1 2.5 5 7.5 10 25 50 75 for both histograms:
//!   - `django_http_requests_latency_seconds_by_view_method`, `view` `method`: from the
//!     After middleware's request hook to its response hook;
//!   - `django_http_requests_latency_including_middlewares_seconds`, no labels: from the
//!     Before middleware, so all middleware included;
//!   - `django_http_responses_total_by_status_view_method_total`, counter, `status`
//!     (the number, `500`) `view` `method`; also `..._total_by_status_total{status}`,
//!     `django_http_requests_total_by_method_total{method}`,
//!     `..._by_transport_total`, `..._by_view_transport_method_total`,
//!     `django_http_requests_before_middlewares_total`,
//!     `django_http_responses_before_middlewares_total`, body-size histograms, and
//!     `django_http_exceptions_total_by_{type,view}_total`.
//!
//!   `view` is the URL pattern's name (`work`, `health`; `/metrics` is
//!   `prometheus-django-metrics`); a request no pattern matches is `<unnamed view>`.
//!   `/metrics` is counted, observed when its response leaves the middleware (so in the
//!   next scrape).
//! - **Express** 5.3.0 with plain **prom-client 15.1.3**, as its README shows:
//!   `collectDefaultMetrics()` (`process_*`, `nodejs_*`) and a `Histogram` at the default
//!   buckets 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10, timed with `startTimer()`
//!   and labelled when the response is finished. The README names no HTTP histogram;
//!   the app uses the usual `http_request_duration_seconds` with `method`, `route` (the
//!   Express route template, `unmatched` for 404s) and `code` (the number). Its timer
//!   wraps every route, `/metrics` included, which is counted (in the next scrape).
//!
//! # Load
//!
//! [`Load::start`] sends `GET /work?ms=D&status=S` to one app at a fixed rate (open
//! loop: request i is due at i / rate, whatever the earlier ones took) for a duration or
//! until [`Load::stop`], from enough threads that slow classes do not hold up the
//! schedule. The classes of a [`LoadSpec`] (delay, status, share) are interleaved
//! deterministically, so every stretch of the run has the mix's shares to within one
//! request and a run of N requests has exactly `share × N` of each when that is whole.
//! [`LoadReport`] has every request's class, status and client-side latency (connect to
//! last body byte; one connection per request), counts, the error share, and
//! nearest-rank quantiles.

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};

use super::{
    free_port, http_request, pg_prefix, read_lossy, samples, series_labels, tempdir, HttpResponse,
};

// ---------------------------------------------------------------------------------------
// Where the packages are
// ---------------------------------------------------------------------------------------

/// Where `scripts/test.sh` installs the apps' packages (a venv in `venv/`, an npm prefix
/// with `node_modules/`): `$STACK_EXPORTER_APPS_PREFIX`, else
/// `/var/cache/stack_exporter/apps` for root, else `~/.cache/stack_exporter/apps`. Keep
/// in sync with `scripts/test.sh`.
pub fn apps_prefix() -> PathBuf {
    if let Some(p) = std::env::var_os("STACK_EXPORTER_APPS_PREFIX").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // Same rules as pg_prefix: only the last component differs.
    pg_prefix().with_file_name("apps")
}

/// The app sources, in the git tree.
pub fn apps_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps")
}

/// The version of `package` installed under `prefix`: a PyPI distribution in the venv
/// (`*.dist-info`) or an npm package (`node_modules/NAME/package.json`). `None` when it
/// is not installed.
pub fn installed_version_in(prefix: &Path, package: &str) -> Option<String> {
    let npm = prefix
        .join("node_modules")
        .join(package)
        .join("package.json");
    if let Ok(text) = fs::read_to_string(&npm) {
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        return json["version"].as_str().map(str::to_owned);
    }
    // Wheels name the directory NAME-VERSION.dist-info with NAME normalised to
    // lowercase and underscores (older ones keep the project's own spelling).
    let want = package.to_ascii_lowercase().replace('-', "_");
    let site = python_site_packages(prefix)?;
    fs::read_dir(site).ok()?.find_map(|entry| {
        let name = entry.ok()?.file_name().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".dist-info")?;
        let (dist, version) = stem.rsplit_once('-')?;
        (dist.to_ascii_lowercase().replace('-', "_") == want).then(|| version.to_owned())
    })
}

/// [`installed_version_in`] [`apps_prefix`].
pub fn installed_version(package: &str) -> Option<String> {
    installed_version_in(&apps_prefix(), package)
}

fn python_site_packages(prefix: &Path) -> Option<PathBuf> {
    let lib = prefix.join("venv/lib");
    // One pythonX.Y directory in a venv; its name depends on the python that made it.
    fs::read_dir(lib).ok()?.find_map(|entry| {
        let path = entry.ok()?.path();
        let is_python = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("python"));
        is_python.then(|| path.join("site-packages"))
    })
}

// ---------------------------------------------------------------------------------------
// What each library exposes
// ---------------------------------------------------------------------------------------

/// One latency histogram a library exposes at its defaults.
#[derive(Debug, Clone, Copy)]
pub struct HistogramDefaults {
    pub family: &'static str,
    /// Label names besides `le`, sorted.
    pub labels: &'static [&'static str],
    /// Bucket bounds in seconds, without `+Inf`.
    pub buckets: &'static [f64],
}

/// The label a library names the route by, and the values the apps' routes get.
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel {
    pub name: &'static str,
    pub work: &'static str,
    pub health: &'static str,
    pub metrics: &'static str,
}

/// What an instrumentation library exposes at its defaults, read from its source (see
/// the module docs).
#[derive(Debug, Clone, Copy)]
pub struct LibraryDefaults {
    /// The PyPI / npm package, and the version these facts were read from.
    pub package: &'static str,
    pub version: &'static str,
    /// Its HTTP latency histograms, the finest-grained first.
    pub histograms: &'static [HistogramDefaults],
    /// Its counter of requests with a status label (as exposed, with `_total`); `None`
    /// when only the histogram's `_count` carries the status.
    pub requests_counter: Option<&'static str>,
    /// The label carrying the response status, on `requests_counter` or else on the
    /// first histogram.
    pub status_label: &'static str,
    /// The value of `status_label` for a 500 (`5xx` where the library groups them).
    pub status_500: &'static str,
    /// `None` when requests are not labelled by route.
    pub route: Option<RouteLabel>,
    /// Whether a request to `/metrics` is itself counted and timed.
    pub metrics_counted: bool,
}

impl LibraryDefaults {
    /// The histogram that labels requests by route, if the library has one.
    pub fn route_histogram(&self) -> Option<&'static HistogramDefaults> {
        let route = self.route?;
        self.histograms
            .iter()
            .find(|h| h.labels.contains(&route.name))
    }
}

const DJANGO_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 25.0, 50.0, 75.0,
];
const PROM_BUNDLE_BUCKETS: &[f64] = &[0.003, 0.03, 0.1, 0.3, 1.5, 10.0];

const FASTAPI: LibraryDefaults = LibraryDefaults {
    package: "prometheus-fastapi-instrumentator",
    version: "8.1.0",
    histograms: &[
        HistogramDefaults {
            family: "http_request_duration_highr_seconds",
            labels: &[],
            buckets: &[
                0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0,
                4.5, 5.0, 7.5, 10.0, 30.0, 60.0,
            ],
        },
        HistogramDefaults {
            family: "http_request_duration_seconds",
            labels: &["handler", "method"],
            buckets: &[0.1, 0.5, 1.0],
        },
    ],
    requests_counter: Some("http_requests_total"),
    status_label: "status",
    status_500: "5xx",
    route: Some(RouteLabel {
        name: "handler",
        work: "/work",
        health: "/health",
        metrics: "/metrics",
    }),
    metrics_counted: true,
};

const EXPRESS_PROM_BUNDLE: LibraryDefaults = LibraryDefaults {
    package: "express-prom-bundle",
    version: "8.0.0",
    histograms: &[HistogramDefaults {
        family: "http_request_duration_seconds",
        labels: &["status_code"],
        buckets: PROM_BUNDLE_BUCKETS,
    }],
    requests_counter: None,
    status_label: "status_code",
    status_500: "500",
    route: None,
    metrics_counted: false,
};

const EXPRESS_PROM_BUNDLE_SAMPLE: LibraryDefaults = LibraryDefaults {
    histograms: &[HistogramDefaults {
        family: "http_request_duration_seconds",
        labels: &["method", "status_code"],
        buckets: PROM_BUNDLE_BUCKETS,
    }],
    ..EXPRESS_PROM_BUNDLE
};

const DJANGO: LibraryDefaults = LibraryDefaults {
    package: "django-prometheus",
    version: "2.5.0",
    histograms: &[
        HistogramDefaults {
            family: "django_http_requests_latency_seconds_by_view_method",
            labels: &["method", "view"],
            buckets: DJANGO_BUCKETS,
        },
        HistogramDefaults {
            family: "django_http_requests_latency_including_middlewares_seconds",
            labels: &[],
            buckets: DJANGO_BUCKETS,
        },
    ],
    requests_counter: Some("django_http_responses_total_by_status_view_method_total"),
    status_label: "status",
    status_500: "500",
    route: Some(RouteLabel {
        name: "view",
        work: "work",
        health: "health",
        metrics: "prometheus-django-metrics",
    }),
    metrics_counted: true,
};

const PROM_CLIENT: LibraryDefaults = LibraryDefaults {
    package: "prom-client",
    version: "15.1.3",
    histograms: &[HistogramDefaults {
        family: "http_request_duration_seconds",
        labels: &["code", "method", "route"],
        buckets: &[
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ],
    }],
    requests_counter: None,
    status_label: "code",
    status_500: "500",
    route: Some(RouteLabel {
        name: "route",
        work: "/work",
        health: "/health",
        metrics: "/metrics",
    }),
    metrics_counted: true,
};

/// The other packages whose pinned versions the module docs describe.
pub const FRAMEWORK_VERSIONS: &[(&str, &str)] = &[
    ("fastapi", "0.165.0"),
    ("starlette", "1.10.0"),
    ("uvicorn", "0.55.0"),
    ("django", "5.2.19"),
    ("prometheus-client", "0.26.0"),
    ("express", "5.3.0"),
];

/// One of the instrumented apps (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RealAppKind {
    /// FastAPI + prometheus-fastapi-instrumentator, on uvicorn.
    FastApi,
    /// Express + express-prom-bundle, `promBundle()` with no options.
    ExpressPromBundle,
    /// Express + express-prom-bundle as the README's sample: `{includeMethod: true}`.
    ExpressPromBundleSample,
    /// Django + django-prometheus, on `runserver --noreload`.
    Django,
    /// Express + plain prom-client.
    PromClient,
}

impl RealAppKind {
    pub const ALL: [RealAppKind; 5] = [
        RealAppKind::FastApi,
        RealAppKind::ExpressPromBundle,
        RealAppKind::ExpressPromBundleSample,
        RealAppKind::Django,
        RealAppKind::PromClient,
    ];

    /// A short name for messages and job names.
    pub fn name(self) -> &'static str {
        match self {
            RealAppKind::FastApi => "fastapi",
            RealAppKind::ExpressPromBundle => "express-prom-bundle",
            RealAppKind::ExpressPromBundleSample => "express-prom-bundle-sample",
            RealAppKind::Django => "django",
            RealAppKind::PromClient => "prom-client",
        }
    }

    pub fn defaults(self) -> &'static LibraryDefaults {
        match self {
            RealAppKind::FastApi => &FASTAPI,
            RealAppKind::ExpressPromBundle => &EXPRESS_PROM_BUNDLE,
            RealAppKind::ExpressPromBundleSample => &EXPRESS_PROM_BUNDLE_SAMPLE,
            RealAppKind::Django => &DJANGO,
            RealAppKind::PromClient => &PROM_CLIENT,
        }
    }

    fn is_python(self) -> bool {
        matches!(self, RealAppKind::FastApi | RealAppKind::Django)
    }

    /// The file in [`apps_source_dir`] and its extra arguments.
    fn source(self) -> (&'static str, &'static [&'static str]) {
        match self {
            RealAppKind::FastApi => ("fastapi_app.py", &[]),
            RealAppKind::ExpressPromBundle => ("express_prom_bundle_app.js", &[]),
            RealAppKind::ExpressPromBundleSample => {
                ("express_prom_bundle_app.js", &["--readme-sample"])
            }
            RealAppKind::Django => ("django_app.py", &[]),
            RealAppKind::PromClient => ("prom_client_app.js", &[]),
        }
    }

    /// Every package the app imports, for the "is it installed" check.
    fn packages(self) -> &'static [&'static str] {
        match self {
            RealAppKind::FastApi => &[
                "fastapi",
                "uvicorn",
                "prometheus-fastapi-instrumentator",
                "prometheus-client",
            ],
            RealAppKind::Django => &["django", "django-prometheus", "prometheus-client"],
            RealAppKind::ExpressPromBundle | RealAppKind::ExpressPromBundleSample => {
                &["express", "express-prom-bundle", "prom-client"]
            }
            RealAppKind::PromClient => &["express", "prom-client"],
        }
    }
}

// ---------------------------------------------------------------------------------------
// The apps' state
// ---------------------------------------------------------------------------------------

/// The services `/health` reports when the app starts: (name, status, latency in ms).
pub const DEFAULT_SERVICES: &[(&str, &str, f64)] = &[("database", "up", 3.0), ("cache", "up", 1.0)];

/// The gauges each app sets itself, with their values when it starts (distinct and not
/// zero, so a missing series cannot pass for a right one).
pub const APP_GAUGES: &[(&str, f64)] = &[
    ("app_active_sessions", 12.0),
    ("app_websocket_connections", 4.0),
    ("app_db_write_queue_depth", 7.0),
];

fn initial_state() -> String {
    let services: serde_json::Map<String, serde_json::Value> = DEFAULT_SERVICES
        .iter()
        .map(|(name, status, latency)| {
            (
                name.to_string(),
                serde_json::json!({ "status": status, "latency_ms": latency }),
            )
        })
        .collect();
    let gauges: serde_json::Map<String, serde_json::Value> = APP_GAUGES
        .iter()
        .map(|(name, value)| (name.to_string(), serde_json::json!(value)))
        .collect();
    serde_json::json!({ "services": services, "gauges": gauges }).to_string()
}

// ---------------------------------------------------------------------------------------
// A running app
// ---------------------------------------------------------------------------------------

/// One app running as a child process (its own process group) on a free port, its
/// output kept in a file. Dropping it kills the group (SIGTERM, SIGKILL after 2 s).
pub struct RealApp {
    kind: RealAppKind,
    port: u16,
    control_port: u16,
    child: Option<Child>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl RealApp {
    /// Starts `kind` with the packages under [`apps_prefix`]; panics (failing the test)
    /// when they are missing or the app does not come up.
    pub fn start(kind: RealAppKind) -> RealApp {
        Self::start_with_prefix(kind, &apps_prefix())
    }

    pub fn start_with_prefix(kind: RealAppKind, prefix: &Path) -> RealApp {
        let program = require_installed(kind, prefix);
        let dir = tempdir(&format!("stack-exporter-{}-", kind.name()));
        let mut app = RealApp {
            kind,
            port: 0,
            control_port: 0,
            child: None,
            log: dir.path().join("app.log"),
            dir,
        };
        let mut last_err = String::new();
        // Another process may take a port between free_port and the app's bind.
        for _ in 0..5 {
            app.port = free_port();
            app.control_port = free_port();
            match app.spawn_and_wait(&program, prefix) {
                Ok(()) => return app,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start the {} app: {last_err}", kind.name());
    }

    fn spawn_and_wait(&mut self, program: &Path, prefix: &Path) -> Result<(), String> {
        let (file, extra) = self.kind.source();
        let log = fs::File::create(&self.log).expect("create app log");
        let mut cmd = Command::new(program);
        cmd.arg(apps_source_dir().join(file))
            .args(extra)
            .args(["--port", &self.port.to_string()])
            .args(["--control-port", &self.control_port.to_string()])
            .args(["--state", &initial_state()])
            // Unbuffered, so that the output is there when a test fails; no __pycache__
            // in the git tree.
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // The sources live in the git tree, their packages in the prefix.
            .env("NODE_PATH", prefix.join("node_modules"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone app log"))
            .stderr(log)
            // Its own group, so that Drop reaches any process it starts.
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                self.kill_group();
                return Err(format!(
                    "{} exited with {status}; output:\n{}",
                    self.kind.name(),
                    self.output()
                ));
            }
            if self.is_ready() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_group();
                return Err(format!(
                    "{} not ready after 30 s; output:\n{}",
                    self.kind.name(),
                    self.output()
                ));
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Ready when the control server answers and the app's port accepts a connection.
    /// Only a connection: a request would be counted by the app's instrumentation.
    fn is_ready(&self) -> bool {
        let control = http_request("GET", &self.control_url("/ready"), &[], &[]);
        control.is_ok_and(|r| r.status == 200)
            && TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], self.port)),
                Duration::from_millis(500),
            )
            .is_ok()
    }

    pub fn kind(&self) -> RealAppKind {
        self.kind
    }

    pub fn defaults(&self) -> &'static LibraryDefaults {
        self.kind.defaults()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, e.g. a Prometheus target.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://127.0.0.1:PORT/metrics`
    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.url())
    }

    /// `http://127.0.0.1:PORT/health`
    pub fn health_url(&self) -> String {
        format!("{}/health", self.url())
    }

    fn control_url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.control_port)
    }

    /// The PID of the process started (the leader of its process group).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its stdout and stderr so far (the server's request log included).
    pub fn output(&self) -> String {
        read_lossy(&self.log)
    }

    /// GET `path_and_query` on the app (counted by its instrumentation); panics with the
    /// app's output on a connection error.
    pub fn get(&self, path_and_query: &str) -> HttpResponse {
        let url = format!("{}{path_and_query}", self.url());
        http_request("GET", &url, &[], &[]).unwrap_or_else(|e| {
            panic!(
                "GET {url} failed: {e}; {} output:\n{}",
                self.kind.name(),
                self.output()
            )
        })
    }

    /// `GET /metrics`, which must answer 200 (counted by the libraries that count it,
    /// see [`LibraryDefaults::metrics_counted`]).
    pub fn metrics(&self) -> String {
        let resp = self.get("/metrics");
        assert_eq!(
            resp.status,
            200,
            "{} /metrics answered {}: {}",
            self.kind.name(),
            resp.status,
            resp.text()
        );
        resp.text()
    }

    /// One `GET /work?ms=MS&status=STATUS`; returns the response and its client-side
    /// latency.
    pub fn work(&self, ms: u64, status: u16) -> (HttpResponse, Duration) {
        let t0 = Instant::now();
        let resp = self.get(&format!("/work?ms={ms}&status={status}"));
        (resp, t0.elapsed())
    }

    /// Sets a service of `/health` (added if new): its status (`up` counts as up,
    /// anything else makes `/health` answer 503) and latency. Not an app request.
    pub fn set_service(&self, name: &str, status: &str, latency_ms: f64) {
        self.control(&format!(
            "/service?name={}&status={}&latency_ms={latency_ms}",
            super::urlencode(name),
            super::urlencode(status)
        ));
    }

    /// Sets one of [`APP_GAUGES`]. Not an app request.
    pub fn set_gauge(&self, name: &str, value: f64) {
        self.control(&format!(
            "/gauge?name={}&value={value}",
            super::urlencode(name)
        ));
    }

    fn control(&self, path_and_query: &str) {
        let url = self.control_url(path_and_query);
        let resp = http_request("POST", &url, &[], &[])
            .unwrap_or_else(|e| panic!("POST {url} failed: {e}; output:\n{}", self.output()));
        assert_eq!(resp.status, 200, "POST {url}: {}", resp.text());
    }

    /// True while the process it started runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops it: SIGTERM to its process group, SIGKILL after 2 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id() as i32;
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && group_alive(pgid) {
            let _ = child.try_wait();
            sleep(Duration::from_millis(20));
        }
        signal_group(pgid, libc::SIGKILL);
        let _ = child.wait();
    }

    fn kill_group(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(child.id() as i32, libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for RealApp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pgid: i32, sig: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) on the process group of a child this helper started.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// True while any process of group `pgid` exists (zombies of the leader included, until
/// it is reaped).
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    pgid > 0 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// The interpreter that runs `kind` under `prefix`; panics, saying how to install them,
/// when it or any of its packages is missing.
fn require_installed(kind: RealAppKind, prefix: &Path) -> PathBuf {
    let missing: Vec<&str> = kind
        .packages()
        .iter()
        .copied()
        .filter(|p| installed_version_in(prefix, p).is_none())
        .collect();
    let program = if kind.is_python() {
        prefix.join("venv/bin/python")
    } else {
        super::which("node").unwrap_or_else(|| PathBuf::from("node"))
    };
    let no_program = !program.is_file();
    if no_program || !missing.is_empty() {
        let what = if no_program {
            format!("{} is missing", program.display())
        } else {
            format!("missing packages {}", missing.join(", "))
        };
        panic!(
            "the {} app cannot run: {what} under {}; run `bash scripts/test.sh` (it \
             installs the pinned PIP_APP_PACKAGES and NPM_APP_PACKAGES there), or point \
             STACK_EXPORTER_APPS_PREFIX at an existing install",
            kind.name(),
            prefix.display()
        );
    }
    program
}

// ---------------------------------------------------------------------------------------
// Reading an app's histograms
// ---------------------------------------------------------------------------------------

/// A histogram family summed over the series whose labels include a given set.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// (upper bound, cumulative count), ascending, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

impl HistogramSnapshot {
    /// The cumulative count of the bucket with upper bound `le` (0 when there is none).
    pub fn bucket(&self, le: f64) -> f64 {
        self.buckets
            .iter()
            .find(|(b, _)| *b == le)
            .map_or(0.0, |(_, c)| *c)
    }

    /// The observations of `self` not in `earlier`, bucket by bucket.
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self
                .buckets
                .iter()
                .map(|&(le, c)| (le, c - earlier.bucket(le)))
                .collect(),
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }
}

/// `family` in the exposition `body`, summed over its series whose labels include all of
/// `want`; `None` when no such series exists (a histogram with labels has none before
/// its first observation).
pub fn histogram(body: &str, family: &str, want: &[(&str, &str)]) -> Option<HistogramSnapshot> {
    let matches = |labels: &BTreeMap<String, String>| {
        want.iter()
            .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
    };
    let mut buckets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    let (mut sum, mut count, mut seen) = (0.0, 0.0, false);
    for (name, labels, value) in samples(body) {
        if !matches(&labels) {
            continue;
        }
        let Some(suffix) = name.strip_prefix(family) else {
            continue;
        };
        match suffix {
            "_bucket" => {
                let le = match labels.get("le").map(String::as_str) {
                    Some("+Inf") => f64::INFINITY,
                    Some(le) => le.parse().unwrap_or(f64::NAN),
                    None => continue,
                };
                // Sort by the bound; total_cmp's order for non-negative floats is that of
                // their bits.
                buckets.entry(le.to_bits()).or_insert((le, 0.0)).1 += value;
                seen = true;
            }
            "_sum" => sum += value,
            "_count" => count += value,
            _ => {}
        }
    }
    seen.then(|| HistogramSnapshot {
        buckets: buckets.into_values().collect(),
        sum,
        count,
    })
}

/// The label names of `family`'s bucket series, `le` left out; empty when it has none.
pub fn histogram_label_names(body: &str, family: &str) -> Vec<String> {
    series_labels(body)
        .remove(&format!("{family}_bucket"))
        .map(|names| names.into_iter().filter(|n| n != "le").collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The load client
// ---------------------------------------------------------------------------------------

/// One kind of request in a load mix: `GET /work?ms=delay_ms&status=status` for `share`
/// of the requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadClass {
    pub share: f64,
    pub delay_ms: u64,
    pub status: u16,
}

/// What [`Load::start`] sends: `rate` requests per second for `duration`, in the mix of
/// `classes` (shares are normalised).
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub rate: f64,
    pub duration: Duration,
    pub classes: Vec<LoadClass>,
    /// Sending threads; `None`: enough for the slowest class at this rate (see
    /// [`LoadSpec::thread_count`]).
    pub threads: Option<usize>,
}

impl LoadSpec {
    /// No classes yet: add them with [`LoadSpec::class`].
    pub fn new(rate: f64, duration: Duration) -> LoadSpec {
        assert!(rate > 0.0, "a load needs a positive rate, not {rate}");
        LoadSpec {
            rate,
            duration,
            classes: Vec::new(),
            threads: None,
        }
    }

    pub fn class(mut self, share: f64, delay_ms: u64, status: u16) -> LoadSpec {
        assert!(share > 0.0, "a class needs a positive share, not {share}");
        self.classes.push(LoadClass {
            share,
            delay_ms,
            status,
        });
        self
    }

    pub fn threads(mut self, n: usize) -> LoadSpec {
        self.threads = Some(n.max(1));
        self
    }

    /// The threads it uses: as many as twice the requests in flight when every request
    /// takes its delay plus 50 ms, at least 2 and at most 64, so that the schedule holds
    /// with room for a slow machine.
    pub fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            let slowest = self.classes.iter().map(|c| c.delay_ms).max().unwrap_or(0);
            let in_flight = self.rate * (slowest as f64 + 50.0) / 1000.0;
            ((2.0 * in_flight).ceil() as usize + 2).clamp(2, 64)
        })
    }

    /// How many requests a whole run sends: one every 1 / rate within the duration.
    pub fn total(&self) -> usize {
        // Less a hair, so that 0.1 s × 30/s (3.0000000000000004) is 3 requests, not 4.
        (self.duration.as_secs_f64() * self.rate - 1e-9)
            .ceil()
            .max(0.0) as usize
    }

    /// The class of each request in order: each next request goes to the class furthest
    /// behind its share, so every prefix of the run holds each share to within one
    /// request.
    pub fn schedule(&self) -> Vec<usize> {
        assert!(!self.classes.is_empty(), "a load needs at least one class");
        let total_share: f64 = self.classes.iter().map(|c| c.share).sum();
        let mut sent = vec![0usize; self.classes.len()];
        (0..self.total())
            .map(|i| {
                let behind = |c: usize| {
                    self.classes[c].share / total_share * (i + 1) as f64 - sent[c] as f64
                };
                let next = (0..self.classes.len())
                    .max_by(|&a, &b| behind(a).total_cmp(&behind(b)).then(b.cmp(&a)))
                    .unwrap();
                sent[next] += 1;
                next
            })
            .collect()
    }
}

/// One request of a load run.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// Its place in the schedule (due at index / rate).
    pub index: usize,
    /// Index into [`LoadSpec::classes`].
    pub class: usize,
    /// When it was due and when it was sent, from the start of the run.
    pub due: Duration,
    pub sent: Duration,
    /// From before connecting to the last byte of the body (or to the error).
    pub latency: Duration,
    /// `None` when no response arrived; see `error`.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A load running in the background; [`Load::finish`] or [`Load::stop`] ends it and
/// returns what it saw. Dropping it stops it too.
pub struct Load {
    spec: LoadSpec,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<RequestRecord>>>,
    started: Instant,
}

impl Load {
    /// Starts sending to `base_url` (`http://127.0.0.1:PORT`) at once.
    pub fn start(base_url: &str, spec: LoadSpec) -> Load {
        let schedule = Arc::new(spec.schedule());
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers = (0..spec.thread_count())
            .map(|n| {
                let (schedule, stop, next) = (schedule.clone(), stop.clone(), next.clone());
                let classes = spec.classes.clone();
                let (base_url, rate) = (base_url.to_owned(), spec.rate);
                thread::Builder::new()
                    .name(format!("load-{n}"))
                    .spawn(move || {
                        let mut records = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::SeqCst);
                            let Some(&class) = schedule.get(index) else {
                                break;
                            };
                            let due = Duration::from_secs_f64(index as f64 / rate);
                            if !sleep_until(started + due, &stop) {
                                break;
                            }
                            let c = classes[class];
                            let url =
                                format!("{base_url}/work?ms={}&status={}", c.delay_ms, c.status);
                            let sent = started.elapsed();
                            let t0 = Instant::now();
                            let result = http_request("GET", &url, &[], &[]);
                            let latency = t0.elapsed();
                            let (status, error) = match result {
                                Ok(resp) => (Some(resp.status), None),
                                Err(e) => (None, Some(e.to_string())),
                            };
                            records.push(RequestRecord {
                                index,
                                class,
                                due,
                                sent,
                                latency,
                                status,
                                error,
                            });
                        }
                        records
                    })
                    .expect("spawn a load thread")
            })
            .collect();
        Load {
            spec,
            stop,
            workers,
            started,
        }
    }

    /// Waits for the whole run (its duration, then the requests in flight).
    pub fn finish(mut self) -> LoadReport {
        self.collect()
    }

    /// Sends nothing more, waits for the requests in flight.
    pub fn stop(mut self) -> LoadReport {
        self.stop.store(true, Ordering::SeqCst);
        self.collect()
    }

    fn collect(&mut self) -> LoadReport {
        let mut records: Vec<RequestRecord> = self
            .workers
            .drain(..)
            .flat_map(|w| w.join().expect("a load thread panicked"))
            .collect();
        records.sort_by_key(|r| r.index);
        LoadReport {
            spec: self.spec.clone(),
            records,
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Sleeps until `at` in slices, so that a stop is seen within 20 ms; false when stopped.
fn sleep_until(at: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        sleep((at - now).min(Duration::from_millis(20)));
    }
}

/// Runs `spec` against `app` to the end.
pub fn drive(app: &RealApp, spec: LoadSpec) -> LoadReport {
    Load::start(&app.url(), spec).finish()
}

/// What a load run saw.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub spec: LoadSpec,
    /// Every request sent, in schedule order.
    pub records: Vec<RequestRecord>,
    /// From the start to the last response.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Requests sent.
    pub fn count(&self) -> usize {
        self.records.len()
    }

    /// Requests that got a response.
    pub fn answered(&self) -> usize {
        self.records.iter().filter(|r| r.status.is_some()).count()
    }

    /// Requests that got no response (connection or protocol errors).
    pub fn failed(&self) -> usize {
        self.count() - self.answered()
    }

    /// Responses with exactly `status`.
    pub fn count_status(&self, status: u16) -> usize {
        self.records
            .iter()
            .filter(|r| r.status == Some(status))
            .count()
    }

    /// Responses by status.
    pub fn by_status(&self) -> BTreeMap<u16, usize> {
        let mut out = BTreeMap::new();
        for status in self.records.iter().filter_map(|r| r.status) {
            *out.entry(status).or_default() += 1;
        }
        out
    }

    /// Requests of class `class` (index into the spec's classes).
    pub fn count_class(&self, class: usize) -> usize {
        self.records.iter().filter(|r| r.class == class).count()
    }

    /// 5xx responses.
    pub fn server_errors(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.status.is_some_and(|s| s >= 500))
            .count()
    }

    /// 5xx responses over responses: the error rate an app's own counters show (requests
    /// that got no response never reached them). 0 when nothing was answered.
    pub fn error_share(&self) -> f64 {
        match self.answered() {
            0 => 0.0,
            n => self.server_errors() as f64 / n as f64,
        }
    }

    /// The `q` quantile (0 < q ≤ 1) of the answered requests' client-side latencies, by
    /// nearest rank: the smallest latency with at least q of them at or below it.
    /// Panics when nothing was answered.
    pub fn quantile(&self, q: f64) -> Duration {
        quantile_of(self.records.iter().filter(|r| r.status.is_some()), q)
    }

    /// [`LoadReport::quantile`] over the requests of one class.
    pub fn class_quantile(&self, class: usize, q: f64) -> Duration {
        quantile_of(
            self.records
                .iter()
                .filter(|r| r.status.is_some() && r.class == class),
            q,
        )
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p95(&self) -> Duration {
        self.quantile(0.95)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// Responses per second over the run.
    pub fn rate(&self) -> f64 {
        self.answered() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// How late the latest request was sent against its schedule: large when there were
    /// too few threads or the machine was starved.
    pub fn max_lag(&self) -> Duration {
        self.records
            .iter()
            .map(|r| r.sent.saturating_sub(r.due))
            .max()
            .unwrap_or_default()
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        let quantiles = if self.answered() > 0 {
            format!(
                "p50 {:?}, p95 {:?}, p99 {:?}",
                self.p50(),
                self.p95(),
                self.p99()
            )
        } else {
            "no latencies".to_string()
        };
        let first_error = self
            .records
            .iter()
            .find_map(|r| r.error.as_deref())
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default();
        format!(
            "{} sent at {}/s for {:?} ({} threads) over {:?}: {} answered, {} failed, by \
             status {:?}, error share {:.4}, {quantiles}, max lag {:?}{first_error}",
            self.count(),
            self.spec.rate,
            self.spec.duration,
            self.spec.thread_count(),
            self.elapsed,
            self.answered(),
            self.failed(),
            self.by_status(),
            self.error_share(),
            self.max_lag(),
        )
    }
}

fn quantile_of<'a>(records: impl Iterator<Item = &'a RequestRecord>, q: f64) -> Duration {
    assert!(q > 0.0 && q <= 1.0, "quantile {q} is not in (0, 1]");
    let mut latencies: Vec<Duration> = records.map(|r| r.latency).collect();
    assert!(
        !latencies.is_empty(),
        "no answered request to take a quantile of"
    );
    latencies.sort();
    let rank = (q * latencies.len() as f64).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}

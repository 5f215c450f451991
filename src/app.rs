//! From flags to a running exporter: load the config, start the scheduler and the
//! server, and react to signals (SIGHUP reloads, SIGTERM/SIGINT shut down).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::Flags;
use crate::config::{self, Config, ConfigErrors, Env};
use crate::exposition::{self, EncodedSnapshot, Format};
use crate::redact::Scrubber;
use crate::remote_write::RemoteWriter;
use crate::scheduler::{self, Scheduler, Store};
use crate::selfmetrics::RuntimeStatus;
use crate::server::{self, AppState};

/// How long shutdown waits for open requests and for sources to close connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub fn main(flags: Flags) -> ExitCode {
    crate::logging::init(flags.log_level, flags.log_format);
    let env = Env::process();
    let config_path = flags.config_file.clone().or_else(config::find_config_file);
    let mut config = match load(config_path.as_deref(), &env) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(raw) = &flags.listen_address {
        match parse_listen_address(raw) {
            Ok(addr) => config.web.listen_address = addr,
            Err(e) => {
                eprintln!("--web.listen-address: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if flags.check_config {
        println!("# config OK: {}", config.origin);
        print!("{}", config.to_redacted_yaml());
        return ExitCode::SUCCESS;
    }
    crate::memory::configure();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scrubber = Scrubber::new(config.secret_values());
    if flags.once {
        return runtime.block_on(once(&config, &scrubber));
    }
    runtime.block_on(serve(
        config,
        config_path,
        flags.listen_address,
        env,
        scrubber,
    ))
}

fn load(path: Option<&std::path::Path>, env: &Env) -> Result<Config, ConfigErrors> {
    match path {
        Some(p) => config::load_file(p, env),
        None => config::builtin_default(env),
    }
}

/// `:9650` means every interface, as in Prometheus's own flags.
pub fn parse_listen_address(raw: &str) -> Result<SocketAddr, String> {
    let full = if raw.starts_with(':') {
        format!("0.0.0.0{raw}")
    } else {
        raw.to_owned()
    };
    full.parse()
        .map_err(|_| format!("invalid listen address `{raw}`; expected e.g. 0.0.0.0:9650 or :9650"))
}

async fn once(config: &Config, scrubber: &Scrubber) -> ExitCode {
    let results = scheduler::poll_once(config, scrubber).await;
    let mut failed = false;
    for (spec, result, _) in &results {
        if let Err(e) = result {
            failed = true;
            eprintln!("source {} ({}): {e}", spec.common().name, spec.kind());
        }
    }
    let parts: Vec<(&str, &EncodedSnapshot)> = results
        .iter()
        .map(|(spec, _, snapshot)| (spec.common().name.as_str(), snapshot))
        .collect();
    let mut body = Vec::new();
    for c in exposition::assemble(&parts, Format::Classic, &mut body) {
        eprintln!(
            "source {}: family {} left out: type {} conflicts with {}",
            c.source, c.family, c.dropped, c.kept
        );
    }
    use std::io::Write;
    if std::io::stdout().write_all(&body).is_err() {
        return ExitCode::FAILURE;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn serve(
    config: Config,
    config_path: Option<PathBuf>,
    listen_override: Option<String>,
    env: Env,
    scrubber: Scrubber,
) -> ExitCode {
    let listener = match server::bind(config.web.listen_address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", config.web.listen_address);
            return ExitCode::FAILURE;
        }
    };
    let store = Arc::new(Store::new());
    let runtime_status = Arc::new(RuntimeStatus::default());
    let state = Arc::new(AppState::new(
        Arc::clone(&store),
        Arc::clone(&runtime_status),
        config.web.auth.clone(),
        config.origin.to_string(),
    ));
    let mut scheduler = Scheduler::start(&config, Arc::clone(&store), scrubber.clone());
    let mut remote_writer = RemoteWriter::start(
        &config,
        Arc::clone(&store),
        Arc::clone(&runtime_status),
        scrubber.clone(),
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let server = tokio::spawn({
        let web = config.web.clone();
        let state = Arc::clone(&state);
        async move { server::serve(listener, &web, state, shutdown_rx, SHUTDOWN_GRACE).await }
    });
    tracing::info!(
        address = %config.web.listen_address,
        config = %config.origin,
        sources = config.sources().count(),
        remote_write = config.remote_write.len(),
        version = crate::selfmetrics::VERSION,
        "stack_exporter listening"
    );

    let (mut hangup, mut terminate, mut interrupt) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(h), Ok(t), Ok(i)) => (h, t, i),
        _ => {
            eprintln!("cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let mut running = config;
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                running = reload(running, config_path.as_deref(), listen_override.as_deref(), &env, (&mut scheduler, &mut remote_writer), &state, &scrubber);
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    // Sources close their connections while remote write sends what is queued; both
    // are bounded by their own deadlines.
    tokio::join!(scheduler.shutdown(SHUTDOWN_GRACE), remote_writer.shutdown());
    let _ = server.await;
    ExitCode::SUCCESS
}

/// Loads the config again; on error keeps the running one. Returns the config now in force.
fn reload(
    running: Config,
    path: Option<&std::path::Path>,
    listen_override: Option<&str>,
    env: &Env,
    (scheduler, remote_writer): (&mut Scheduler, &mut RemoteWriter),
    state: &AppState,
    scrubber: &Scrubber,
) -> Config {
    let mut next = match load(path, env) {
        Ok(c) => c,
        Err(errors) => {
            state.runtime.record_reload(false);
            for e in &errors.0 {
                tracing::error!(error = %e, "config reload failed; keeping the running config");
            }
            return running;
        }
    };
    if let Some(addr) = listen_override.and_then(|raw| parse_listen_address(raw).ok()) {
        next.web.listen_address = addr;
    }
    if next.web.listen_address != running.web.listen_address
        || next.web.max_connections != running.web.max_connections
        || next.web.header_read_timeout != running.web.header_read_timeout
    {
        tracing::warn!("web.listen_address, max_connections and header_read_timeout take effect only after a restart");
        next.web.listen_address = running.web.listen_address;
        next.web.max_connections = running.web.max_connections;
        next.web.header_read_timeout = running.web.header_read_timeout;
    }
    // New secrets first, so nothing the new sources log can slip through.
    let mut secrets = next.secret_values();
    secrets.extend(running.secret_values());
    scrubber.set_secrets(secrets);
    scheduler.apply(&next);
    remote_writer.apply(&next);
    state.set_auth(next.web.auth.clone());
    state.set_origin(next.origin.to_string());
    state.runtime.record_reload(true);
    scrubber.set_secrets(next.secret_values());
    tracing::info!(
        config = %next.origin,
        sources = next.sources().count(),
        remote_write = next.remote_write.len(),
        "config reloaded"
    );
    next
}

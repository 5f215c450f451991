//! Log setup. Our own events at the chosen level; dependencies only at warn and above,
//! since their debug output can include connection details we do not control.

use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LogLevel};

pub fn init(level: LogLevel, format: LogFormat) {
    let filter = EnvFilter::new(format!("warn,stack_exporter={}", level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // A second init (tests in one process) is harmless; ignore its error.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

//! Process metrics from /proc, named as every Prometheus client library names them.
//! On a system without /proc the families are simply absent.

use crate::model::MetricFamily;

pub fn collect(out: &mut Vec<MetricFamily>) {
    let Some(stat) = read_stat() else { return };
    let ticks = clock_ticks_per_second();
    let page = page_size();
    out.push(
        MetricFamily::counter(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
        )
        .with_value((stat.utime + stat.stime) as f64 / ticks),
    );
    out.push(
        MetricFamily::gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
        )
        .with_value((stat.rss_pages * page) as f64),
    );
    out.push(
        MetricFamily::gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
        )
        .with_value(stat.vsize as f64),
    );
    if let Some(boot) = boot_time() {
        out.push(
            MetricFamily::gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
            )
            .with_value(boot as f64 + stat.start_ticks as f64 / ticks),
        );
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        out.push(
            MetricFamily::gauge("process_open_fds", "Number of open file descriptors.")
                .with_value(dir.count() as f64),
        );
    }
    if let Some(max) = max_fds() {
        out.push(
            MetricFamily::gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
            )
            .with_value(max as f64),
        );
    }
}

struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: u64,
}

fn read_stat() -> Option<Stat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&text)
}

/// Fields after the command name, which is parenthesised and may itself contain spaces
/// or parentheses; hence the split at the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field N of proc(5) is fields[N - 3].
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        start_ticks: field(22)?,
        vsize: field(23)?,
        rss_pages: field(24)?,
    })
}

fn boot_time() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn max_fds() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: as above.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let line = "1234 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0 9000 123456 789 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            (s.utime, s.stime, s.start_ticks, s.vsize, s.rss_pages),
            (250, 50, 9000, 123456, 789)
        );
    }

    #[test]
    fn reads_this_process() {
        let mut out = Vec::new();
        collect(&mut out);
        let rss = out
            .iter()
            .find(|f| f.name == "process_resident_memory_bytes")
            .unwrap();
        assert!(rss.samples[0].value > 1_000_000.0);
        assert!(out.iter().any(|f| f.name == "process_open_fds"));
    }
}

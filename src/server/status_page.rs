//! The human status page at `/`: one row per source, followed by a row per note of that
//! source (e.g. which app metrics its golden signals come from, each probe's last
//! result), then one row per remote-write endpoint. A source whose poll succeeded while
//! something it checks is failing (an app's health probe) reads "up, probe health
//! failing", styled as a problem, never plainly "up". Everything shown comes from the
//! store and the remote-write stats, whose error texts were scrubbed of secrets when the
//! poll or push failed.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::remote_write::EndpointSummary;
use crate::scheduler::{SourceState, SourceStatus};
use crate::selfmetrics::{REVISION, VERSION};

pub fn render(
    statuses: &[SourceStatus],
    remote_write: &[EndpointSummary],
    config_origin: &str,
    reload_ok: bool,
) -> String {
    let now = SystemTime::now();
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>stack_exporter</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2em}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
         .up{color:#176f2c}.down{color:#b00020}.pending{color:#8a6d00}\
         .problem{color:#b00020;font-weight:bold}\
         tr.note td{border-top:none;font-size:90%}</style></head><body>\n",
    );
    let _ = write!(
        html,
        "<h1>stack_exporter</h1>\n<p>Version {} ({}) &middot; config: {}{} &middot; \
         <a href=\"/metrics\">/metrics</a> &middot; <a href=\"/ready\">/ready</a> &middot; \
         <a href=\"/health\">/health</a></p>\n",
        escape(VERSION),
        escape(REVISION),
        escape(config_origin),
        if reload_ok {
            ""
        } else {
            " <strong class=\"down\">(last reload failed; see the log)</strong>"
        },
    );
    html.push_str(
        "<table>\n<tr><th>Source</th><th>Kind</th><th>Target</th><th>State</th>\
         <th>Last poll</th><th>Duration</th><th>Next poll</th><th>Series</th>\
         <th>Polls</th><th>Last error</th></tr>\n",
    );
    for s in statuses {
        let (state_class, state) = state_cell(s);
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"{}\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            s.kind.as_str(),
            escape(&s.target),
            state_class,
            state,
            s.last_poll
                .map(|t| relative(now, t))
                .unwrap_or_else(|| "never".into()),
            s.last_duration
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_default(),
            s.next_poll.map(|t| relative(now, t)).unwrap_or_default(),
            s.series,
            s.polls,
            s.last_error
                .as_ref()
                .map(|e| format!("{}: {}", e.reason.as_str(), escape(&e.message)))
                .unwrap_or_default(),
        );
        for note in &s.notes {
            let _ = writeln!(
                html,
                "<tr class=\"note\"><td></td><td>{}</td><td colspan=\"8\"{}>{}</td></tr>",
                escape(note.topic),
                if note.problem { " class=\"down\"" } else { "" },
                escape(&note.text),
            );
        }
    }
    html.push_str("</table>\n");
    if !remote_write.is_empty() {
        render_remote_write(&mut html, now, remote_write);
    }
    html.push_str("</body></html>\n");
    html
}

/// The State cell's class and (escaped) text.
fn state_cell(s: &SourceStatus) -> (&'static str, String) {
    if s.state == SourceState::Up && !s.failing.is_empty() {
        ("problem", format!("up, {}", escape(&s.failing.join(", "))))
    } else {
        (s.state.as_str(), s.state.as_str().to_owned())
    }
}

fn render_remote_write(html: &mut String, now: SystemTime, endpoints: &[EndpointSummary]) {
    html.push_str(
        "<h2>Remote write</h2>\n<table>\n<tr><th>Endpoint</th><th>URL</th><th>State</th>\
         <th>Last accepted push</th><th>Queued</th><th>Sent</th><th>Failed</th>\
         <th>Dropped</th><th>Last error</th></tr>\n",
    );
    for e in endpoints {
        // Failing wins over a past success: samples are piling up right now.
        let state = match (&e.last_error, e.last_success_ms) {
            (Some(_), _) => "down",
            (None, 0) => "pending",
            (None, _) => "up",
        };
        let last_success = match e.last_success_ms {
            0 => "never".to_owned(),
            ms => relative(now, UNIX_EPOCH + std::time::Duration::from_millis(ms)),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"{state}\">{state}</td>\
             <td>{last_success}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            escape(&e.name),
            escape(&e.url),
            e.queue,
            e.capacity,
            e.sent,
            e.failed,
            e.dropped,
            e.last_error.as_deref().map(escape).unwrap_or_default(),
        );
    }
    html.push_str("</table>\n");
}

fn relative(now: SystemTime, t: SystemTime) -> String {
    let unix = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match now.duration_since(t) {
        Ok(ago) => format!("{:.1} s ago <small>({unix})</small>", ago.as_secs_f64()),
        Err(ahead) => format!(
            "in {:.1} s <small>({unix})</small>",
            ahead.duration().as_secs_f64()
        ),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(last_success_ms: u64, last_error: Option<&str>) -> EndpointSummary {
        EndpointSummary {
            name: "vm".into(),
            url: "https://vm.example/api/v1/write".into(),
            sent: 1200,
            failed: 0,
            dropped: 7,
            queue: 30,
            capacity: 100000,
            last_success_ms,
            last_error: last_error.map(str::to_owned),
        }
    }

    #[test]
    fn remote_write_rows_say_whether_the_endpoint_is_delivering() {
        let page = render(&[], &[endpoint(0, None)], "built-in", true);
        assert!(page.contains("<h2>Remote write</h2>"), "{page}");
        assert!(page.contains("class=\"pending\">pending"), "{page}");
        assert!(
            page.contains("<td>never</td><td>30 / 100000</td>"),
            "{page}"
        );

        let page = render(&[], &[endpoint(1_700_000_000_000, None)], "built-in", true);
        assert!(page.contains("class=\"up\">up"), "{page}");
        assert!(page.contains("(1700000000)"), "{page}");

        let failing = endpoint(
            1_700_000_000_000,
            Some("retrying, samples kept: HTTP 503 <x>"),
        );
        let page = render(&[], &[failing], "built-in", true);
        assert!(page.contains("class=\"down\">down"), "{page}");
        assert!(page.contains("HTTP 503 &lt;x&gt;"), "{page}");
    }

    fn app(state: SourceState, failing: &[&str]) -> SourceStatus {
        let mut s = SourceStatus::pending(
            "api",
            crate::sources::SourceKind::App,
            "http://h/health",
            std::time::Duration::from_secs(15),
            std::time::Duration::from_secs(5),
        );
        s.state = state;
        s.failing = failing.iter().map(|f| (*f).to_owned()).collect();
        s.notes = vec![
            crate::sources::SourceNote {
                topic: "probe",
                text: "health: failing, HTTP 503 in 4.2 ms: <why>".into(),
                problem: true,
            },
            crate::sources::SourceNote {
                topic: "service",
                text: "db: up, latency 15.0 ms (probe health)".into(),
                problem: false,
            },
        ];
        s
    }

    #[test]
    fn an_app_with_a_failing_probe_is_not_plainly_up() {
        let page = render(
            &[app(
                SourceState::Up,
                &["probe health failing", "service <c> down"],
            )],
            &[],
            "built-in",
            true,
        );
        assert!(
            page.contains(
                "<td class=\"problem\">up, probe health failing, service &lt;c&gt; down</td>"
            ),
            "{page}"
        );
        assert!(!page.contains("class=\"up\""), "{page}");
        assert!(page.contains("<tr class=\"note\"><td></td><td>probe</td><td colspan=\"8\" class=\"down\">health: failing, HTTP 503 in 4.2 ms: &lt;why&gt;</td></tr>"), "{page}");
        assert!(
            page.contains(
                "<td>service</td><td colspan=\"8\">db: up, latency 15.0 ms (probe health)</td>"
            ),
            "{page}"
        );

        // Healthy: plainly up. Down: the poll's failure says it all.
        let page = render(&[app(SourceState::Up, &[])], &[], "built-in", true);
        assert!(page.contains("<td class=\"up\">up</td>"), "{page}");
        let page = render(
            &[app(SourceState::Down, &["probe health failing"])],
            &[],
            "built-in",
            true,
        );
        assert!(page.contains("<td class=\"down\">down</td>"), "{page}");
    }

    #[test]
    fn no_remote_write_section_without_endpoints() {
        assert!(!render(&[], &[], "built-in", true).contains("Remote write"));
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

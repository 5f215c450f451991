//! The effective config as YAML for `--check-config`, safe to paste into a ticket.

use serde::Serialize;

use super::secret::REDACTED;
use super::validate::fmt_duration;
use super::{Config, SourceCommon, WebAuth};
use std::collections::BTreeMap;

// Mirrors of the config types holding only printable values: secrets never enter these
// structs, so nothing added later to a view can leak by accident.

#[derive(Serialize)]
struct View<'a> {
    web: WebView,
    postgres: Vec<UrlSourceView<'a>>,
    redis: Vec<UrlSourceView<'a>>,
    apps: Vec<AppView<'a>>,
}

#[derive(Serialize)]
struct WebView {
    listen_address: String,
    max_connections: usize,
    header_read_timeout: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuthView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<&'static str>,
}

#[derive(Serialize)]
struct BasicAuthView {
    username: String,
    password: &'static str,
}

#[derive(Serialize)]
struct UrlSourceView<'a> {
    name: &'a str,
    url: &'a str,
    interval: String,
    timeout: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct AppView<'a> {
    name: &'a str,
    interval: String,
    timeout: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    probes: Vec<ProbeView<'a>>,
}

#[derive(Serialize)]
struct ProbeView<'a> {
    name: &'a str,
    url: &'a str,
    method: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'static str>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    expected_status: &'a [u16],
}

fn url_source<'a>(common: &'a SourceCommon, display_url: &'a str) -> UrlSourceView<'a> {
    UrlSourceView {
        name: &common.name,
        url: display_url,
        interval: fmt_duration(common.interval),
        timeout: fmt_duration(common.timeout),
        labels: &common.labels,
    }
}

impl Config {
    /// The effective config (defaults applied) as YAML, with URLs shown without their
    /// passwords and every secret replaced by `<redacted>`.
    pub fn to_redacted_yaml(&self) -> String {
        let web = &self.web;
        let view = View {
            web: WebView {
                listen_address: web.listen_address.to_string(),
                max_connections: web.max_connections,
                header_read_timeout: fmt_duration(web.header_read_timeout),
                basic_auth: match &web.auth {
                    Some(WebAuth::Basic { username, .. }) => Some(BasicAuthView {
                        username: username.clone(),
                        password: REDACTED,
                    }),
                    _ => None,
                },
                bearer_token: match &web.auth {
                    Some(WebAuth::Bearer { .. }) => Some(REDACTED),
                    _ => None,
                },
            },
            postgres: (self.postgres.iter())
                .map(|p| url_source(&p.common, &p.display_url))
                .collect(),
            redis: (self.redis.iter())
                .map(|r| url_source(&r.common, &r.display_url))
                .collect(),
            apps: (self.apps.iter())
                .map(|a| AppView {
                    name: &a.common.name,
                    interval: fmt_duration(a.common.interval),
                    timeout: fmt_duration(a.common.timeout),
                    labels: &a.common.labels,
                    probes: (a.probes.iter())
                        .map(|p| ProbeView {
                            name: &p.name,
                            url: &p.display_url,
                            method: &p.method,
                            headers: p
                                .headers
                                .iter()
                                .map(|(k, _)| (k.as_str(), REDACTED))
                                .collect(),
                            expected_status: &p.expected_status,
                        })
                        .collect(),
                })
                .collect(),
        };
        let body = serde_yaml::to_string(&view)
            .unwrap_or_else(|e| format!("# cannot render the config as YAML: {e}\n"));
        format!("# effective configuration from {}\n{body}", self.origin)
    }
}

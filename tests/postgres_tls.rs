//! TLS to PostgreSQL with libpq's `sslmode` meanings, against throwaway servers with
//! `ssl = on` and certificates made here with the `openssl` command line tool.

mod common;

use common::{metrics, sample_value};

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{tempdir, wait_until, ExporterProcess, Pki, TempPostgres};

fn pg_up(body: &str, source: &str) -> Option<f64> {
    sample_value(body, &format!("pg_up{{source=\"{source}\"}}"))
}

fn tls_errors(body: &str, source: &str) -> f64 {
    sample_value(
        body,
        &format!(
            "stack_exporter_source_errors_total{{source=\"{source}\",kind=\"postgres\",reason=\"tls\"}}"
        ),
    )
    .unwrap_or(0.0)
}

/// Starts the exporter on `sources` (`(name, url)`) and waits until every source has
/// published `pg_up` at least once; returns the exporter and that body.
fn export(sources: &[(&str, String)]) -> (ExporterProcess, String) {
    let mut yaml = String::from("defaults: { interval: 2s, timeout: 2s }\npostgres:\n");
    for (name, url) in sources {
        yaml.push_str(&format!("  - name: {name}\n    url: \"{url}\"\n"));
    }
    let exporter = ExporterProcess::start(&yaml, &[]);
    let mut body = String::new();
    wait_until(
        Duration::from_secs(20),
        "every source to publish pg_up",
        || {
            body = metrics(&exporter);
            sources.iter().all(|(name, _)| pg_up(&body, name).is_some())
        },
    );
    (exporter, body)
}

/// Waits until source `name` shows `pg_up` == `up`; for a down source also until a `tls`
/// error was counted. Panics with the body and the exporter's logs.
fn expect(exporter: &ExporterProcess, name: &str, up: bool) {
    let want = if up { 1.0 } else { 0.0 };
    let mut body = String::new();
    let ok = (0..100).any(|_| {
        body = metrics(exporter);
        let done = pg_up(&body, name) == Some(want) && (up || tls_errors(&body, name) >= 1.0);
        if !done {
            std::thread::sleep(Duration::from_millis(100));
        }
        done
    });
    assert!(
        ok,
        "source {name}: expected pg_up {want}{}\n{body}\nlogs:\n{}",
        if up { "" } else { " with reason tls" },
        exporter.logs()
    );
}

/// What the PostgreSQL tests need on top of the shared [`Pki`].
trait PgPki {
    fn server_cert(&self, name: &str, sans: &str);
    fn pg_self_signed(&self, name: &str);
    fn server_owns_key(&self, name: &str);
    fn server(&self, name: &str) -> TempPostgres;
}

impl PgPki for Pki {
    /// `NAME.pem` / `NAME.key`, signed by `ca` with subjectAltName `sans`.
    fn server_cert(&self, name: &str, sans: &str) {
        self.signed(
            name,
            &format!("subjectAltName={sans}\nextendedKeyUsage=serverAuth"),
        );
        self.server_owns_key(name);
    }

    fn pg_self_signed(&self, name: &str) {
        self.self_signed(name);
        self.server_owns_key(name);
    }

    /// PostgreSQL refuses a key file that others can read or that it does not own.
    fn server_owns_key(&self, name: &str) {
        let key = self.path(&format!("{name}.key"));
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let out = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&key)
                .output()
                .unwrap();
            assert!(out.status.success(), "chown: {out:?}");
        }
    }

    /// A server with `ssl = on` and certificate `name`.
    fn server(&self, name: &str) -> TempPostgres {
        TempPostgres::start_with_conf(&[
            "ssl = on",
            &format!("ssl_cert_file = '{}'", self.file(&format!("{name}.pem"))),
            &format!("ssl_key_file = '{}'", self.file(&format!("{name}.key"))),
        ])
    }
}

fn url(host: &str, pg: &TempPostgres, query: &str) -> String {
    format!(
        "postgresql://postgres@{host}:{}/postgres?{query}",
        pg.port()
    )
}

/// Backends of `application_name` whose connection is (`ssl`) or is not encrypted.
fn backends(pg: &TempPostgres, application_name: &str, ssl: bool) -> u32 {
    pg.psql(&format!(
        "select count(*) from pg_stat_ssl s join pg_stat_activity a using (pid) \
         where a.application_name = '{application_name}' and s.ssl = {ssl}"
    ))
    .parse()
    .unwrap()
}

#[test]
fn verify_full_and_verify_ca_check_what_libpq_checks() {
    let pki = Pki::new();
    pki.server_cert("both", "DNS:localhost,IP:127.0.0.1");
    pki.server_cert("nameonly", "DNS:localhost");
    let both = pki.server("both");
    let nameonly = pki.server("nameonly");
    let ca = pki.file("ca.pem");
    let other = pki.file("other-ca.pem");

    let (exporter, _) = export(&[
        (
            "full_name",
            url(
                "localhost",
                &nameonly,
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
        ),
        (
            "full_ip",
            url(
                "127.0.0.1",
                &both,
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
        ),
        (
            "full_ip_mismatch",
            url(
                "127.0.0.1",
                &nameonly,
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
        ),
        (
            "ca_ip",
            url(
                "127.0.0.1",
                &nameonly,
                &format!("sslmode=verify-ca&sslrootcert={ca}"),
            ),
        ),
        (
            "full_wrong_ca",
            url(
                "localhost",
                &both,
                &format!("sslmode=verify-full&sslrootcert={other}"),
            ),
        ),
        (
            "require_wrong_ca",
            url(
                "localhost",
                &both,
                &format!("sslmode=require&sslrootcert={other}"),
            ),
        ),
        (
            "full_builtin_roots",
            url("localhost", &both, "sslmode=verify-full"),
        ),
    ]);
    expect(&exporter, "full_name", true);
    expect(&exporter, "full_ip", true);
    expect(&exporter, "ca_ip", true);
    expect(&exporter, "full_ip_mismatch", false);
    expect(&exporter, "full_wrong_ca", false);
    // As in libpq, a root file makes `require` check the chain.
    expect(&exporter, "require_wrong_ca", false);
    expect(&exporter, "full_builtin_roots", false);

    let logs = exporter.logs();
    assert!(
        logs.contains(
            "certificate verification failed: certificate not valid for name 127.0.0.1 \
             (it is valid for localhost)"
        ),
        "{logs}"
    );
    assert!(
        logs.contains("certificate verification failed: certificate not issued by a trusted CA"),
        "{logs}"
    );
    assert!(backends(&both, "stack_exporter", true) >= 1);
    assert!(backends(&nameonly, "stack_exporter", true) >= 2);
}

#[test]
fn require_and_prefer_encrypt_without_verification() {
    let pki = Pki::new();
    pki.pg_self_signed("self");
    let pg = pki.server("self");
    let (exporter, _) = export(&[
        ("req", url("127.0.0.1", &pg, "sslmode=require")),
        (
            "pref",
            url("localhost", &pg, "sslmode=prefer&application_name=pref_src"),
        ),
        (
            "default",
            url("localhost", &pg, "application_name=default_src"),
        ),
        (
            "allow",
            url("localhost", &pg, "sslmode=allow&application_name=allow_src"),
        ),
        (
            "plain",
            url(
                "localhost",
                &pg,
                "sslmode=disable&application_name=plain_src",
            ),
        ),
    ]);
    for source in ["req", "pref", "default", "allow", "plain"] {
        expect(&exporter, source, true);
    }
    // The connection stays open between polls, so the server still lists it.
    assert_eq!(backends(&pg, "stack_exporter", true), 1);
    assert_eq!(backends(&pg, "stack_exporter", false), 0);
    assert_eq!(backends(&pg, "pref_src", true), 1);
    assert_eq!(backends(&pg, "default_src", true), 1);
    assert_eq!(backends(&pg, "allow_src", true), 1);
    assert_eq!(backends(&pg, "plain_src", false), 1);
    assert_eq!(backends(&pg, "plain_src", true), 0);
}

#[test]
fn a_server_without_tls_fails_required_tls_and_serves_the_others() {
    let pg = TempPostgres::start();
    let (exporter, _) = export(&[
        ("req", url("127.0.0.1", &pg, "sslmode=require")),
        ("full", url("localhost", &pg, "sslmode=verify-full")),
        ("pref", url("127.0.0.1", &pg, "sslmode=prefer")),
        ("plain", url("127.0.0.1", &pg, "sslmode=disable")),
    ]);
    expect(&exporter, "req", false);
    expect(&exporter, "full", false);
    expect(&exporter, "pref", true);
    expect(&exporter, "plain", true);
    let logs = exporter.logs();
    assert!(
        logs.contains("the server does not support TLS, which this sslmode requires"),
        "{logs}"
    );
    assert_eq!(backends(&pg, "stack_exporter", false), 2);
}

fn check_config(yaml: &str) -> (i32, String) {
    let dir = tempdir("stack-exporter-tls-check-");
    let path = dir.path().join("config.yml");
    fs::write(&path, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--check-config", "--config.file"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn one_source(url: &str) -> String {
    format!("postgres:\n  - name: db\n    url: \"{url}\"\n")
}

#[test]
fn config_check_uses_the_same_parser() {
    let pki = Pki::new();
    let ca = pki.file("ca.pem");

    let (code, text) = check_config(&one_source(
        "postgresql://u:hunter22@db.example/db?sslmode=sometimes",
    ));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("postgres[0].url"), "{text}");
    assert!(text.contains("unknown sslmode `sometimes`"), "{text}");
    assert!(!text.contains("hunter22"), "{text}");

    let missing = Path::new(&ca).with_file_name("missing.pem");
    let (code, text) = check_config(&one_source(&format!(
        "postgresql://u@db.example/db?sslmode=verify-full&sslrootcert={}",
        missing.display()
    )));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("postgres[0].url"), "{text}");
    assert!(
        text.contains(&format!(
            "cannot read sslrootcert file `{}`",
            missing.display()
        )),
        "{text}"
    );

    for mode in [
        "verify-full",
        "verify-ca",
        "require",
        "prefer",
        "allow",
        "disable",
    ] {
        let (code, text) = check_config(&one_source(&format!(
            "postgresql://u@db.example/db?sslmode={mode}&sslrootcert={ca}"
        )));
        assert_eq!(code, 0, "{mode}: {text}");
    }
    let (code, text) = check_config(&one_source(
        "postgresql://u@db.example/db?sslrootcert=system",
    ));
    assert_eq!(code, 0, "{text}");
}

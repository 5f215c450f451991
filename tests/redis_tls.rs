//! TLS and ACL users for the Redis source, against Debian's `redis-server` (built with
//! TLS: `TempRedis::start_tls` fails with the server's log if it is not) with TLS on a
//! port of its own and certificates made here with the `openssl`
//! command line tool.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{tempdir, Pki, TempRedis};

/// The shared [`Pki`] with a server certificate (for localhost and 127.0.0.1) and a
/// client certificate, both signed by `ca`.
fn redis_pki() -> Pki {
    let pki = Pki::new();
    pki.signed(
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth",
    );
    pki.signed("client", "extendedKeyUsage=clientAuth");
    pki
}

/// A Redis serving TLS with the server certificate; `auth_clients` is
/// `--tls-auth-clients` (`yes`: a client certificate signed by the CA is required).
fn tls_redis(pki: &Pki, auth_clients: &str) -> TempRedis {
    TempRedis::start_tls(&[
        "--tls-cert-file",
        &pki.file("server.pem"),
        "--tls-key-file",
        &pki.file("server.key"),
        "--tls-ca-cert-file",
        &pki.file("ca.pem"),
        "--tls-auth-clients",
        auth_clients,
    ])
}

fn tls_url(redis: &TempRedis) -> String {
    format!("rediss://127.0.0.1:{}", redis.tls_port().unwrap())
}

/// `stack_exporter --once` on one Redis source `url` with `extra` YAML lines under it;
/// returns (exit code, stdout, stderr).
fn once(url: &str, extra: &str) -> (i32, String, String) {
    let dir = tempdir("stack-exporter-redis-tls-once-");
    let path = dir.path().join("config.yml");
    std::fs::write(
        &path,
        format!("redis:\n  - name: cache\n    url: \"{url}\"\n{extra}"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--once", "--config.file", path.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn up(body: &str) -> Option<f64> {
    sample(body, "redis_up{source=\"cache\"}")
}

/// Runs `once` and asserts it polled the server: `redis_up 1`, exit 0.
fn assert_up(url: &str, extra: &str) -> String {
    let (code, body, stderr) = once(url, extra);
    assert_eq!(code, 0, "{stderr}\n{body}");
    assert_eq!(up(&body), Some(1.0), "{body}");
    assert!(sample(&body, "redis_memory_used_bytes{source=\"cache\"}").is_some());
    body
}

/// Runs `once` and asserts the poll failed with reason `tls` and a message containing
/// `why`.
fn assert_tls_failure(url: &str, extra: &str, why: &str) {
    let (code, body, stderr) = once(url, extra);
    assert_eq!(code, 1, "{stderr}\n{body}");
    assert_eq!(up(&body), Some(0.0), "{body}");
    assert!(
        stderr.contains("(redis): tls: connecting to rediss://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains(why), "wanted `{why}` in: {stderr}");
}

#[test]
fn rediss_with_the_servers_ca_works() {
    let pki = redis_pki();
    let redis = tls_redis(&pki, "no");
    let ca = format!("    tls: {{ ca_file: \"{}\" }}\n", pki.file("ca.pem"));
    let body = assert_up(&tls_url(&redis), &ca);
    assert!(body.contains("redis_version=\"7."), "{body}");
    // valkeys:// is the same protocol under Valkey's name.
    let valkeys = tls_url(&redis).replacen("rediss", "valkeys", 1);
    assert_up(&valkeys, &ca);
    // The host name is checked: the certificate names localhost too.
    let localhost = format!("rediss://localhost:{}", redis.tls_port().unwrap());
    assert_up(&localhost, &ca);
}

#[test]
fn without_the_ca_the_certificate_is_refused() {
    let pki = redis_pki();
    let redis = tls_redis(&pki, "no");
    // The default roots are Mozilla's, which do not include our test CA.
    assert_tls_failure(
        &tls_url(&redis),
        "",
        "certificate verification failed: certificate not issued by a trusted CA (check tls.ca_file)",
    );
    let other = format!("    tls: {{ ca_file: \"{}\" }}\n", pki.file("other-ca.pem"));
    assert_tls_failure(&tls_url(&redis), &other, "not issued by a trusted CA");
}

#[test]
fn insecure_skip_verify_accepts_any_certificate() {
    let pki = redis_pki();
    let redis = tls_redis(&pki, "no");
    assert_up(
        &tls_url(&redis),
        "    tls: { insecure_skip_verify: true }\n",
    );
    // The redis crate's own spelling of it in the URL means the same.
    assert_up(&format!("{}#insecure", tls_url(&redis)), "");
}

#[test]
fn client_certificates_when_the_server_requires_them() {
    let pki = redis_pki();
    let redis = tls_redis(&pki, "yes");
    let ca = format!("    tls: {{ ca_file: \"{}\" }}\n", pki.file("ca.pem"));
    assert_tls_failure(
        &tls_url(&redis),
        &ca,
        "the server requires a client certificate and none was sent",
    );
    let with_cert = format!(
        "    tls:\n      ca_file: \"{}\"\n      cert_file: \"{}\"\n      key_file: \"{}\"\n",
        pki.file("ca.pem"),
        pki.file("client.pem"),
        pki.file("client.key")
    );
    assert_up(&tls_url(&redis), &with_cert);
    let insecure_with_cert = format!(
        "    tls:\n      insecure_skip_verify: true\n      cert_file: \"{}\"\n      key_file: \"{}\"\n",
        pki.file("client.pem"),
        pki.file("client.key")
    );
    assert_up(&tls_url(&redis), &insecure_with_cert);
}

#[test]
fn a_plaintext_port_with_rediss_times_out_with_a_hint() {
    let redis = TempRedis::start();
    let url = format!("rediss://127.0.0.1:{}", redis.port());
    let (code, _, stderr) = once(
        &url,
        "    timeout: 1s\n    tls: { insecure_skip_verify: true }\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("is TLS enabled on this port?"), "{stderr}");
}

#[test]
fn tls_settings_are_validated_with_their_location() {
    let pki = redis_pki();
    let check = |url: &str, tls: &str| {
        let dir = tempdir("stack-exporter-redis-tls-check-");
        let path = dir.path().join("config.yml");
        std::fs::write(
            &path,
            format!("redis:\n  - name: cache\n    url: \"{url}\"\n    tls:\n{tls}"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
            .args(["--check-config", "--config.file", path.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = check(
        "redis://127.0.0.1:6379",
        &format!("      ca_file: \"{}\"\n", pki.file("ca.pem")),
    );
    assert!(!ok);
    assert!(
        text.contains("redis[0].tls: TLS options need a rediss:// or valkeys:// URL"),
        "{text}"
    );
    let (ok, text) = check("rediss://h:6380", "      ca_file: /nonexistent/ca.pem\n");
    assert!(!ok);
    assert!(
        text.contains("redis[0].tls.ca_file: cannot read CA file `/nonexistent/ca.pem`"),
        "{text}"
    );
    assert!(text.contains("config.yml:5:"), "located: {text}");
    let (ok, text) = check(
        "rediss://h:6380",
        &format!("      ca_file: \"{}\"\n", pki.file("ca.key")),
    );
    assert!(!ok);
    assert!(text.contains("holds no PEM certificate"), "{text}");
    let (ok, text) = check(
        "rediss://h:6380",
        &format!("      cert_file: \"{}\"\n", pki.file("client.pem")),
    );
    assert!(!ok);
    assert!(
        text.contains("redis[0].tls.cert_file: tls.cert_file needs tls.key_file"),
        "{text}"
    );
    let (ok, text) = check(
        "rediss://h:6380",
        &format!(
            "      cert_file: \"{}\"\n      key_file: \"{}\"\n",
            pki.file("client.pem"),
            pki.file("server.key")
        ),
    );
    assert!(!ok);
    assert!(text.contains("are not a usable pair"), "{text}");
    let (ok, text) = check(
        "rediss://h:6380",
        &format!(
            "      ca_file: \"{}\"\n      insecure_skip_verify: true\n",
            pki.file("ca.pem")
        ),
    );
    assert!(!ok);
    assert!(
        text.contains("tls.ca_file is not used when tls.insecure_skip_verify is true"),
        "{text}"
    );
    let (ok, text) = check("redis://h:6379#insecure", "      {}\n");
    assert!(!ok);
    assert!(
        text.contains("#insecure only applies to rediss:// and valkeys:// URLs"),
        "{text}"
    );
    // A good one, shown by --check-config.
    let (ok, text) = check(
        "rediss://:s3cret-pw@h:6380",
        &format!(
            "      ca_file: \"{}\"\n      cert_file: \"{}\"\n      key_file: \"{}\"\n",
            pki.file("ca.pem"),
            pki.file("client.pem"),
            pki.file("client.key")
        ),
    );
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("    ca_file: {}\n", pki.file("ca.pem"))),
        "{text}"
    );
    assert!(text.contains("    insecure_skip_verify: false\n"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

/// The minimal ACL of docs/redis.md ("Permissions (ACL)"), for an exporter without key
/// checks.
const EXPORTER_ACL: &[&str] = &[
    "resetkeys",
    "resetchannels",
    "-@all",
    "+info",
    "+ping",
    "+client|setname",
    "+config|get",
    "+slowlog|len",
    "+slowlog|get",
    "+latency|latest",
    "+cluster|info",
];

#[test]
fn acl_user_with_the_documented_commands_and_a_password_file() {
    let redis = TempRedis::start();
    let mut setuser = vec!["ACL", "SETUSER", "stack_exporter", "on", ">exp-pw-7719"];
    setuser.extend_from_slice(EXPORTER_ACL);
    redis.cli(&setuser);
    redis.cli(&["ACL", "LOG", "RESET"]);
    let dir = tempdir("stack-exporter-redis-acl-");
    let password_file: PathBuf = dir.path().join("redis-password");
    std::fs::write(&password_file, "exp-pw-7719\n").unwrap();
    let url = format!("redis://stack_exporter@127.0.0.1:{}", redis.port());
    let extra = format!("    password_file: \"{}\"\n", password_file.display());
    let body = assert_up(&url, &extra);
    for cmd in [
        "info|all",
        "config|get",
        "slowlog|len",
        "slowlog|get",
        "latency|latest",
    ] {
        assert_eq!(
            sample(
                &body,
                &format!("redis_optional_command_available{{source=\"cache\",cmd=\"{cmd}\"}}")
            ),
            Some(1.0),
            "{cmd}: {body}"
        );
    }
    assert!(sample(&body, "redis_config_io_threads{source=\"cache\"}").is_some());
    // The server logged no ACL denial: the documented set is enough.
    assert_eq!(redis.cli(&["ACL", "LOG"]), "", "ACL LOG after a poll");
    // The user shows up as authenticated under its own name.
    assert!(redis
        .cli(&["CLIENT", "LIST"])
        .lines()
        .all(|l| !l.contains("name=stack_exporter") || l.contains("user=stack_exporter")));

    // A wrong password is an auth failure that never shows the password.
    std::fs::write(&password_file, "wrong-pw-5531\n").unwrap();
    let (code, body, stderr) = once(&url, &extra);
    assert_eq!(code, 1, "{body}");
    assert!(stderr.contains("(redis): auth: "), "{stderr}");
    assert!(!stderr.contains("wrong-pw-5531"), "{stderr}");
    assert!(!body.contains("wrong-pw-5531"));
}

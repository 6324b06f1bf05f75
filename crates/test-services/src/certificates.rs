//! Test certificates made with `openssl`: a self-signed one, and one signed by a test CA that
//! a client can be told to trust.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};

/// Makes a self-signed certificate and key in `dir`; returns the server settings that use them.
pub(crate) fn self_signed_certificate(dir: &Path) -> anyhow::Result<Vec<String>> {
    let certificate = dir.join("server.crt");
    let key = dir.join("server.key");
    let output = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .context("running openssl to make a test certificate (Debian: apt-get install openssl)")?;
    ensure!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // PostgreSQL refuses a key that others may read.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok([
        "-c".to_owned(),
        "ssl=on".to_owned(),
        "-c".to_owned(),
        format!("ssl_cert_file={}", certificate.display()),
        "-c".to_owned(),
        format!("ssl_key_file={}", key.display()),
    ]
    .to_vec())
}

/// A server certificate for 127.0.0.1 and localhost, and the test CA that signed it.
pub(crate) struct CertificateFiles {
    pub(crate) ca: PathBuf,
    pub(crate) certificate: PathBuf,
    pub(crate) key: PathBuf,
}

pub(crate) fn certificate_signed_by_a_test_ca(dir: &Path) -> anyhow::Result<CertificateFiles> {
    let files = CertificateFiles {
        ca: dir.join("ca.crt"),
        certificate: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )?;
    let [ca, ca_key, certificate, key, request, extensions] = [
        &files.ca,
        &dir.join("ca.key"),
        &files.certificate,
        &files.key,
        &dir.join("server.csr"),
        &extensions,
    ]
    .map(|path| path.display().to_string());
    let new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        &format!("req -x509 {new_key} -days 2 -keyout {ca_key} -out {ca}"),
        "/CN=test CA",
    )?;
    openssl(
        &format!("req {new_key} -keyout {key} -out {request}"),
        "/CN=127.0.0.1",
    )?;
    openssl(
        &format!(
            "x509 -req -days 2 -CAcreateserial -in {request} -CA {ca} -CAkey {ca_key} \
             -extfile {extensions} -out {certificate}"
        ),
        "",
    )?;
    Ok(files)
}

/// Runs `openssl` with `arguments` (split on spaces: paths here have none) and `-subj subject`.
fn openssl(arguments: &str, subject: &str) -> anyhow::Result<()> {
    let mut command = Command::new("openssl");
    command.args(arguments.split_whitespace());
    if !subject.is_empty() {
        command.args(["-subj", subject]);
    }
    let output = command
        .output()
        .context("running openssl to make a test certificate (Debian: apt-get install openssl)")?;
    ensure!(
        output.status.success(),
        "openssl {arguments} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

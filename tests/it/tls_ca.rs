//! TLS on private servers with a CA made in the test: `verify-full` connects and the server
//! confirms the session is encrypted; a wrong CA, a host name the certificate does not carry,
//! and `require` against a server without TLS are each a typed TLS error, never a plaintext
//! session.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use weir::{Backend, ConnectErrorKind, Database, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::private::{Options, PrivateServer};

both_backends!(
    verify_full_trusts_only_its_ca_and_name,
    require_against_a_server_without_tls_is_a_tls_error,
);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two CAs, and a server certificate for `localhost` (and no other name or address) signed by
/// the first; the CA certificates as PEM files in a directory removed on drop.
struct Pki {
    dir: PathBuf,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: String,
    key: String,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "weir-pki-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca_cert, ca_key) = ca("weir test CA");
        let (other_cert, _) = ca("weir other CA");
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let ca = dir.join("ca.pem");
        let other_ca = dir.join("other-ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();
        std::fs::write(&other_ca, other_cert.pem()).unwrap();
        Pki {
            dir,
            ca,
            other_ca,
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

fn url(server: &PrivateServer, host: &str, options: &str) -> String {
    let (scheme, user) = match server.backend() {
        Backend::Postgres => ("postgres", "postgres"),
        Backend::MySql => ("mysql", "root"),
    };
    format!(
        "{scheme}://{user}@{host}:{}/weir?{options}",
        server.addr().port()
    )
}

/// Whether the server sees this session encrypted: PostgreSQL's `pg_stat_ssl`, MariaDB's
/// `Ssl_cipher` status.
async fn encrypted(db: &Database) -> bool {
    match db.backend() {
        Backend::Postgres => db
            .fetch_scalar(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                (),
            )
            .await
            .unwrap(),
        Backend::MySql => {
            let (_, cipher): (String, String) = db
                .fetch_one("SHOW SESSION STATUS LIKE 'Ssl_cipher'", ())
                .await
                .unwrap();
            !cipher.is_empty()
        }
    }
}

fn assert_tls_error(what: &str, r: Result<Database, Error>) {
    let err = r.err().unwrap_or_else(|| panic!("{what}: connected"));
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::Tls,
                ..
            }
        ),
        "{what}: {err:?}"
    );
    eprintln!("{what}: {err}");
}

/// A server certificate for `localhost` from a CA made here: `verify-full` with that CA,
/// through `localhost`, connects and the server sees the session encrypted (a plaintext
/// session on the same server is seen as such); with another CA, or through `127.0.0.1`,
/// which the certificate does not name, it is a typed TLS error.
async fn verify_full_trusts_only_its_ca_and_name(ctx: Ctx) {
    let pki = Pki::new();
    let options = Options {
        tls: Some((pki.cert.clone(), pki.key.clone())),
        ..Options::default()
    };
    let Some(server) = PrivateServer::start(ctx.backend, options).await else {
        return;
    };
    let ca = pki.ca.display().to_string();
    let other_ca = pki.other_ca.display().to_string();

    let db = Database::connect(&url(
        &server,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap();
    assert!(encrypted(&db).await, "verify-full connected without TLS");
    db.close(std::time::Duration::from_secs(1)).await;
    let plain = Database::connect(&url(&server, "127.0.0.1", "sslmode=disable"))
        .await
        .unwrap();
    assert!(
        !encrypted(&plain).await,
        "a plaintext session seen as encrypted"
    );
    plain.close(std::time::Duration::from_secs(1)).await;

    assert_tls_error(
        "another CA",
        Database::connect(&url(
            &server,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={other_ca}"),
        ))
        .await,
    );
    assert_tls_error(
        "a host name the certificate does not carry",
        Database::connect(&url(
            &server,
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ))
        .await,
    );
}

/// Against a server without TLS, `require`, `verify-ca` and `verify-full` are each a typed
/// TLS error, never a plaintext session; only `prefer` falls back to plaintext.
async fn require_against_a_server_without_tls_is_a_tls_error(ctx: Ctx) {
    let pki = Pki::new();
    let Some(server) = PrivateServer::start(ctx.backend, Options::default()).await else {
        return;
    };
    let ca = pki.ca.display().to_string();
    for options in [
        "sslmode=require".to_owned(),
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        format!("sslmode=verify-full&sslrootcert={ca}"),
    ] {
        assert_tls_error(
            &options,
            Database::connect(&url(&server, "localhost", &options)).await,
        );
    }
    let prefer = Database::connect(&url(&server, "localhost", "sslmode=prefer"))
        .await
        .unwrap();
    assert!(!encrypted(&prefer).await);
    prefer.close(std::time::Duration::from_secs(1)).await;
}

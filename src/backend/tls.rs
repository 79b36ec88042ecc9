//! TLS settings for both backends, with libpq's `sslmode` meanings.
//!
//! PostgreSQL gets a rustls [`ClientConfig`](rustls::ClientConfig) built here, with a verifier
//! per mode; MySQL gets [`mysql_async::SslOpts`], which builds its own rustls config from flags.
//!
//! The modes, as in libpq:
//! - `prefer` / `require`: encrypt, but accept any certificate, unless a root certificate file is
//!   given, in which case they verify the chain like `verify-ca`.
//! - `verify-ca`: the chain must lead to a trusted root; the host name is not checked.
//! - `verify-full`: the chain must lead to a trusted root and the certificate must name the host.
//!
//! The roots are the given root certificate file, or the Mozilla roots of `webpki-roots` when none
//! is given (libpq would read `~/.postgresql/root.crt`; a service rarely has one).

#[cfg(feature = "postgres")]
pub(crate) use pg::pg_tls_config;

/// The PostgreSQL side: a complete rustls config, since tokio-postgres-rustls takes one as is.
#[cfg(feature = "postgres")]
mod pg {
    use std::fmt;
    use std::fs::File;
    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    };
    use rustls_pki_types::pem::PemObject;

    use crate::config::SslMode;
    use crate::error::{Error, Result};

    /// Builds the rustls client config for `mode`, trusting `root_cert` (a PEM file) when given.
    ///
    /// The ring provider is passed explicitly so that this never depends on, nor panics for want
    /// of, a process-wide default provider (which is ambiguous when another crate in the binary
    /// enables aws-lc-rs).
    pub(crate) fn pg_tls_config(mode: SslMode, root_cert: Option<&Path>) -> Result<ClientConfig> {
        let provider = Arc::new(ring_provider());
        let verifier = verifier(mode, root_cert, &provider)?;
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("cannot set up TLS protocol versions: {e}")))?
            // `dangerous` is only the name of the hook for supplying a verifier: the verifier
            // for each mode is chosen in `verifier`, and verify-full uses rustls's own.
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(config)
    }

    /// rustls's ring provider.
    ///
    /// rustls 0.23.48 deprecates `ring::default_provider` because ring has no post-quantum key
    /// exchange (aws-lc-rs has it). weir stays on ring for now (aws-lc-rs builds a C library, and
    /// mysql_async is built with ring too); the `allow` keeps builds against newer rustls free of
    /// the warning, and does nothing on older ones.
    #[allow(deprecated)]
    pub(super) fn ring_provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    /// Chooses the certificate verifier for `mode`; separate from the config so tests can drive
    /// it with fixed certificates and a fixed clock.
    pub(super) fn verifier(
        mode: SslMode,
        root_cert: Option<&Path>,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>> {
        let webpki = |roots: RootCertStore| {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
                .build()
                .map_err(|e| Error::Tls(format!("cannot build the certificate verifier: {e}")))
        };
        Ok(match (mode, root_cert) {
            (SslMode::Disable, _) => {
                return Err(Error::Config(
                    "sslmode=disable has no TLS configuration".into(),
                ))
            }
            (SslMode::Prefer | SslMode::Require, None) => Arc::new(NoCertVerification {
                algorithms: provider.signature_verification_algorithms,
            }),
            // libpq verifies the chain whenever a root certificate file is present, even for
            // prefer and require: naming a root is taken as asking for it to be checked.
            (SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, Some(path)) => {
                Arc::new(ChainOnlyVerification {
                    inner: webpki(load_roots(path)?)?,
                })
            }
            (SslMode::VerifyCa, None) => Arc::new(ChainOnlyVerification {
                inner: webpki(builtin_roots())?,
            }),
            (SslMode::VerifyFull, Some(path)) => webpki(load_roots(path)?)?,
            (SslMode::VerifyFull, None) => webpki(builtin_roots())?,
        })
    }

    /// The Mozilla roots, used when no root file is given, so that managed databases with public
    /// certificates verify without configuration.
    fn builtin_roots() -> RootCertStore {
        RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
    }

    /// Reads every certificate of the PEM file at `path` as a trust root.
    ///
    /// Strict on purpose: a file that is unreadable, malformed or holds no certificate is an
    /// error, since silently trusting nothing (or something else) would fail later and obscurely.
    fn load_roots(path: &Path) -> Result<RootCertStore> {
        let file = File::open(path).map_err(|e| {
            Error::Tls(format!(
                "cannot open root certificate file {}: {e}",
                path.display()
            ))
        })?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_reader_iter(file) {
            let cert = cert.map_err(|e| {
                Error::Tls(format!(
                    "cannot read root certificate file {}: {e}",
                    path.display()
                ))
            })?;
            roots.add(cert).map_err(|e| {
                Error::Tls(format!("invalid certificate in {}: {e}", path.display()))
            })?;
        }
        if roots.is_empty() {
            return Err(Error::Tls(format!(
                "no PEM certificate (-----BEGIN CERTIFICATE-----) found in root certificate file {}",
                path.display()
            )));
        }
        Ok(roots)
    }

    /// `prefer` / `require` without a root file: libpq encrypts but trusts any certificate.
    ///
    /// The handshake signatures are still checked, so the session is bound to the key of the
    /// certificate presented (which makes channel binding meaningful); only who owns that key is
    /// left unverified.
    #[derive(Debug)]
    struct NoCertVerification {
        algorithms: WebPkiSupportedAlgorithms,
    }

    impl ServerCertVerifier for NoCertVerification {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    }

    /// `verify-ca`: the full webpki verification, minus the host name check.
    ///
    /// Accepting a name mismatch is sound only because `WebPkiServerVerifier` checks the chain,
    /// validity and revocation before the name, so a name error means everything else passed.
    /// The tests pin that order (a wrong CA with a wrong name must still be rejected).
    struct ChainOnlyVerification {
        inner: Arc<WebPkiServerVerifier>,
    }

    impl fmt::Debug for ChainOnlyVerification {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ChainOnlyVerification")
                .finish_non_exhaustive()
        }
    }

    impl ServerCertVerifier for ChainOnlyVerification {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                // Matched by variant, never by message text: the text changes between rustls
                // versions (mysql_async's text match broke that way).
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.inner.supported_verify_schemes()
        }
    }
}

/// The MySQL/MariaDB TLS options for `mode`, or `None` for `disable`.
///
/// mysql_async reads `root_cert` itself when connecting, so a missing or bad file is reported
/// then, not here. Any `Some` makes mysql_async require TLS: it has no "prefer" fallback to
/// plaintext, so `prefer` behaves as `require` on MySQL.
///
/// With mysql_async 0.37.1 and rustls 0.23, `verify-ca` is as strict as `verify-full`:
/// `with_danger_skip_domain_validation` matches the name error by its text, which rustls no
/// longer renders the way it expects (blackbeam/mysql_async#404), so a name mismatch is still
/// rejected. That fails closed; it needs no change here once mysql_async is fixed.
#[cfg(feature = "mysql")]
pub(crate) fn mysql_ssl_opts(
    mode: crate::config::SslMode,
    root_cert: Option<&std::path::Path>,
) -> Option<mysql_async::SslOpts> {
    use std::path::Path;

    use mysql_async::SslOpts;

    use crate::config::SslMode;

    let with_root = |opts: SslOpts, path: &Path| {
        // The given root replaces the built-in ones, as libpq's sslrootcert does: trusting
        // every public CA too would let any of them vouch for the database.
        // `PathOrBuf` is not exported by mysql_async; `From<PathBuf>` makes its `Path` variant.
        opts.with_root_certs(vec![path.to_path_buf().into()])
            .with_disable_built_in_roots(true)
    };
    let opts = SslOpts::default();
    Some(match (mode, root_cert) {
        (SslMode::Disable, _) => return None,
        (SslMode::Prefer | SslMode::Require, None) => opts.with_danger_accept_invalid_certs(true),
        // As for PostgreSQL: a root file given with prefer/require asks for the chain to be checked.
        (SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, Some(path)) => {
            with_root(opts, path).with_danger_skip_domain_validation(true)
        }
        (SslMode::VerifyCa, None) => opts.with_danger_skip_domain_validation(true),
        (SslMode::VerifyFull, Some(path)) => with_root(opts, path),
        (SslMode::VerifyFull, None) => opts,
    })
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "postgres")]
    mod pg {
        use std::path::{Path, PathBuf};
        use std::sync::Arc;
        use std::time::Duration;

        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        use rustls::{CertificateError, DigitallySignedStruct};
        use rustls_pki_types::pem::PemObject;

        use crate::backend::tls::pg::{ring_provider, verifier};
        use crate::backend::tls::pg_tls_config;
        use crate::config::SslMode;
        use crate::error::Error;

        // Test certificates made once with openssl (ECDSA P-256, valid 2026-11-22 to 2126-10-29):
        // two self-signed CAs, and a leaf for `db.example.com` signed by CA1. The tests verify at
        // a fixed time, so they do not expire.
        const CA1: &str = "-----BEGIN CERTIFICATE-----
MIIBlzCCAT2gAwIBAgIUU85oYdjriRD4Mi4vk7YtLji0mx8wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNd2VpciB0ZXN0IGNhMTAgFw0yNjExMjIxMjM4MjNaGA8yMTI2
MTAyOTEyMzgyM1owGDEWMBQGA1UEAwwNd2VpciB0ZXN0IGNhMTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABH95Sypcyb9jZsUBKwCApEBOs+o1Kd1nRYvkXY7AP9ef
q1WfMSCYGNqRiOO9XDhmKFFQCFDXS05vdjnHCU+dr8ujYzBhMB0GA1UdDgQWBBTw
/xKWYPTyMAFl8oPy5hQXEKI8pDAfBgNVHSMEGDAWgBTw/xKWYPTyMAFl8oPy5hQX
EKI8pDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQD
AgNIADBFAiEA0ySIOxGCzl6z8BQLkIg4xHmAua7+ixDEpYqFhpOe/4MCIF1V5pNI
hZl7PAOWdiFS7vgMrFS9ECys4p1oh2v2Akeu
-----END CERTIFICATE-----
";
        const CA2: &str = "-----BEGIN CERTIFICATE-----
MIIBljCCAT2gAwIBAgIUD0tEqhrM4ZX6z/zGJmdIcGbC3w8wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNd2VpciB0ZXN0IGNhMjAgFw0yNjExMjIxMjM4MjNaGA8yMTI2
MTAyOTEyMzgyM1owGDEWMBQGA1UEAwwNd2VpciB0ZXN0IGNhMjBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABFmrxf85KhKgUB3zutEDeklr9uOEwdHbfv8poEVz/jAF
Punlolh8iI5xyukVZQ5eiNMzeVkoll3+3CyQcVgmg1ejYzBhMB0GA1UdDgQWBBTR
dT/Yo8lKU631mPAQJnGgjz875jAfBgNVHSMEGDAWgBTRdT/Yo8lKU631mPAQJnGg
jz875jAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQD
AgNHADBEAiBJk2FCPM1TjHsinzz45sQuGLf1VWXlvaZqQ9pid0olawIgY67s4XVu
6msfJ2+qovNTjzz1Dt5+ymiMA5eLAZfiM1s=
-----END CERTIFICATE-----
";
        const LEAF: &str = "-----BEGIN CERTIFICATE-----
MIIBxzCCAW2gAwIBAgIUKY9AivLiQeygj9Va+d10bGkvL38wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNd2VpciB0ZXN0IGNhMTAgFw0yNjExMjIxMjM4MjNaGA8yMTI2
MTAyOTEyMzgyM1owGTEXMBUGA1UEAwwOZGIuZXhhbXBsZS5jb20wWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAATKT51fvplPWRcK9CHUeUqgy9jEsbrwOc9uDJfLUfla
yH0jsrJJo5Qp89MRDJQvbSQs0GW2MboinF8dU9FRA9yqo4GRMIGOMAwGA1UdEwEB
/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMBkGA1Ud
EQQSMBCCDmRiLmV4YW1wbGUuY29tMB0GA1UdDgQWBBRAfr2qbRKaSO3jLVyw+7bx
UlvITTAfBgNVHSMEGDAWgBTw/xKWYPTyMAFl8oPy5hQXEKI8pDAKBggqhkjOPQQD
AgNIADBFAiEA51DILaxCAjQxpJ6AYMjvsv9DT04gyFVPmMdeyymIy8cCIHfVDhAz
qy/fJvibHXLP55cMxfC2vQ6a/Efj5PqtvYoP
-----END CERTIFICATE-----
";
        /// `SIGNED_MESSAGE` signed with LEAF's key (ECDSA P-256, SHA-256, DER), as a TLS 1.3
        /// CertificateVerify would carry it.
        const SIGNED_MESSAGE: &[u8] = b"weir handshake transcript";
        const SIGNATURE: &[u8] = &[
            0x30, 0x46, 0x02, 0x21, 0x00, 0xfb, 0x46, 0x61, 0x34, 0xd1, 0xb5, 0x5f, 0xaf, 0xe3,
            0xc7, 0xc7, 0x44, 0x27, 0x17, 0xc8, 0x7c, 0x38, 0x3d, 0x83, 0x2f, 0x18, 0x99, 0xc1,
            0x32, 0x95, 0xf1, 0xad, 0x95, 0x10, 0x79, 0x45, 0xc7, 0x02, 0x21, 0x00, 0xcf, 0x74,
            0xf8, 0x74, 0x7e, 0x87, 0xf2, 0x75, 0xaa, 0xb3, 0xcc, 0xeb, 0x47, 0xc8, 0x82, 0x89,
            0xa1, 0xbc, 0x2b, 0x66, 0xf2, 0xaf, 0x2c, 0x69, 0xca, 0x96, 0xdb, 0xd3, 0x5c, 0x37,
            0xec, 0x2f,
        ];

        /// A file in the temp directory, removed when dropped, so tests need no extra crate.
        struct TempFile(PathBuf);

        impl TempFile {
            fn new(name: &str, contents: &[u8]) -> Self {
                let path =
                    std::env::temp_dir().join(format!("weir-tls-{}-{name}", std::process::id()));
                std::fs::write(&path, contents).unwrap();
                TempFile(path)
            }

            fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }

        const ALL_TLS_MODES: [SslMode; 4] = [
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ];

        fn leaf() -> CertificateDer<'static> {
            CertificateDer::from_pem_slice(LEAF.as_bytes()).unwrap()
        }

        /// Inside every test certificate's validity (2027-01-15).
        fn now() -> UnixTime {
            UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000))
        }

        fn verify(mode: SslMode, root: Option<&TempFile>, name: &str) -> Result<(), rustls::Error> {
            let provider = Arc::new(ring_provider());
            let verifier = verifier(mode, root.map(TempFile::path), &provider).unwrap();
            let name = ServerName::try_from(name.to_owned()).unwrap();
            verifier
                .verify_server_cert(&leaf(), &[], &name, &[], now())
                .map(|_| ())
        }

        fn assert_tls_error_naming(err: Error, path: &Path, needle: &str) {
            match err {
                Error::Tls(msg) => {
                    assert!(
                        msg.contains(&path.display().to_string()),
                        "path missing from {msg:?}"
                    );
                    assert!(msg.contains(needle), "{needle:?} missing from {msg:?}");
                }
                other => panic!("expected Error::Tls, got {other:?}"),
            }
        }

        #[test]
        fn builds_for_every_tls_mode_without_root_file() {
            for mode in ALL_TLS_MODES {
                pg_tls_config(mode, None).unwrap();
            }
        }

        #[test]
        fn builds_for_every_tls_mode_with_root_file() {
            let both = TempFile::new("both-cas.pem", format!("{CA1}{CA2}").as_bytes());
            for mode in ALL_TLS_MODES {
                pg_tls_config(mode, Some(both.path())).unwrap();
            }
        }

        #[test]
        fn disable_is_a_config_error() {
            assert!(matches!(
                pg_tls_config(SslMode::Disable, None),
                Err(Error::Config(_))
            ));
        }

        #[test]
        fn missing_root_file_is_a_tls_error_naming_the_path() {
            let path = std::env::temp_dir().join("weir-tls-no-such-dir/root.crt");
            let err = pg_tls_config(SslMode::VerifyFull, Some(&path)).unwrap_err();
            assert_tls_error_naming(err, &path, "cannot open");
        }

        #[test]
        fn file_without_certificates_is_an_error() {
            let garbage = TempFile::new("garbage.pem", b"this is not a certificate\n\x00\xff\n");
            let err = pg_tls_config(SslMode::VerifyCa, Some(garbage.path())).unwrap_err();
            assert_tls_error_naming(err, garbage.path(), "no PEM certificate");

            let empty = TempFile::new("empty.pem", b"");
            let err = pg_tls_config(SslMode::Require, Some(empty.path())).unwrap_err();
            assert_tls_error_naming(err, empty.path(), "no PEM certificate");
        }

        #[test]
        fn malformed_pem_is_an_error() {
            let bad = TempFile::new(
                "bad-base64.pem",
                b"-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
            );
            let err = pg_tls_config(SslMode::VerifyFull, Some(bad.path())).unwrap_err();
            assert_tls_error_naming(err, bad.path(), "cannot read");
        }

        #[test]
        fn pem_that_is_not_a_certificate_is_an_error() {
            // Valid PEM and base64 ("hello world"), but not DER.
            let bad = TempFile::new(
                "not-der.pem",
                b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
            );
            let err = pg_tls_config(SslMode::VerifyFull, Some(bad.path())).unwrap_err();
            assert_tls_error_naming(err, bad.path(), "invalid certificate");
        }

        #[test]
        fn verify_full_checks_chain_and_name() {
            let ca1 = TempFile::new("vf-ca1.pem", CA1.as_bytes());
            let ca2 = TempFile::new("vf-ca2.pem", CA2.as_bytes());
            verify(SslMode::VerifyFull, Some(&ca1), "db.example.com").unwrap();
            assert!(matches!(
                verify(SslMode::VerifyFull, Some(&ca1), "other.example.com"),
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                ))
            ));
            assert!(matches!(
                verify(SslMode::VerifyFull, Some(&ca2), "db.example.com"),
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ));
        }

        #[test]
        fn verify_ca_checks_chain_but_not_name() {
            let ca1 = TempFile::new("vca-ca1.pem", CA1.as_bytes());
            let ca2 = TempFile::new("vca-ca2.pem", CA2.as_bytes());
            verify(SslMode::VerifyCa, Some(&ca1), "db.example.com").unwrap();
            verify(SslMode::VerifyCa, Some(&ca1), "other.example.com").unwrap();
            verify(SslMode::VerifyCa, Some(&ca1), "10.0.0.1").unwrap();
            // A wrong name must not mask a wrong chain.
            for name in ["db.example.com", "other.example.com"] {
                assert!(matches!(
                    verify(SslMode::VerifyCa, Some(&ca2), name),
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer
                    ))
                ));
            }
        }

        #[test]
        fn verifying_modes_without_root_file_use_public_roots() {
            for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
                assert!(matches!(
                    verify(mode, None, "db.example.com"),
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer
                    ))
                ));
            }
        }

        #[test]
        fn prefer_and_require_with_root_file_verify_the_chain_only() {
            let ca1 = TempFile::new("req-ca1.pem", CA1.as_bytes());
            let ca2 = TempFile::new("req-ca2.pem", CA2.as_bytes());
            for mode in [SslMode::Prefer, SslMode::Require] {
                verify(mode, Some(&ca1), "other.example.com").unwrap();
                assert!(matches!(
                    verify(mode, Some(&ca2), "db.example.com"),
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer
                    ))
                ));
            }
        }

        #[test]
        fn prefer_and_require_without_root_file_accept_any_certificate() {
            for mode in [SslMode::Prefer, SslMode::Require] {
                verify(mode, None, "db.example.com").unwrap();
                verify(mode, None, "other.example.com").unwrap();
            }
        }

        #[test]
        fn accepting_any_certificate_still_checks_handshake_signatures() {
            let provider = Arc::new(ring_provider());
            let verifier = verifier(SslMode::Require, None, &provider).unwrap();
            assert!(!verifier.supported_verify_schemes().is_empty());

            let good = signed_struct(SIGNATURE);
            verifier
                .verify_tls13_signature(SIGNED_MESSAGE, &leaf(), &good)
                .unwrap();
            assert!(verifier
                .verify_tls13_signature(b"a different transcript", &leaf(), &good)
                .is_err());

            let mut tampered = SIGNATURE.to_vec();
            tampered[10] ^= 1;
            let tampered = signed_struct(&tampered);
            assert!(verifier
                .verify_tls13_signature(SIGNED_MESSAGE, &leaf(), &tampered)
                .is_err());
            assert!(verifier
                .verify_tls12_signature(SIGNED_MESSAGE, &leaf(), &tampered)
                .is_err());
        }

        /// A `DigitallySignedStruct` for ECDSA P-256 SHA-256: rustls only builds these by decoding
        /// the wire format, through its doc-hidden codec (fine for a test).
        fn signed_struct(signature: &[u8]) -> DigitallySignedStruct {
            use rustls::internal::msgs::codec::{Codec, Reader};

            let mut wire = vec![0x04, 0x03]; // ecdsa_secp256r1_sha256
            wire.extend_from_slice(&u16::try_from(signature.len()).unwrap().to_be_bytes());
            wire.extend_from_slice(signature);
            DigitallySignedStruct::read(&mut Reader::init(&wire)).unwrap()
        }
    }

    #[cfg(feature = "mysql")]
    mod mysql {
        use std::path::Path;

        use mysql_async::SslOpts;

        use crate::backend::tls::mysql_ssl_opts;
        use crate::config::SslMode;

        /// (accept_invalid_certs, skip_domain_validation, disable_built_in_roots, root count)
        fn flags(mode: SslMode, root: Option<&Path>) -> (bool, bool, bool, usize) {
            let opts = mysql_ssl_opts(mode, root).unwrap();
            if let Some(path) = root {
                // mysql_async does not export `PathOrBuf`, so the expected list is built the way
                // callers can build it.
                let expected = SslOpts::default().with_root_certs(vec![path.to_path_buf().into()]);
                assert_eq!(opts.root_certs(), expected.root_certs(), "{mode:?}");
            }
            (
                opts.accept_invalid_certs(),
                opts.skip_domain_validation(),
                opts.disable_built_in_roots(),
                opts.root_certs().len(),
            )
        }

        #[test]
        fn disable_has_no_tls() {
            assert!(mysql_ssl_opts(SslMode::Disable, None).is_none());
            assert!(mysql_ssl_opts(SslMode::Disable, Some(Path::new("/ca.pem"))).is_none());
        }

        #[test]
        fn without_root_file() {
            assert_eq!(flags(SslMode::Prefer, None), (true, false, false, 0));
            assert_eq!(flags(SslMode::Require, None), (true, false, false, 0));
            assert_eq!(flags(SslMode::VerifyCa, None), (false, true, false, 0));
            assert_eq!(flags(SslMode::VerifyFull, None), (false, false, false, 0));
        }

        #[test]
        fn with_root_file_it_is_the_only_root() {
            let path = Path::new("/etc/weir/ca.pem");
            for mode in [SslMode::Prefer, SslMode::Require, SslMode::VerifyCa] {
                assert_eq!(flags(mode, Some(path)), (false, true, true, 1), "{mode:?}");
            }
            assert_eq!(
                flags(SslMode::VerifyFull, Some(path)),
                (false, false, true, 1)
            );
        }
    }
}

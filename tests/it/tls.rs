//! TLS: sslmode reaches the driver. The local PostgreSQL offers TLS (a self-signed
//! certificate); the local MariaDB offers none. Private servers with a generated CA are the
//! reliability suite's job.

use weir::{Backend, ConnectErrorKind, Database, Error, Executor, SslMode};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    require_encrypts_or_fails_typed,
    verify_full_rejects_an_untrusted_certificate
);

/// `require` either encrypts (the server confirms it) or fails with a TLS error: never a silent
/// plaintext fallback. `prefer` always connects.
async fn require_encrypts_or_fails_typed(ctx: Ctx) {
    let prefer = Database::connect_with(ctx.config.clone().with_ssl_mode(SslMode::Prefer))
        .await
        .unwrap();
    let one: i64 = prefer.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert_eq!(one, 1);

    let required = Database::connect_with(ctx.config.clone().with_ssl_mode(SslMode::Require)).await;
    match ctx.backend {
        Backend::Postgres => {
            let db = required.unwrap();
            let ssl: bool = db
                .fetch_scalar(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    (),
                )
                .await
                .unwrap();
            assert!(ssl, "require connected without TLS");
        }
        Backend::MySql => {
            let have_ssl: String = prefer
                .fetch_scalar("SELECT @@have_ssl", ())
                .await
                .unwrap_or_default();
            if have_ssl == "YES" {
                required.unwrap();
            } else {
                let err = required.unwrap_err();
                assert!(
                    matches!(
                        err,
                        Error::Connect {
                            kind: ConnectErrorKind::Tls,
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
        }
    }
}

/// `verify-full` against a server whose certificate no trusted root signed is a TLS error.
async fn verify_full_rejects_an_untrusted_certificate(ctx: Ctx) {
    let err = Database::connect_with(ctx.config.clone().with_ssl_mode(SslMode::VerifyFull))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
}

//! Password authentication on a private server (PostgreSQL: `scram-sha-256` in `pg_hba.conf`;
//! MariaDB: a user identified by a password): a wrong password is a typed authentication error
//! that shows no password, and a password with URL-special characters connects whether it is
//! given to the builder or percent-encoded in a URL.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use weir::{Backend, ConnectErrorKind, Database, DatabaseConfig, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::private::{Options, PrivateServer};

both_backends!(wrong_password_is_typed_and_no_password_shows);

/// The password of the user `weir`: every character a URL gives a meaning to.
const CANARY: &str = "p@ss:w/rd?#%&";
/// A wrong one, as special.
const WRONG: &str = "Wr0ng:p@ss/w?rd#%&";

/// Fails the test if `text` holds either password, plain or percent-encoded.
fn assert_no_password(what: &str, text: &str) {
    for secret in [CANARY, WRONG] {
        let encoded = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
        assert!(
            !text.contains(secret) && !text.contains(&encoded),
            "{what} shows a password: {text}"
        );
    }
}

fn assert_authentication_error(what: &str, err: &Error) {
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::Authentication,
                ..
            }
        ),
        "{what}: {err:?}"
    );
    assert_no_password(what, &err.to_string());
    assert_no_password(what, &format!("{err:?}"));
}

/// A wrong password (builder or URL) and no password at all are each a typed authentication
/// error, and neither the wrong nor the right password appears in any error's Display or
/// Debug, nor in the Debug of the config or the pool; the right password connects as `weir`
/// through the builder and, percent-encoded, through a URL. On PostgreSQL the server stores it
/// as a SCRAM verifier, so SCRAM is what was proven.
async fn wrong_password_is_typed_and_no_password_shows(ctx: Ctx) {
    let options = Options {
        password: Some(CANARY.into()),
        ..Options::default()
    };
    let Some(server) = PrivateServer::start(ctx.backend, options).await else {
        return;
    };
    let weir = server.config().with_user("weir").with_max_size(1);
    let scheme = match ctx.backend {
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    };
    let url = |password: &str| {
        format!(
            "{scheme}://weir:{}@127.0.0.1:{}/weir?sslmode=disable",
            utf8_percent_encode(password, NON_ALPHANUMERIC),
            server.addr().port()
        )
    };

    if ctx.backend == Backend::Postgres {
        let admin = Database::connect_with(server.admin_config()).await.unwrap();
        let scram: bool = admin
            .fetch_scalar(
                "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'weir'",
                (),
            )
            .await
            .unwrap();
        assert!(scram, "the password of `weir` is not a SCRAM verifier");
        admin.close(std::time::Duration::from_secs(1)).await;
    }

    let wrong = weir.clone().with_password(WRONG);
    assert_no_password("config Debug", &format!("{wrong:?}"));
    let err = Database::connect_with(wrong.clone()).await.unwrap_err();
    assert_authentication_error("wrong password, builder", &err);
    let err = Database::connect(&url(WRONG)).await.unwrap_err();
    assert_authentication_error("wrong password, URL", &err);
    let err = Database::connect_with(weir.clone()).await.unwrap_err();
    assert_authentication_error("no password", &err);
    // Through a call on a lazily built pool, as a service would first see it.
    let lazy = Database::connect_lazy_with(wrong).unwrap();
    let err = lazy
        .fetch_scalar::<i64, _>("SELECT 1", ())
        .await
        .unwrap_err();
    assert_authentication_error("wrong password, first call", &err);
    assert_no_password("pool Debug", &format!("{lazy:?}"));

    let who_sql = ctx.sql("SELECT current_user::text", "SELECT CURRENT_USER()");
    let by_builder = Database::connect_with(weir.clone().with_password(CANARY))
        .await
        .unwrap();
    let who: String = by_builder.fetch_scalar(who_sql, ()).await.unwrap();
    assert!(who.starts_with("weir"), "{who}");
    by_builder.close(std::time::Duration::from_secs(1)).await;

    let config = DatabaseConfig::from_url(&url(CANARY)).unwrap();
    assert_no_password("config from URL, Debug", &format!("{config:?}"));
    let by_url = Database::connect(&url(CANARY)).await.unwrap();
    let who: String = by_url.fetch_scalar(who_sql, ()).await.unwrap();
    assert!(who.starts_with("weir"), "{who}");
    assert_no_password("pool Debug", &format!("{by_url:?}"));
    by_url.close(std::time::Duration::from_secs(1)).await;
}

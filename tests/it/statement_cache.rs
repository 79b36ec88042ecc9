//! The statement cache is bounded: `statement_cache_capacity` prepared statements per session
//! at most, however many distinct statements a session has run.

use weir::{Backend, Executor};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(a_session_keeps_at_most_capacity_prepared_statements);

/// With capacity 4, after 20 distinct statements the session's prepared statements on the
/// server are at most 4 (PostgreSQL: `pg_prepared_statements` of the same session; MySQL: the
/// session's prepares minus its closes).
async fn a_session_keeps_at_most_capacity_prepared_statements(ctx: Ctx) {
    const CAPACITY: usize = 4;
    let db = ctx
        .pool(|c| c.with_max_size(1).with_statement_cache_capacity(CAPACITY))
        .await;
    let session = db.acquire().await.unwrap();
    for i in 0..20i64 {
        let sql = format!("SELECT {i} + $1");
        let v: i64 = session.fetch_scalar(&sql, (1i64,)).await.unwrap();
        assert_eq!(v, i + 1);
    }
    let prepared: i64 = match ctx.backend {
        Backend::Postgres => session
            .fetch_scalar("SELECT count(*) FROM pg_prepared_statements", ())
            .await
            .unwrap(),
        Backend::MySql => {
            let status = |name: &'static str| {
                let session = &session;
                async move {
                    let v: String = session
                        .fetch_scalar(
                            "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS \
                             WHERE VARIABLE_NAME = $1",
                            (name,),
                        )
                        .await
                        .unwrap();
                    v.parse::<i64>().unwrap()
                }
            };
            status("Com_stmt_prepare").await - status("Com_stmt_close").await
        }
    };
    assert!(
        (1..=CAPACITY as i64).contains(&prepared),
        "{prepared} prepared statements in a session with capacity {CAPACITY}"
    );
}

//! LISTEN/NOTIFY: notifications arrive in order on PostgreSQL; MySQL/MariaDB say they have none.

use std::time::Duration;

use weir::{Backend, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(notifications_arrive_in_order_or_are_refused_typed);

/// On PostgreSQL every `pg_notify` reaches the listener, in order, with its payload; dropping
/// the listener ends it. On MySQL/MariaDB `listen` is a configuration error.
async fn notifications_arrive_in_order_or_are_refused_typed(ctx: Ctx) {
    let result = ctx.db.listen(&["jobs", "weird \"channel\""]).await;
    if ctx.backend == Backend::MySql {
        assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
        return;
    }
    let mut listener = result.unwrap();
    for i in 0..5 {
        ctx.db
            .execute(
                "SELECT pg_notify($1, $2)::text",
                ("jobs", format!("job {i}")),
            )
            .await
            .unwrap();
    }
    ctx.db
        .execute("SELECT pg_notify($1, $2)::text", ("weird \"channel\"", "q"))
        .await
        .unwrap();
    for i in 0..5 {
        let n = tokio::time::timeout(Duration::from_secs(5), listener.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            (n.channel.as_str(), n.payload),
            ("jobs", format!("job {i}"))
        );
    }
    let n = listener.recv().await.unwrap().unwrap();
    assert_eq!(n.channel, "weird \"channel\"");
    drop(listener);
    // The listener's connection was outside the pool and is gone with it.
    assert_eq!(ctx.db.status().in_use, 0);
}

//! fetch_stream reads rows as they arrive; a stream dropped early leaves nothing behind.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use weir::{Error, Executor, FromRow, Row};

use crate::both_backends;
use crate::common::{eventually, Ctx};

both_backends!(
    stream_yields_every_row_in_order,
    stream_dropped_early_frees_connection_and_server,
    stream_error_mid_way_is_reported,
    own_from_row_error_stops_the_statement_and_retires_the_session,
);

#[derive(Debug, FromRow)]
struct Item {
    id: i64,
    label: String,
}

/// Fills `items` with `n` rows through a recursive CTE-free digits cross join.
async fn fill(ctx: &Ctx, n: i64) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT NOT NULL)",
                "CREATE TABLE items (id BIGINT PRIMARY KEY, label VARCHAR(32) NOT NULL)",
            ),
            (),
        )
        .await
        .unwrap();
    ctx.db
        .execute(
            ctx.sql(
                "INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, $1::bigint) g",
                "INSERT INTO items SELECT n, CONCAT('item-', n) FROM ( \
                   SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1 AS n \
                   FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a, \
                        (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b, \
                        (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c, \
                        (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e, \
                        (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) f \
                 ) digits WHERE n <= $1",
            ),
            (n,),
        )
        .await
        .unwrap();
}

/// All rows arrive, in order, decoded, and the connection goes back afterwards. The stream is
/// read with `try_next` as it is, with no `pin_mut!` (it is `Unpin` on both backends).
async fn stream_yields_every_row_in_order(ctx: Ctx) {
    fill(&ctx, 20_000).await;
    let mut expected = 1;
    let mut stream = ctx.db.fetch_stream::<Item, _>(
        "SELECT id, label FROM items WHERE id > $1 ORDER BY id",
        (0,),
    );
    while let Some(item) = stream.try_next().await.unwrap() {
        assert_eq!(item.id, expected);
        assert_eq!(item.label, format!("item-{expected}"));
        expected += 1;
    }
    assert_eq!(expected, 20_001);
    assert_eq!(ctx.db.status().in_use, 0);
}

/// Taking a few rows and dropping the stream: the statement is stopped on the server, the
/// connection is not reused mid-result, and the pool keeps working.
async fn stream_dropped_early_frees_connection_and_server(ctx: Ctx) {
    fill(&ctx, 1_000).await;
    // A cross join large enough to run for a long time if not stopped.
    let slow = "SELECT a.id, a.label FROM items a, items b, items c /* weir-stream-drop */";
    {
        let stream = ctx.db.fetch_stream::<Item, _>(slow, ());
        let first: Vec<_> = stream.take(3).collect().await;
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(Result::is_ok));
    }
    assert!(
        eventually(Duration::from_secs(3), || async {
            ctx.db.status().in_use == 0
        })
        .await,
        "connection not released"
    );
    assert!(
        eventually(Duration::from_secs(3), || async {
            ctx.running("weir-stream-drop").await == 0
        })
        .await,
        "statement still running on the server"
    );
    for i in 0..20 {
        let n: i64 = ctx.db.fetch_scalar("SELECT $1 + 0", (i,)).await.unwrap();
        assert_eq!(n, i);
    }
}

/// A server error in the middle of a result ends the stream with that error.
async fn stream_error_mid_way_is_reported(ctx: Ctx) {
    fill(&ctx, 100).await;
    let sql = ctx.sql(
        "SELECT id, CASE WHEN id = 50 THEN (1 / (id - 50))::text ELSE label END AS label FROM items ORDER BY id",
        "SELECT id, label FROM items WHERE id < 50 OR (SELECT 1 UNION SELECT 2) = 1 ORDER BY id",
    );
    let results: Vec<_> = ctx.db.fetch_stream::<Item, _>(sql, ()).collect().await;
    let last = results.last().unwrap();
    assert!(last.is_err(), "expected the stream to end with an error");
    assert!(last.as_ref().unwrap_err().as_database_error().is_some());
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM items", ())
        .await
        .unwrap();
    assert_eq!(n, 100);
}

/// A `FromRow` of the caller's that rejects a row holding the id 3 with an error that is not
/// a decode error (in a cross join of three tables, the first rows already hold one).
#[derive(Debug)]
struct PickyItem;

impl FromRow for PickyItem {
    fn from_row(row: Row) -> weir::Result<Self> {
        for i in 0..row.len() {
            if row.try_get::<i64, _>(i)? == 3 {
                return Err(Error::Config("row 3 refused".into()));
            }
        }
        Ok(PickyItem)
    }
}

/// Whatever error the caller's `FromRow` returns, the rows after it are unread: the statement
/// is stopped on the server and the session is not lent out again (the next call on a
/// one-connection pool runs on a new session, and sees its own result only).
async fn own_from_row_error_stops_the_statement_and_retires_the_session(ctx: Ctx) {
    fill(&ctx, 1_000).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let id_sql = ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CONNECTION_ID() + 0",
    );
    let before: i64 = db.fetch_scalar(id_sql, ()).await.unwrap();
    let slow = "SELECT a.id, b.id, c.id FROM items a, items b, items c /* weir-stream-refused */";
    let results: Vec<_> = db.fetch_stream::<PickyItem, _>(slow, ()).collect().await;
    let (last, firsts) = results.split_last().unwrap();
    assert!(firsts.iter().all(Result::is_ok), "{firsts:?}");
    assert!(
        matches!(last, Err(Error::Config(m)) if m == "row 3 refused"),
        "{last:?}"
    );
    assert!(
        eventually(Duration::from_secs(3), || async {
            ctx.running("weir-stream-refused").await == 0
        })
        .await,
        "statement still running on the server"
    );
    let after: i64 = db.fetch_scalar(id_sql, ()).await.unwrap();
    assert_ne!(
        after, before,
        "the session with unread rows was lent out again"
    );
    let n: i64 = db.fetch_scalar("SELECT $1 + 0", (7_i64,)).await.unwrap();
    assert_eq!(n, 7);
}

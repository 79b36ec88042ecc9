//! Failover without a restart: a read-write pool over both hosts serves writes again once the
//! replica is promoted, and never re-runs a statement that may have reached the old primary.

use std::time::{Duration, Instant};

use weir::{Database, Error, Executor};

use crate::bed::{both, on_read_only, Bed, Host};

/// A table on the primary, with its first row replayed on the replica (so that a promoted
/// replica has it).
async fn table_on_both(bed: &mut Bed, db: &Database) {
    db.execute("DROP TABLE IF EXISTS fo", ()).await.unwrap();
    db.execute("CREATE TABLE fo (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    db.execute("INSERT INTO fo (id) VALUES (1)", ())
        .await
        .unwrap();
    let replica = bed.pool(&[Host::Replica], "").await.unwrap();
    let started = Instant::now();
    while replica
        .fetch_scalar::<i64, _>("SELECT COUNT(*) FROM fo", ())
        .await
        .unwrap_or(0)
        < 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not replicated"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    replica.close(Duration::from_secs(1)).await;
}

/// Inserts `id` until it succeeds: each failure is returned to the caller (never retried
/// behind its back) and is one a failover explains. Returns the failures seen.
async fn insert_until_it_succeeds(db: &Database, id: i32) -> Vec<Error> {
    let started = Instant::now();
    let mut failures = Vec::new();
    loop {
        match db.execute("INSERT INTO fo (id) VALUES ($1)", (id,)).await {
            Ok(n) => {
                assert_eq!(n, 1);
                return failures;
            }
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        Error::ConnectionLost(_)
                            | Error::NoSuitableHost { .. }
                            | Error::Connect { .. }
                            | Error::Unreachable { .. }
                    ) || e.is_read_only(),
                    "{e:?}"
                );
                assert!(started.elapsed() < Duration::from_secs(15), "{failures:?}");
                failures.push(e);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

both!(
    /// The primary stops, the replica is promoted: a read-write pool over both hosts serves
    /// writes again without a restart. Prints the failover time (stop to first write served).
    a_promoted_replica_takes_writes_without_restart,
    |bed| {
        let db = bed
            .pool(
                &[Host::Primary, Host::Replica],
                "target_session_attrs=read-write&pool_max_size=4",
            )
            .await
            .unwrap();
        table_on_both(&mut bed, &db).await;
        let primary = bed.server(Host::Primary);
        let pair = bed.pair();
        let stopped = Instant::now();
        bed.script(&["stop", primary]).await;
        let stop_took = stopped.elapsed();
        bed.script(&["promote", pair]).await;
        let promoted = Instant::now();
        let failures = insert_until_it_succeeds(&db, 2).await;
        let after_promotion = promoted.elapsed();
        let failover = stopped.elapsed();
        assert!(!on_read_only(&db).await);
        let rows: i64 = db
            .fetch_scalar("SELECT COUNT(*) FROM fo WHERE id = 2", ())
            .await
            .unwrap();
        assert_eq!(rows, 1);
        eprintln!(
            "{}: failover {failover:?} from the primary's stop to the first write served \
             (stop {stop_took:?}, promote {:?}, first write {after_promotion:?} after the \
             promotion; {} failed attempts, first: {:?})",
            db.backend(),
            failover - stop_took - after_promotion,
            failures.len(),
            failures.first().map(ToString::to_string)
        );
        db.close(Duration::from_secs(1)).await;
    }
);

both!(
    /// The primary turns read-only and the replica is promoted: the write that hit the old
    /// primary fails with a read-only error (never re-run elsewhere), its session is closed
    /// instead of reused, and the next write goes through the host list to the new primary.
    a_session_on_a_demoted_primary_is_discarded,
    |bed| {
        let db = bed
            .pool(
                &[Host::Primary, Host::Replica],
                "target_session_attrs=read-write&pool_max_size=1",
            )
            .await
            .unwrap();
        table_on_both(&mut bed, &db).await;
        let pair = bed.pair();
        bed.script(&["demote", pair]).await;
        bed.script(&["promote", pair]).await;
        let err = db
            .execute("INSERT INTO fo (id) VALUES (2)", ())
            .await
            .unwrap_err();
        assert!(err.is_read_only(), "{err:?}");
        // Not re-run: the new primary does not have it.
        db.execute("INSERT INTO fo (id) VALUES (3)", ()).await.unwrap();
        assert!(!on_read_only(&db).await);
        let ids: Vec<(i32,)> = db
            .fetch_all("SELECT id FROM fo ORDER BY id", ())
            .await
            .unwrap();
        assert_eq!(ids, [(1,), (3,)]);
        db.close(Duration::from_secs(1)).await;
    }
);

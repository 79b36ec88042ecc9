//! Many hosts, one URL: which host `target_session_attrs` picks, on real replicated servers.

use std::time::{Duration, Instant};

use weir::{Error, Executor};

use crate::bed::{both, on_read_only, Host};

both!(
    read_write_and_primary_pick_the_primary_whatever_the_order,
    |bed| {
        for hosts in [
            [Host::Replica, Host::Primary],
            [Host::Primary, Host::Replica],
        ] {
            for attrs in ["read-write", "primary"] {
                let db = bed
                    .pool(
                        &hosts,
                        &format!("target_session_attrs={attrs}&pool_max_size=2"),
                    )
                    .await
                    .unwrap();
                assert!(!on_read_only(&db).await, "{attrs} over {hosts:?}");
                db.execute("CREATE TABLE IF NOT EXISTS picked (id INT)", ())
                    .await
                    .unwrap();
                db.close(Duration::from_secs(1)).await;
            }
        }
    }
);

both!(
    read_only_standby_and_prefer_standby_pick_the_replica,
    |bed| {
        for hosts in [
            [Host::Primary, Host::Replica],
            [Host::Replica, Host::Primary],
        ] {
            for attrs in ["read-only", "standby", "prefer-standby"] {
                let db = bed
                    .pool(&hosts, &format!("target_session_attrs={attrs}"))
                    .await
                    .unwrap();
                assert!(on_read_only(&db).await, "{attrs} over {hosts:?}");
                db.close(Duration::from_secs(1)).await;
            }
        }
        // `any` takes the first host that answers, whatever it is.
        let db = bed.pool(&[Host::Replica, Host::Primary], "").await.unwrap();
        assert!(on_read_only(&db).await);
        db.close(Duration::from_secs(1)).await;
    }
);

both!(
/// `load_balance_hosts=random` spreads new sessions over the hosts that fit, and only those.
random_order_spreads_sessions_over_fitting_hosts, |bed| {
    let mut on_replica = 0;
    for _ in 0..20 {
        let db = bed
            .pool(
                &[Host::Primary, Host::Replica],
                "load_balance_hosts=random&pool_max_size=1",
            )
            .await
            .unwrap();
        on_replica += usize::from(on_read_only(&db).await);
        db.close(Duration::from_secs(1)).await;
    }
    assert!((1..20).contains(&on_replica), "{on_replica} of 20 on the replica");
    for _ in 0..5 {
        let db = bed
            .pool(
                &[Host::Primary, Host::Replica],
                "load_balance_hosts=random&target_session_attrs=read-write",
            )
            .await
            .unwrap();
        assert!(!on_read_only(&db).await);
        db.close(Duration::from_secs(1)).await;
    }
});

both!(
    prefer_standby_falls_back_to_the_primary_when_the_replica_is_down,
    |bed| {
        let replica = bed.server(Host::Replica);
        bed.script(&["stop", replica]).await;
        let db = bed
            .pool(
                &[Host::Replica, Host::Primary],
                "target_session_attrs=prefer-standby",
            )
            .await
            .unwrap();
        assert!(!on_read_only(&db).await);
        db.close(Duration::from_secs(1)).await;
        bed.script(&["start", replica]).await;
        bed.repaired();
    }
);

both!(
/// A first host that refuses, and one that accepts the TCP connection but never answers, are
/// each passed over: the first at once, the second after `connect_timeout`.
a_dead_or_silent_first_host_is_skipped_within_connect_timeout, |bed| {
    // Bound but never listening: refused. Listening but never accepting: silent.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_port = refused.local_addr().unwrap().port();
    drop(refused);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    let started = Instant::now();
    let db = bed
        .pool(
            &[Host::Port(refused_port), Host::Primary],
            "target_session_attrs=read-write",
        )
        .await
        .unwrap();
    assert!(!on_read_only(&db).await);
    let refused_took = started.elapsed();
    db.close(Duration::from_secs(1)).await;
    assert!(refused_took < Duration::from_secs(1), "{refused_took:?}");

    let started = Instant::now();
    let db = bed
        .pool(
            &[Host::Port(silent_port), Host::Primary],
            "target_session_attrs=read-write&connect_timeout=500ms",
        )
        .await
        .unwrap();
    assert!(!on_read_only(&db).await);
    let silent_took = started.elapsed();
    db.close(Duration::from_secs(1)).await;
    assert!(
        silent_took >= Duration::from_millis(500) && silent_took < Duration::from_millis(1500),
        "{silent_took:?}"
    );
    eprintln!("refused host skipped in {refused_took:?}, silent host in {silent_took:?}");
    drop(silent);
});

both!(
/// No host fits: the error is typed, names each host tried and why, and holds no password.
no_fitting_host_is_a_typed_error_naming_each_host, |bed| {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let err = bed
        .pool(
            &[Host::Primary, Host::Port(dead_port)],
            "target_session_attrs=standby",
        )
        .await
        .unwrap_err();
    let Error::NoSuitableHost { wanted, tried } = &err else {
        panic!("not NoSuitableHost: {err:?}");
    };
    assert_eq!(*wanted, "standby");
    assert_eq!(tried.len(), 2, "{tried:?}");
    assert!(tried[0].reason.contains("read-write primary"), "{tried:?}");
    assert!(tried[1].host.ends_with(&format!(":{dead_port}")), "{tried:?}");
    assert!(tried[1].reason.to_lowercase().contains("refused"), "{tried:?}");
    assert!(err.is_transient());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&bed.password()), "{shown}");
    eprintln!("{err}");
});

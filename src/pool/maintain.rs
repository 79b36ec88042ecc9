//! Maintenance: closes idle sessions past their idle timeout or lifetime, and keeps `min_idle`
//! open. One task per pool, holding only a weak reference: it ends with the pool.

use std::time::Duration;

use deadpool::managed::{self, Timeouts, WeakPool};

use super::manager::Manager;
use super::Settings;
use crate::stats::CloseReason;

pub(super) async fn run(pool: WeakPool<Manager>, settings: Settings) {
    let period = [
        settings.idle_timeout,
        settings.max_lifetime,
        Some(Duration::from_secs(30)),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(Duration::from_secs(30))
    .max(Duration::from_millis(100))
        / 2;
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let mut keep = pool.status().size;
        let removed = pool.retain(|session, metrics| {
            let idle_too_long = settings
                .idle_timeout
                .is_some_and(|t| session.idle_since.elapsed() >= t);
            let too_old = settings.max_lifetime.is_some_and(|t| metrics.age() >= t);
            if (idle_too_long && keep > settings.min_idle) || too_old {
                session.closing_for(if too_old {
                    CloseReason::MaxLifetime
                } else {
                    CloseReason::IdleTimeout
                });
                keep -= 1;
                false
            } else {
                true
            }
        });
        drop(removed);
        fill_min_idle(&pool, settings.min_idle).await;
    }
}

/// Opens sessions until `want` are open, without waiting for busy ones.
pub(super) async fn fill_min_idle(pool: &managed::Pool<Manager>, want: usize) {
    if pool.status().size >= want {
        return;
    }
    let now = Timeouts {
        wait: Some(Duration::ZERO),
        ..pool.timeouts()
    };
    // Holding `want` at once forces new sessions where idle ones run out.
    let held: Vec<_> =
        futures_util::future::join_all((0..want).map(|_| pool.timeout_get(&now))).await;
    for r in held {
        if let Err(e) = r {
            tracing::debug!("could not warm the pool up to min_idle: {e}");
        }
    }
}

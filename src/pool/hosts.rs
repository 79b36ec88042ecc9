//! The host list: where a new session goes. Each new session walks the list (in order, or
//! shuffled per session with `load_balance_hosts=random`) and stays on the first host that
//! answers within `connect_timeout` and whose role, as the session found it when opened, fits
//! `target_session_attrs`. Checkouts cost nothing: a session's role is read once, when opened.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{AnyConn, AnyConnector, HostRole, Slot};
use crate::config::{DatabaseConfig, LoadBalanceHosts, TargetSessionAttrs};
use crate::error::{Error, HostTried, Result};
use crate::session::Peer;

/// One host of the list and the connector that opens sessions on it.
struct Host {
    target: String,
    peer: Arc<Peer>,
    connector: AnyConnector,
}

/// The server `config` names (its first host, or its socket).
fn peer_of(config: &DatabaseConfig) -> Arc<Peer> {
    Arc::new(match &config.socket {
        Some(path) => Peer {
            address: path.display().to_string(),
            port: None,
        },
        None => Peer {
            address: config.host().to_owned(),
            port: Some(config.port()),
        },
    })
}

/// The hosts a pool opens sessions on, and how it picks one.
pub(super) struct Hosts {
    list: Vec<Host>,
    wanted: TargetSessionAttrs,
    balance: LoadBalanceHosts,
    /// Counts shuffles: each new session gets an order of its own.
    shuffles: AtomicU64,
    seed: RandomState,
}

impl Hosts {
    /// A connector per host of `config`.
    pub(super) fn new(config: &DatabaseConfig) -> Result<Hosts> {
        let list = config
            .per_host()
            .iter()
            .map(|c| {
                Ok(Host {
                    target: c.target(),
                    peer: peer_of(c),
                    connector: AnyConnector::new(c)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Hosts::with_list(config, list))
    }

    /// One host on a given connector (the unit tests' fake).
    #[cfg(test)]
    pub(super) fn single(config: &DatabaseConfig, connector: AnyConnector) -> Hosts {
        let host = Host {
            target: config.target(),
            peer: peer_of(config),
            connector,
        };
        Hosts::with_list(config, vec![host])
    }

    fn with_list(config: &DatabaseConfig, list: Vec<Host>) -> Hosts {
        Hosts {
            list,
            wanted: config.target_session_attrs,
            balance: config.load_balance_hosts,
            shuffles: AtomicU64::new(0),
            seed: RandomState::new(),
        }
    }

    /// The first host's connector: for what is not pooled (a listener) and the server's name.
    pub(super) fn first(&self) -> &AnyConnector {
        // `new` makes one per host and a config always has one.
        &self.list[0].connector
    }

    /// Every host's connector.
    pub(super) fn connectors(&self) -> impl Iterator<Item = &AnyConnector> {
        self.list.iter().map(|h| &h.connector)
    }

    /// The order this new session tries the hosts in.
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.list.len()).collect();
        if self.balance == LoadBalanceHosts::Random && order.len() > 1 {
            let mut x = self
                .seed
                .hash_one(self.shuffles.fetch_add(1, Ordering::Relaxed))
                | 1;
            // Fisher-Yates over xorshift: spreading sessions needs no better randomness.
            for i in (1..order.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
        }
        order
    }

    /// Opens a session on the first host that answers within `timeout` and fits; `slot`
    /// waits for a pool slot per attempt. With one host and no role wanted, its own error
    /// comes back unchanged; otherwise [`Error::NoSuitableHost`] names every host tried.
    /// Returns the session with the server it is on.
    pub(super) async fn connect<F, Fut>(
        &self,
        timeout: Duration,
        mut slot: F,
    ) -> Result<(AnyConn, Arc<Peer>)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Slot>>,
    {
        let passes: &[TargetSessionAttrs] = match self.wanted {
            // libpq's prefer-standby: a standby in a first pass, any host in a second.
            TargetSessionAttrs::PreferStandby => {
                &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
            }
            ref wanted => std::slice::from_ref(wanted),
        };
        let order = self.order();
        let mut tried = Vec::new();
        let mut unreachable = vec![false; self.list.len()];
        let mut last_error = None;
        for &pass in passes {
            for &i in &order {
                if unreachable[i] {
                    continue; // refused or silent in the first pass: not worth another wait
                }
                let host = &self.list[i];
                let attempt = async {
                    let mut conn = host.connector.connect(slot().await?).await?;
                    let role = match self.wanted {
                        TargetSessionAttrs::Any => None,
                        _ => Some(conn.role().await?),
                    };
                    Ok::<_, Error>((conn, role))
                };
                let reason = match tokio::time::timeout(timeout, attempt).await {
                    Ok(Ok((conn, None))) => return Ok((conn, Arc::clone(&host.peer))),
                    Ok(Ok((conn, Some(role)))) if fits(pass, role) => {
                        return Ok((conn, Arc::clone(&host.peer)))
                    }
                    Ok(Ok((_, Some(role)))) => format!("{role}, not {}", self.wanted.as_str()),
                    Ok(Err(e @ Error::PoolClosed)) => return Err(e),
                    Ok(Err(e)) => {
                        unreachable[i] = true;
                        let reason = match &e {
                            Error::Connect { message, .. } => message.clone(),
                            other => other.to_string(),
                        };
                        last_error = Some(e);
                        reason
                    }
                    Err(_) => {
                        unreachable[i] = true;
                        last_error = Some(Error::Unreachable {
                            target: host.target.clone(),
                            waited: timeout,
                            last_error: Some(format!("connect timed out after {timeout:?}")),
                        });
                        format!("no answer within {timeout:?}")
                    }
                };
                tried.push(HostTried {
                    host: host.target.clone(),
                    reason,
                });
            }
        }
        match last_error {
            // One host that could not be reached: its own error, as before host lists.
            Some(e) if self.list.len() == 1 => Err(e),
            _ => Err(Error::NoSuitableHost {
                wanted: self.wanted.as_str(),
                tried,
            }),
        }
    }
}

/// Whether a host of `role` fits `wanted` (libpq's meanings).
fn fits(wanted: TargetSessionAttrs, role: HostRole) -> bool {
    match wanted {
        TargetSessionAttrs::Any => true,
        TargetSessionAttrs::ReadWrite => !role.read_only,
        TargetSessionAttrs::ReadOnly => role.read_only,
        TargetSessionAttrs::Primary => !role.standby,
        TargetSessionAttrs::Standby | TargetSessionAttrs::PreferStandby => role.standby,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpq's table: which role each `target_session_attrs` takes.
    #[test]
    fn roles_fit_as_in_libpq() {
        let primary = HostRole {
            read_only: false,
            standby: false,
        };
        let read_only_primary = HostRole {
            read_only: true,
            standby: false,
        };
        let standby = HostRole {
            read_only: true,
            standby: true,
        };
        use TargetSessionAttrs as T;
        for (wanted, fits_which) in [
            (T::Any, [true, true, true]),
            (T::ReadWrite, [true, false, false]),
            (T::ReadOnly, [false, true, true]),
            (T::Primary, [true, true, false]),
            (T::Standby, [false, false, true]),
        ] {
            for (role, want) in [primary, read_only_primary, standby]
                .into_iter()
                .zip(fits_which)
            {
                assert_eq!(fits(wanted, role), want, "{wanted:?} {role:?}");
            }
        }
    }

    /// `load_balance_hosts=random` gives each session an order of its own, of every host.
    #[test]
    fn random_orders_differ_and_keep_every_host() {
        let config = DatabaseConfig::from_url("postgres://u@a,b,c,d/db?load_balance_hosts=random")
            .unwrap_or_else(|e| panic!("{e}"));
        let hosts = Hosts::new(&config).unwrap_or_else(|e| panic!("{e}"));
        let orders: std::collections::HashSet<Vec<usize>> = (0..50)
            .map(|_| {
                let mut o = hosts.order();
                let seen = o.clone();
                o.sort_unstable();
                assert_eq!(o, [0, 1, 2, 3]);
                seen
            })
            .collect();
        assert!(orders.len() > 5, "{orders:?}");
    }
}

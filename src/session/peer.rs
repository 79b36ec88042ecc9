//! Which server a session is on, for the events and spans that name it.

use std::fmt;

/// The host (or Unix socket path) and port a session was opened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Host name or address, or the socket path.
    pub(crate) address: String,
    /// `None` on a Unix socket.
    pub(crate) port: Option<u16>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) if self.address.contains(':') => write!(f, "[{}]:{port}", self.address),
            Some(port) => write!(f, "{}:{port}", self.address),
            None => f.write_str(&self.address),
        }
    }
}

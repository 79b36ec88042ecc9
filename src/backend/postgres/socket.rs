//! The socket under a PostgreSQL session, opened by weir rather than by tokio-postgres so that
//! closing it can wait for the server: after the goodbye (Terminate) tokio-postgres shuts its
//! side and is done, but the server process is still on its way out and still listed in
//! `pg_stat_activity`. Reading until the server closes its end means that, when a pooled
//! session's close returns, the server has let the session go, and its slot can be reused
//! without the server ever holding more sessions than the pool's maximum.

use std::future::Future;
use std::io;
#[cfg(unix)]
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Where the server listens.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    Tcp {
        host: String,
        port: u16,
    },
    #[cfg(unix)]
    Unix(PathBuf),
}

impl Endpoint {
    /// The name TLS verifies the server's certificate against.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_name(&self) -> &str {
        match self {
            Endpoint::Tcp { host, .. } => host,
            #[cfg(unix)]
            Endpoint::Unix(_) => "localhost",
        }
    }

    /// Opens a socket to the server within `timeout`.
    pub(crate) async fn connect(
        &self,
        timeout: Duration,
        linger: Duration,
    ) -> io::Result<PgSocket> {
        let io = tokio::time::timeout(timeout, self.open())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        Ok(PgSocket {
            io,
            linger,
            draining: None,
            half_close: true,
        })
    }

    async fn open(&self) -> io::Result<Io> {
        match self {
            Endpoint::Tcp { host, port } => {
                let stream = TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                // As libpq and tokio-postgres do: a peer that vanished without a word is
                // found by the kernel instead of hanging an idle pooled session forever.
                socket2::SockRef::from(&stream).set_tcp_keepalive(
                    &socket2::TcpKeepalive::new().with_time(Duration::from_secs(2 * 60 * 60)),
                )?;
                Ok(Io::Tcp(stream))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => Ok(Io::Unix(tokio::net::UnixStream::connect(path).await?)),
        }
    }
}

enum Io {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

/// A socket whose shutdown, after sending ours, waits (up to `linger`) for the server to close
/// its end.
pub(crate) struct PgSocket {
    io: Io,
    linger: Duration,
    draining: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether shutdown closes our sending side before it waits.
    half_close: bool,
}

impl PgSocket {
    /// For a cancel request: shutdown only waits for the server to close. PgBouncer drops a
    /// cancel request whose client closed before it was forwarded (our end of file would be
    /// that close); libpq waits for the close too.
    pub(crate) fn for_cancel(mut self) -> Self {
        self.half_close = false;
        self
    }
}

/// Runs `$body` with `$s` bound to the pinned stream, whichever kind it is (no virtual call).
macro_rules! on_io {
    ($self:expr, $s:ident => $body:expr) => {
        match &mut $self.io {
            Io::Tcp(stream) => {
                let $s = Pin::new(stream);
                $body
            }
            #[cfg(unix)]
            Io::Unix(stream) => {
                let $s = Pin::new(stream);
                $body
            }
        }
    };
}

impl AsyncRead for PgSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        on_io!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for PgSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        on_io!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_io!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Io::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_io!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.draining.is_none() {
            if self.half_close {
                ready!(on_io!(self, s => s.poll_shutdown(cx)))?;
            }
            let linger = self.linger;
            self.draining = Some(Box::pin(tokio::time::sleep(linger)));
        }
        // Whatever the server still sends is of no use now; its end of file is the news.
        let mut scratch = [0u8; 512];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match on_io!(self, s => s.poll_read(cx, &mut buf)) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => continue,
                // A reset is the server gone too.
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => break,
            }
        }
        match self.draining.as_mut() {
            Some(deadline) => {
                ready!(deadline.as_mut().poll(cx));
                tracing::debug!("the server did not close a finished PostgreSQL session in time");
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

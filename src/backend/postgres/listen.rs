//! `LISTEN` on a dedicated session outside the pool: notifications arrive on the session's own
//! message stream, which the pool's sessions do not read.

use futures_util::pin_mut;

use super::connect::{PgConnector, RunConnection};
use super::error::map_error;
use super::socket::PgSocket;
use crate::backend::Notification;
use crate::engine::Backend;
use crate::error::{Error, Result};

/// A listening session; dropping it closes the connection, which ends the `LISTEN`.
pub(crate) struct PgListener {
    _client: tokio_postgres::Client,
}

impl PgConnector {
    /// Opens a dedicated connection that listens on `channels` and forwards each notification.
    /// It lives outside the pool: notifications arrive on the connection's own message stream,
    /// which the pool's connections do not read.
    pub(crate) async fn listen(
        &self,
        channels: &[&str],
        sink: tokio::sync::mpsc::UnboundedSender<Result<Notification>>,
    ) -> Result<PgListener> {
        let (client, _) = self.open(Listening(sink)).await?;
        let mut sql = String::new();
        for channel in channels {
            sql.push_str("LISTEN ");
            sql.push_str(&crate::sql::quote_identifier(Backend::Postgres, channel)?);
            sql.push(';');
        }
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| map_error(&e))?;
        Ok(PgListener { _client: client })
    }
}

/// A LISTEN connection: its task forwards notifications to the listener.
struct Listening(tokio::sync::mpsc::UnboundedSender<Result<Notification>>);

impl RunConnection for Listening {
    fn run<T>(self, conn: tokio_postgres::Connection<PgSocket, T>)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        tokio::spawn(forward_notifications(conn, self.0));
    }
}

/// Drives a listening connection and forwards its notifications until either side goes.
async fn forward_notifications<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
    sink: tokio::sync::mpsc::UnboundedSender<Result<Notification>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    pin_mut!(messages);
    while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
        let item = match message {
            Ok(tokio_postgres::AsyncMessage::Notification(n)) => Ok(Notification {
                channel: n.channel().to_owned(),
                payload: n.payload().to_owned(),
                process_id: n.process_id(),
            }),
            Ok(_) => continue,
            Err(e) => Err(Error::ConnectionLost(e.to_string())),
        };
        let failed = item.is_err();
        if sink.send(item).is_err() || failed {
            return;
        }
    }
}

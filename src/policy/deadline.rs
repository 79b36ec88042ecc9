//! Deadlines that span a whole call, and the phase a call is in when one fires.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::error::{CallPhase, Error, Result};

/// Which phase of a call is under way, for the error a deadline produces.
#[derive(Debug, Default)]
pub(crate) struct PhaseCell(AtomicU8);

impl PhaseCell {
    pub(crate) fn set(&self, phase: CallPhase) {
        self.0.store(phase as u8, Ordering::Relaxed);
    }

    fn get(&self) -> CallPhase {
        match self.0.load(Ordering::Relaxed) {
            0 => CallPhase::Queue,
            1 => CallPhase::Acquire,
            _ => CallPhase::Execute,
        }
    }
}

/// Runs `call` under `timeout`; past it, the call is dropped (which cancels its statement on the
/// server) and the error names the phase it was in.
///
/// The call is boxed: held inline, it (and the `Timeout` around it) would double the size of
/// every caller's future, which is copied each time it moves; one allocation is cheaper.
pub(crate) fn with_deadline<'a, T: 'a>(
    timeout: Option<Duration>,
    phase: &'a PhaseCell,
    call: impl Future<Output = Result<T>> + 'a,
) -> impl Future<Output = Result<T>> + 'a {
    let call = Box::pin(call);
    async move {
        match timeout {
            None => call.await,
            Some(after) => match tokio::time::timeout(after, call).await {
                Ok(r) => r,
                Err(_) => Err(Error::QueryTimeout {
                    after,
                    phase: phase.get(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CallPhase;
    use std::time::Duration;

    /// The deadline names the phase the call was in when it fired.
    #[tokio::test(start_paused = true)]
    async fn deadline_reports_the_phase() {
        let phase = PhaseCell::default();
        let err = with_deadline(Some(Duration::from_millis(10)), &phase, async {
            phase.set(CallPhase::Acquire);
            std::future::pending::<Result<()>>().await
        })
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::QueryTimeout {
                    phase: CallPhase::Acquire,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

//! Listening for termination signals.

/// Listeners for SIGINT and SIGTERM on Unix, ctrl-c elsewhere.
///
/// The listeners are installed by [`Signals::install`], synchronously, so a
/// signal that arrives any time after it returns is seen by the next
/// [`recv`](Signals::recv).
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    listeners: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Install the listeners. If that fails, the error is logged and
    /// [`recv`](Self::recv) never resolves.
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listeners = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some((interrupt, terminate)),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for signals");
                    None
                }
            };
            Self { listeners }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Resolves at the next SIGINT or SIGTERM (ctrl-c on other platforms).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            match &mut self.listeners {
                Some((interrupt, terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        }
    }
}

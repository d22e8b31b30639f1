//! A service that stops on SIGTERM or ctrl-c without losing work.
//!
//! A task standing in for an HTTP server sends requests into the runtime
//! through a `SupervisorHandle`; the `ledger` actor books them. On the first
//! signal the runtime drains: the "server" gets its requests refused (it
//! would answer 503) and every request accepted before is booked. The report
//! goes to stderr, and the exit status is 0 only if the shutdown was clean.
//!
//! With `--stuck`, an `auditor` actor hangs in a handler and ignores the
//! shutdown signal: the drain then ends at the deadline (or at once on a
//! second signal), the report names the auditor and what it abandoned, and
//! the exit status is 1.
//!
//! ```sh
//! cargo run --example service            # then press ctrl-c
//! cargo run --example service -- --stuck # ctrl-c, then ctrl-c again
//! ```

use std::time::Duration;

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Request(u64);

struct Ledger {
    booked: u64,
    last: Option<u64>,
}

impl Actor for Ledger {
    type Event = Request;

    async fn on_start(&mut self) -> Result {
        println!("ready");
        Ok(())
    }

    async fn handle_event(&mut self, envelope: &Envelope<Request>) -> Result {
        let Request(n) = *envelope.event();
        assert!(
            self.last.is_none_or(|last| last < n),
            "requests out of order"
        );
        self.last = Some(n);
        self.booked += 1;
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        println!("ledger booked {} requests", self.booked);
        Ok(())
    }
}

/// Hangs on its first request and ignores the shutdown signal.
struct Auditor {
    ctx: Context<Request>,
}

impl Actor for Auditor {
    type Event = Request;

    async fn handle_event(&mut self, _envelope: &Envelope<Request>) -> Result {
        println!("auditor: holding a request");
        self.ctx.stopping().await;
        println!("auditor: ignoring the shutdown signal");
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let stuck = std::env::args().any(|arg| arg == "--stuck");
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_secs(10))
        .with_shutdown_grace(Duration::from_millis(500));
    let mut sup = Supervisor::<Request>::new(config);
    sup.add_actor(
        "ledger",
        |_| Ledger {
            booked: 0,
            last: None,
        },
        [DefaultTopic],
    )
    .expect("a valid actor");
    if stuck {
        sup.add_actor("auditor", |ctx| Auditor { ctx }, [DefaultTopic])
            .expect("a valid actor");
    }

    // The stand-in for an HTTP server: one request per millisecond until the
    // runtime refuses them.
    let handle = sup.handle();
    let server = tokio::spawn(async move {
        let mut accepted = 0_u64;
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        for n in 0.. {
            ticks.tick().await;
            match handle.send(Request(n)).await {
                Ok(()) => accepted += 1,
                Err(refused) if refused.is_stopping() => break, // "503"
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        accepted
    });

    let report = sup.run_until_signal().await;
    let accepted = server.await.expect("the server task");
    println!("server had {accepted} requests accepted");
    eprint!("{report}");
    std::process::exit(if report.is_clean() { 0 } else { 1 });
}

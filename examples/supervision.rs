//! Faults while running: a flaky actor restarted, a poison event given
//! back as a dead letter, an actor added and one stopped while the
//! supervisor runs, and the report at the end.
//!
//! - `ledger` is restartable. The first time it sees an order whose number
//!   is a multiple of 7 it fails (a passing fault); it is rebuilt, and the
//!   new instance is handed that order again and books it. Order 13 makes
//!   it panic every time: after its one retry it ends as a dead letter,
//!   which `main` writes to stderr. Nothing queued behind either is lost.
//! - `mailer` is stopped while orders flow: it handles what its mailbox
//!   holds, runs `on_shutdown`, and its report comes back at once.
//! - `auditor` is added while orders flow: it sees every order published
//!   after it was added.
//!
//! Run it with `cargo run --example supervision`.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Order(u32);

/// Books orders; see the module docs for its faults.
struct Ledger {
    /// Orders that already failed once (shared by every instance, as a
    /// database would be).
    seen: Arc<Mutex<HashSet<u32>>>,
    instance: u32,
    booked: u32,
}

impl Actor for Ledger {
    type Event = Order;

    async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
        let n = envelope.event().0;
        if n == 13 {
            panic!("order 13 cannot be booked");
        }
        if n.is_multiple_of(7) && self.seen.lock().expect("not poisoned").insert(n) {
            return Err(Error::external(std::io::Error::other(format!(
                "connection reset while booking order {n}"
            ))));
        }
        self.booked += 1;
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        println!(
            "ledger instance {} booked {} orders",
            self.instance, self.booked
        );
        Ok(())
    }
}

/// Counts what it handles and says so at the end.
struct Counter {
    name: &'static str,
    handled: u32,
}

impl Actor for Counter {
    type Event = Order;

    async fn handle_event(&mut self, _: &Envelope<Order>) -> Result {
        self.handled += 1;
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        println!("{} handled {} orders", self.name, self.handled);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result {
    // One line per panic on stderr, whatever RUST_BACKTRACE says.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let mut sup = Supervisor::<Order>::default();

    let seen = Arc::new(Mutex::new(HashSet::new()));
    let mut instances = 0;
    sup.add_restartable(
        "ledger",
        move |_ctx| {
            instances += 1;
            Ledger {
                seen: Arc::clone(&seen),
                instance: instances,
                booked: 0,
            }
        },
        [DefaultTopic],
        RestartPolicy::on_failure()
            .max_restarts(10)
            .within(Duration::from_secs(60)),
    )?;
    sup.add_actor(
        "mailer",
        |_ctx| Counter {
            name: "mailer",
            handled: 0,
        },
        [DefaultTopic],
    )?;

    // Every copy of an order that a subscriber will never handle.
    let mut dead_letters = sup.dead_letters()?;
    let undelivered = tokio::spawn(async move {
        let mut n = 0;
        while let Some(letter) = dead_letters.recv().await {
            eprintln!(
                "dead letter: order {} for {}: {}",
                letter.event().0,
                letter.actor(),
                letter.reason()
            );
            n += 1;
        }
        n
    });

    sup.start().await?;
    let handle = sup.handle();
    for n in 1..=19 {
        handle.send(Order(n)).await?;
    }
    // Wait until order 20 has been handled (or given up) by everyone, so
    // that the auditor, added next, starts with order 21.
    handle.send_tracked(Order(20)).await?.await;

    let auditor = handle
        .add_actor(
            "auditor",
            |_ctx| Counter {
                name: "auditor",
                handled: 0,
            },
            [DefaultTopic],
        )
        .await?;
    println!("added {auditor} while running");
    for n in 21..=29 {
        handle.send(Order(n)).await?;
    }
    handle.send_tracked(Order(30)).await?.await;

    let mailer = handle.stop_actor(&ActorId::new("mailer")).await?;
    println!(
        "stopped mailer while running: routed {}, handled {}",
        mailer.routed, mailer.handled
    );
    for n in 31..=40 {
        handle.send(Order(n)).await?;
    }

    let report = sup.shutdown().await;
    let letters = undelivered.await.expect("the dead-letter task");
    println!("{letters} dead letter(s)\n{report}");
    Ok(())
}

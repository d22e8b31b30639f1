//! actix: actors on actix's own single-thread runtime (`actix_rt::System`,
//! a current-thread tokio runtime with a `LocalSet`); messages sent with
//! `try_send`, yielding while the mailbox (capacity [`CAPACITY`]) is full.
//! actix cannot run on a multi-thread tokio runtime, so it has no 2-worker
//! figures.

use std::{sync::Arc, time::Duration};

use actix::{Actor, Addr, Context, Handler, Message, prelude::SendError};
use actix_rt::SystemRunner;

use crate::{CAPACITY, Done, Payload, Start, Tally, finished};

/// The message: a payload, handled without a reply.
struct Event<const N: usize>(Payload<N>);

impl<const N: usize> Message for Event<N> {
    type Result = ();
}

/// Counts what it handles.
struct Counter {
    tally: Tally,
}

impl Actor for Counter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(CAPACITY);
    }
}

impl<const N: usize> Handler<Event<N>> for Counter {
    type Result = ();

    fn handle(&mut self, msg: Event<N>, _: &mut Context<Self>) {
        self.tally.count(&msg.0);
    }
}

/// Send with `try_send`, yielding to the scheduler while the mailbox is
/// full.
async fn send<const N: usize>(addr: &Addr<Counter>, mut event: Event<N>) {
    loop {
        match addr.try_send(event) {
            Ok(()) => return,
            Err(SendError::Full(back)) => {
                event = back;
                tokio::task::yield_now().await;
            }
            Err(SendError::Closed(_)) => panic!("actor stopped"),
        }
    }
}

/// A producer task sending `n` events to `targets` counter actors.
async fn run<const N: usize>(n: u64, targets: usize) -> Duration {
    let start = Start::new();
    let (done, end) = Done::new(targets);
    let addrs: Vec<Addr<Counter>> = (0..targets)
        .map(|_| {
            Counter {
                tally: Tally::new(n, &done),
            }
            .start()
        })
        .collect();
    crate::settle().await;
    let start_for = Arc::clone(&start);
    actix_rt::spawn(async move {
        start_for.mark();
        for seq in 0..n {
            let event = Payload::<N>::new(0, seq);
            for addr in &addrs {
                send(addr, Event(event)).await;
            }
        }
    });
    finished(end).await - start.get()
}

/// A producer task to one actor, on `system`.
pub fn one_to_one<const N: usize>(system: &SystemRunner, n: u64) -> Duration {
    system.block_on(run::<N>(n, 1))
}

/// A producer task sending every event to `subscribers` actors, on `system`.
pub fn fan_out(system: &SystemRunner, n: u64, subscribers: usize) -> Duration {
    system.block_on(run::<32>(n, subscribers))
}

/// A fresh actix system to run the workloads on.
pub fn system() -> SystemRunner {
    actix_rt::System::new()
}

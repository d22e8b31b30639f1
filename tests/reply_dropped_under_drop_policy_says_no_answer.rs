//! A query dropped under `OverflowPolicy::Drop` (its subscriber's mailbox
//! is full) resolves its answer with `NoAnswer::Unanswered` at once, while
//! the subscriber is still busy with an earlier event.

mod support;

use maiko::prelude::*;
use support::{Door, unanswered};

#[derive(Event, Clone, Debug)]
enum Ask {
    Job(u32),
    Total(Reply<u32>),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Droppable;

impl Topic<Ask> for Droppable {
    fn from_event(_: &Ask) -> Self {
        Droppable
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Drop
    }
}

struct Slow {
    door: Door,
}

impl Actor for Slow {
    type Event = Ask;

    async fn handle_event(&mut self, envelope: &Envelope<Ask>) -> Result {
        match envelope.event() {
            Ask::Job(0) => self.door.pass().await,
            Ask::Job(_) => {}
            Ask::Total(reply) => reply.send(7).expect("the first answer"),
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_dropped_query_resolves_the_answer() -> Result {
    let door = Door::new();
    let mut sup = Supervisor::<Ask, Droppable>::default();
    let slow_door = door.clone();
    sup.build_actor("slow", move |_| Slow { door: slow_door })
        .topics([Droppable])
        .channel_capacity(1)
        .build()?;
    sup.start().await?;
    let handle = sup.handle();

    handle.send(Ask::Job(0)).await?;
    door.arrivals(1).await; // Job(0) is in the handler, the mailbox empty
    handle.send(Ask::Job(1)).await?; // fills the one-slot mailbox
    let (reply, answer) = Reply::new();
    handle.send(Ask::Total(reply)).await?; // finds it full: dropped

    unanswered(answer).await;
    door.open();

    let report = sup.shutdown().await;
    let slow = report.actor("slow").unwrap();
    assert_eq!((slow.handled, slow.dropped), (2, 1), "{report}");
    Ok(())
}

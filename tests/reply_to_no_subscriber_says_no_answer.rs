//! A query on a topic no actor subscribes to resolves its answer with
//! `NoAnswer::Unanswered` at once, while the runtime goes on running.

mod support;

use maiko::prelude::*;
use support::unanswered;

#[derive(Event, Clone, Debug)]
enum Ask {
    Add(u64),
    Total(Reply<u64>),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Lane {
    Data,
    Questions,
}

impl Topic<Ask> for Lane {
    fn from_event(event: &Ask) -> Self {
        match event {
            Ask::Add(_) => Lane::Data,
            Ask::Total(_) => Lane::Questions,
        }
    }
}

struct Book;

impl Actor for Book {
    type Event = Ask;

    async fn handle_event(&mut self, envelope: &Envelope<Ask>) -> Result {
        match envelope.event() {
            Ask::Add(n) => assert_eq!(*n, 1),
            Ask::Total(reply) => reply.send(1).expect("the first answer"),
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_query_nobody_subscribes_to_resolves_the_answer() -> Result {
    let mut sup = Supervisor::<Ask, Lane>::default();
    sup.add_actor("book", |_| Book, [Lane::Data])?;
    sup.start().await?;
    let handle = sup.handle();

    handle.send(Ask::Add(1)).await?;
    let (reply, answer) = Reply::<u64>::new();
    handle.send(Ask::Total(reply)).await?;
    unanswered(answer).await;
    assert!(!handle.is_stopping(), "resolved with the runtime running");

    let report = sup.shutdown().await;
    assert_eq!(report.actor("book").unwrap().handled, 1, "{report}");
    Ok(())
}

//! A handler's answer reaches the asker: a query sent after other events
//! from the same publisher is answered after they are handled.

mod support;

use maiko::prelude::*;
use support::within;

#[derive(Event, Clone, Debug)]
enum Ledger {
    Add(u64),
    Total(Reply<u64>),
}

struct Book {
    total: u64,
}

impl Actor for Book {
    type Event = Ledger;

    async fn handle_event(&mut self, envelope: &Envelope<Ledger>) -> Result {
        match envelope.event() {
            Ledger::Add(n) => self.total += n,
            Ledger::Total(reply) => reply.send(self.total).expect("the first answer"),
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_answer_is_the_handlers_value() -> Result {
    let mut sup = Supervisor::<Ledger>::default();
    sup.add_actor("book", |_| Book { total: 0 }, [DefaultTopic])?;
    sup.start().await?;
    let handle = sup.handle();

    for n in 1..=10 {
        handle.send(Ledger::Add(n)).await?;
    }
    let (reply, answer) = Reply::<u64>::new();
    handle.send(Ledger::Total(reply)).await?;
    assert_eq!(within("the answer", answer).await, Ok(55));

    sup.stop().await
}

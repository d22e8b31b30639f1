//! A query refused at the gate (the runtime has stopped) comes back in the
//! `SendError`, reply and all: the answer waits while the caller holds it,
//! and resolves with `NoAnswer::Unanswered` once the caller drops it.

mod support;

use maiko::prelude::*;
use support::{poll_once, unanswered};

#[derive(Event, Clone, Debug)]
enum Ask {
    Total(Reply<u64>),
}

struct Book;

impl Actor for Book {
    type Event = Ask;

    async fn handle_event(&mut self, envelope: &Envelope<Ask>) -> Result {
        let Ask::Total(reply) = envelope.event();
        reply.send(1).expect("the first answer");
        Ok(())
    }
}

#[tokio::test]
async fn a_refused_query_resolves_once_the_caller_drops_it() -> Result {
    let mut sup = Supervisor::<Ask>::default();
    sup.add_actor("book", |_| Book, [DefaultTopic])?;
    sup.start().await?;
    let handle = sup.handle();
    sup.stop().await?;

    let (reply, mut answer) = Reply::<u64>::new();
    let refused = handle
        .send(Ask::Total(reply))
        .await
        .expect_err("the runtime has stopped");
    assert!(refused.is_stopping());
    assert!(
        poll_once(&mut answer).await.is_pending(),
        "the refused event still holds the reply"
    );

    drop(refused);
    unanswered(answer).await;
    Ok(())
}

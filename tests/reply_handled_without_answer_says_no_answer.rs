//! An event carrying a reply that its only subscriber handles without
//! answering resolves the answer with `NoAnswer::Unanswered` at once, while
//! the runtime goes on running: the answer waits for no shutdown and no
//! timer.

mod support;

use maiko::prelude::*;
use support::unanswered;

#[derive(Event, Clone, Debug)]
enum Ask {
    Total(Reply<u64>),
}

struct Silent;

impl Actor for Silent {
    type Event = Ask;

    async fn handle_event(&mut self, envelope: &Envelope<Ask>) -> Result {
        let Ask::Total(reply) = envelope.event();
        assert!(!reply.is_answered());
        Ok(())
    }
}

#[tokio::test]
async fn a_handler_that_does_not_answer_resolves_the_answer() -> Result {
    let mut sup = Supervisor::<Ask>::default();
    sup.add_actor("silent", |_| Silent, [DefaultTopic])?;
    sup.start().await?;
    let handle = sup.handle();

    let (reply, answer) = Reply::<u64>::new();
    handle.send(Ask::Total(reply)).await?;
    unanswered(answer).await;
    assert!(!handle.is_stopping(), "resolved with the runtime running");

    let report = sup.shutdown().await;
    assert_eq!(report.actor("silent").unwrap().handled, 1);
    Ok(())
}

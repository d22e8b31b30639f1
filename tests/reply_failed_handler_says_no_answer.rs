//! A query whose handler fails, by an error that `on_error` propagates or
//! by a panic, resolves its answer with `NoAnswer::Unanswered`: the failed
//! actor's copy is settled as lost, and the reply goes with it.

mod support;

use maiko::{ActorOutcome, prelude::*};
use support::unanswered;

#[derive(Event, Clone, Debug)]
enum Ask {
    Total(Reply<u64>),
}

#[derive(Clone, Copy)]
enum Failure {
    Error,
    Panic,
}

struct Broken {
    how: Failure,
}

impl Actor for Broken {
    type Event = Ask;

    async fn handle_event(&mut self, envelope: &Envelope<Ask>) -> Result {
        let Ask::Total(reply) = envelope.event();
        assert!(!reply.is_answered());
        match self.how {
            Failure::Error => Err(Error::external(std::io::Error::other("the ledger is gone"))),
            Failure::Panic => panic!("the ledger is gone"),
        }
    }

    fn on_error(&mut self, error: Error) -> Result {
        Err(error)
    }
}

async fn ask_a_failing_handler(how: Failure) -> Result<ShutdownReport> {
    let mut sup = Supervisor::<Ask>::default();
    sup.add_actor("broken", move |_| Broken { how }, [DefaultTopic])?;
    sup.start().await?;
    let handle = sup.handle();

    let (reply, answer) = Reply::<u64>::new();
    handle.send(Ask::Total(reply)).await?;
    unanswered(answer).await;
    Ok(sup.shutdown().await)
}

#[tokio::test]
async fn an_error_propagated_by_on_error_resolves_the_answer() -> Result {
    let report = ask_a_failing_handler(Failure::Error).await?;
    let broken = report.actor("broken").unwrap();
    assert!(
        matches!(broken.outcome, ActorOutcome::Failed(_)),
        "{report}"
    );
    Ok(())
}

#[tokio::test]
async fn a_panic_resolves_the_answer() -> Result {
    let report = ask_a_failing_handler(Failure::Panic).await?;
    let broken = report.actor("broken").unwrap();
    assert!(
        matches!(broken.outcome, ActorOutcome::Failed(_)),
        "{report}"
    );
    assert_eq!(broken.lost, 1, "{report}");
    Ok(())
}

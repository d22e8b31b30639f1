//! A maiko 0.3 test of a multi-stage flow, with the `test-harness` and
//! `monitoring` features, compiles unchanged and passes: an order goes
//! through a validator and a store to an auditor, and the harness answers
//! who received what, which chain of events the order caused, and what a
//! custom `Monitor` counted.
//!
//! Only maiko 0.3's API is used here, so the same file also builds against
//! maiko 0.3.1 itself.
#![cfg(feature = "test-harness")]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use maiko::{
    monitoring::Monitor,
    testing::{EventMatcher, Harness},
    *,
};

#[derive(Event, Label, Clone, Debug, PartialEq)]
enum Shop {
    Order(u32),
    Validated(u32),
    Stored(u32),
}

#[derive(Label, Clone, Debug, Hash, PartialEq, Eq)]
enum Stage {
    Orders,
    Validation,
    Storage,
}

impl Topic<Shop> for Stage {
    fn from_event(event: &Shop) -> Self {
        match event {
            Shop::Order(_) => Stage::Orders,
            Shop::Validated(_) => Stage::Validation,
            Shop::Stored(_) => Stage::Storage,
        }
    }
}

struct Validator {
    ctx: Context<Shop>,
}

impl Actor for Validator {
    type Event = Shop;

    async fn handle_event(&mut self, envelope: &Envelope<Shop>) -> Result {
        if let Shop::Order(n) = envelope.event() {
            self.ctx
                .send_child_event(Shop::Validated(*n), envelope.id())
                .await?;
        }
        Ok(())
    }
}

struct Store {
    ctx: Context<Shop>,
}

impl Actor for Store {
    type Event = Shop;

    async fn handle_event(&mut self, envelope: &Envelope<Shop>) -> Result {
        if let Shop::Validated(n) = envelope.event() {
            self.ctx
                .send_child_event(Shop::Stored(*n), envelope.id())
                .await?;
        }
        Ok(())
    }
}

struct Auditor;

impl Actor for Auditor {
    type Event = Shop;
}

/// Counts what it is told.
#[derive(Clone, Default)]
struct Counting {
    handled: Arc<AtomicUsize>,
    registered: Arc<AtomicUsize>,
}

impl Monitor<Shop, Stage> for Counting {
    fn on_event_handled(&self, _envelope: &Envelope<Shop>, _topic: &Stage, _receiver: &ActorId) {
        self.handled.fetch_add(1, Ordering::SeqCst);
    }

    fn on_actor_registered(&self, _actor_id: &ActorId) {
        self.registered.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_order_flows_through_every_stage() -> Result {
    let mut sup = Supervisor::<Shop, Stage>::default();
    let validator = sup.add_actor("validator", |ctx| Validator { ctx }, &[Stage::Orders])?;
    let store = sup.add_actor("store", |ctx| Store { ctx }, &[Stage::Validation])?;
    let auditor = sup.add_actor("auditor", |_| Auditor, &[Stage::Storage])?;

    let counting = Counting::default();
    sup.monitors().add(counting.clone()).await;
    let mut test = Harness::new(&mut sup).await;
    sup.start().await?;

    test.record().await;
    let client = ActorId::new("client");
    let order = test.send_as(&client, Shop::Order(7)).await?;
    test.settle().await;

    // Who received what.
    assert!(test.event(order).was_delivered_to(&validator));
    assert!(test.event(order).not_delivered_to(&store));
    assert_eq!(test.event(order).children().count(), 1);
    assert_eq!(test.events().with_label("Stored").count(), 1);
    assert_eq!(test.events().count(), 3);
    assert_eq!(test.actor(&store).events_received(), 1);
    assert_eq!(test.actor(&store).received_from(), vec![validator.clone()]);
    assert_eq!(test.actor(&store).sent_to(), vec![auditor.clone()]);
    assert!(test.actor(&auditor).is_running());
    assert_eq!(
        test.topic(Stage::Validation).receivers(),
        vec![store.clone()]
    );

    // The chain the order caused.
    let chain = test.chain(order);
    assert!(
        chain
            .actors()
            .exact(&[&client, &validator, &store, &auditor])
    );
    assert!(chain.actors().segment(&[&validator, &store]));
    assert!(chain.actors().passes_through(&[&client, &auditor]));
    assert!(chain.events().exact(&["Order", "Validated", "Stored"]));
    assert!(
        chain
            .events()
            .contains(EventMatcher::by_event(|e: &Shop| matches!(
                e,
                Shop::Validated(_)
            )))
    );
    assert!(chain.to_mermaid().contains("validator->>store:Validated"));

    // A second phase, waiting on a condition.
    test.record().await;
    test.send_as(&client, Shop::Order(8)).await?;
    test.settle_on_event("Stored")
        .within(Duration::from_secs(5))
        .await?;
    assert_eq!(test.events().with_label("Stored").count(), 1);

    sup.stop().await?;
    // 3 actors (the monitor was added after them), 6 handlings.
    assert_eq!(counting.registered.load(Ordering::SeqCst), 3);
    assert_eq!(counting.handled.load(Ordering::SeqCst), 6);
    Ok(())
}

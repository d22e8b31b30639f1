//! Testing an event flow with the harness, and looking at it: an order goes
//! through a validator to a warehouse and a mailer, the warehouse ships it
//! and the mailer tells the customer. The harness settles (waits until all
//! of that is done, however slow), answers questions, and draws the flow:
//! the chain of one order as a tree and a Mermaid sequence diagram, and the
//! whole system as a Mermaid flowchart and a Graphviz graph.
//!
//! ```sh
//! cargo run --example harness --features test-harness
//! ```

use std::time::Duration;

use maiko::{testing::Harness, *};

#[derive(Event, Label, Clone, Debug)]
enum Shop {
    Order(u32),
    Accepted(u32),
    Shipped(u32),
    Emailed(u32),
}

#[derive(Label, Clone, Debug, Hash, PartialEq, Eq)]
enum Desk {
    Orders,
    Accepted,
    Outcomes,
}

impl Topic<Shop> for Desk {
    fn from_event(event: &Shop) -> Self {
        match event {
            Shop::Order(_) => Desk::Orders,
            Shop::Accepted(_) => Desk::Accepted,
            Shop::Shipped(_) | Shop::Emailed(_) => Desk::Outcomes,
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        self.label()
    }
}

/// Answers each incoming event with one child event, after a while.
struct Step {
    ctx: Context<Shop>,
    answer: fn(&Shop) -> Option<Shop>,
    takes: Duration,
}

impl Actor for Step {
    type Event = Shop;

    async fn handle_event(&mut self, envelope: &Envelope<Shop>) -> Result {
        if let Some(answer) = (self.answer)(envelope.event()) {
            // Simulated work.
            tokio::time::sleep(self.takes).await;
            self.ctx.send_child_event(answer, envelope.id()).await?;
        }
        Ok(())
    }
}

struct Ledger;

impl Actor for Ledger {
    type Event = Shop;
}

#[tokio::main]
async fn main() -> Result {
    let mut sup = Supervisor::<Shop, Desk>::default();
    let step = |answer, millis| {
        move |ctx| Step {
            ctx,
            answer,
            takes: Duration::from_millis(millis),
        }
    };
    let validator = sup.add_actor(
        "validator",
        step(
            |e| matches!(e, Shop::Order(n) if n % 2 == 1).then(|| Shop::Accepted(order(e))),
            5,
        ),
        [Desk::Orders],
    )?;
    let warehouse = sup.add_actor(
        "warehouse",
        step(|e| Some(Shop::Shipped(order(e))), 20),
        [Desk::Accepted],
    )?;
    let mailer = sup.add_actor(
        "mailer",
        step(|e| Some(Shop::Emailed(order(e))), 10),
        [Desk::Accepted],
    )?;
    let ledger = sup.add_actor("ledger", |_| Ledger, [Desk::Outcomes])?;

    let mut test = Harness::new(&mut sup).await;
    sup.start().await?;
    let customer = ActorId::new("customer");
    let mut orders = Vec::new();
    for n in 1..=4 {
        orders.push(test.send_as(&customer, Shop::Order(n)).await?);
    }
    // Returns when everything the orders caused is handled: the 20 ms
    // warehouse included. No timer decides it.
    test.settle().await;

    // Odd orders are accepted, shipped and emailed; even ones are not.
    for (&id, n) in orders.iter().zip(1..) {
        let spy = test.event(id);
        let accepted = spy.children().exists();
        println!(
            "order {n}: delivered to the validator {}, accepted {accepted}",
            spy.was_delivered_to(&validator)
        );
        assert_eq!(accepted, n % 2 == 1);
    }
    assert_eq!(test.actor(&ledger).events_received(), 4);
    assert!(
        test.chain(orders[0])
            .actors()
            .exact(&[&customer, &validator, &warehouse, &ledger])
    );
    assert!(
        test.chain(orders[0])
            .actors()
            .exact(&[&customer, &validator, &mailer, &ledger])
    );
    assert_eq!(test.chain(orders[0]).actors().path_count(), 2);
    assert!(
        test.chain(orders[0])
            .events()
            .exact(&["Order", "Accepted", "Shipped"])
    );

    let chain = test.chain(orders[0]);
    println!("\nthe chain of order 1:\n{chain}");
    println!("as a Mermaid sequence diagram:\n{}", chain.to_mermaid());
    let flow = test.flow();
    println!(
        "the whole flow, as a Mermaid flowchart:\n{}",
        flow.to_mermaid()
    );
    println!("and as Graphviz DOT:\n{}", flow.to_dot());

    sup.stop().await
}

fn order(event: &Shop) -> u32 {
    match *event {
        Shop::Order(n) | Shop::Accepted(n) | Shop::Shipped(n) | Shop::Emailed(n) => n,
    }
}

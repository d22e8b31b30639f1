//! The smallest maiko program: one actor, one event, a clean stop.

use maiko::*;

#[derive(Event, Clone, Debug)]
enum Greeting {
    Hello(String),
}

struct Greeter;

impl Actor for Greeter {
    type Event = Greeting;

    async fn handle_event(&mut self, envelope: &Envelope<Self::Event>) -> Result {
        let Greeting::Hello(name) = envelope.event();
        println!("Hello, {name}! (from {})", envelope.meta().actor_name());
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result {
    let mut sup = Supervisor::<Greeting>::default();
    sup.add_actor("greeter", |_ctx| Greeter, Subscribe::all())?;

    sup.start().await?;
    sup.send(Greeting::Hello("World".into())).await?;

    // Every accepted event is handled before stop() returns.
    sup.stop().await
}

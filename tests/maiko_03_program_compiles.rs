//! A program written against the maiko 0.3 API, using each name of that API
//! the way 0.3 users do, compiles and runs unchanged.

use std::time::Duration;

use maiko::*;

#[derive(Event, Label, Clone, Debug)]
enum Msg {
    Start,
    Work(u32),
    Done,
}

#[derive(Debug, Hash, PartialEq, Eq, Clone, Label)]
enum Lane {
    Control,
    Data,
}

impl Topic<Msg> for Lane {
    fn from_event(event: &Msg) -> Self {
        match event {
            Msg::Start | Msg::Done => Lane::Control,
            Msg::Work(_) => Lane::Data,
        }
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        match self {
            Lane::Control => OverflowPolicy::Block,
            Lane::Data => OverflowPolicy::Block,
        }
    }
}

#[derive(Event, SelfRouting, Clone, Debug, Hash, PartialEq, Eq)]
enum Beat {
    Tick,
}

struct Producer {
    ctx: Context<Msg>,
    left: u32,
}

impl Actor for Producer {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Self::Event>) -> Result {
        if let Msg::Start = envelope.event() {
            let _: &str = self.ctx.actor_name();
            let _: &ActorId = self.ctx.actor_id();
            let _: bool = self.ctx.is_sender_full();
            self.ctx
                .send_child_event(Msg::Work(0), envelope.id())
                .await?;
        }
        Ok(())
    }

    async fn step(&mut self) -> Result<StepAction> {
        if self.left == 0 {
            self.ctx.send(Msg::Done).await?;
            return Ok(StepAction::Never);
        }
        self.left -= 1;
        self.ctx.send(Msg::Work(self.left)).await?;
        Ok(StepAction::Backoff(Duration::from_micros(1)))
    }

    async fn on_start(&mut self) -> Result {
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        Ok(())
    }

    fn on_error(&mut self, error: Error) -> Result {
        Err(error)
    }
}

struct Consumer {
    ctx: Context<Msg>,
    seen: u32,
}

impl Actor for Consumer {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Self::Event>) -> Result {
        let meta: &Meta = envelope.meta();
        let _: u64 = meta.timestamp();
        let _: Option<EventId> = meta.parent_id();
        let _: &str = meta.actor_name();
        let _ = envelope.event().label();
        match envelope.event() {
            Msg::Work(n) => self.seen += 1 + n - n,
            Msg::Done => self.ctx.stop_runtime()?,
            Msg::Start => {}
        }
        Ok(())
    }
}

struct Quiet;

impl Actor for Quiet {
    type Event = Msg;
}

#[tokio::test]
async fn a_maiko_03_program_runs() -> Result {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(64)
        .with_default_actor_channel_capacity(64)
        .with_default_max_events_per_tick(8);
    let mut sup = Supervisor::<Msg, Lane>::new(config);
    sup.add_actor(
        "producer",
        |ctx| Producer { ctx, left: 50 },
        &[Lane::Control],
    )?;
    let consumer: ActorId = sup
        .build_actor("consumer", |ctx| Consumer { ctx, seen: 0 })
        .topics(Subscribe::to([Lane::Data, Lane::Control]))
        .channel_capacity(32)
        .with_config(|c| c.with_max_events_per_tick(4))
        .build()?;
    assert_eq!(consumer.as_str(), "consumer");
    assert_eq!(consumer.to_string(), "consumer");
    assert_eq!(ActorId::from("consumer"), consumer);
    sup.add_actor("all", |_| Quiet, Subscribe::all())?;
    sup.add_actor("none", |_| Quiet, Subscribe::none())?;
    sup.add_actor("one", |_| Quiet, Lane::Data)?;
    let _: &SupervisorConfig = sup.config();
    let _ = ActorConfig::new(sup.config()).with_max_events_per_tick(2);

    let envelope =
        Envelope::new(Msg::Start, ActorId::new("outside")).with_parent_id(EventId::new());
    let _: EventId = envelope.id();
    sup.start().await?;
    sup.send(envelope).await?;
    sup.join().await?;

    let mut beats = Supervisor::<Beat, Beat>::default();
    beats.add_actor("noop", |_ctx: Context<Beat>| Noop, [Beat::Tick])?;
    beats.run_until_idle().await
}

struct Noop;

impl Actor for Noop {
    type Event = Beat;
}

trait RunUntilIdle {
    async fn run_until_idle(self) -> Result;
}

impl RunUntilIdle for Supervisor<Beat, Beat> {
    async fn run_until_idle(mut self) -> Result {
        self.start().await?;
        self.send(Beat::Tick).await?;
        self.stop().await
    }
}

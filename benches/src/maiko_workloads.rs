//! The maiko workloads, written once against the API that this workspace's
//! `maiko` shares with `maiko` 0.3.1, and expanded for each of them.

/// Expands the maiko workloads for the crate named `$m` (`maiko` or
/// `maiko03`).
macro_rules! maiko_workloads {
    ($m:ident) => {
        use std::{
            sync::Arc,
            time::{Duration, Instant},
        };

        use $m::{
            Actor, Context, Envelope, OverflowPolicy, StepAction, Supervisor, SupervisorConfig,
            Topic,
        };

        use crate::{
            ByteTopic, CAPACITY, Done, Go, Payload, Ready, SCALING_TOPICS, Start, Tally, finished,
        };

        impl<const N: usize> $m::Event for Payload<N> {}

        impl<const N: usize> Topic<Payload<N>> for ByteTopic {
            fn from_event(event: &Payload<N>) -> Self {
                ByteTopic(event.topic())
            }

            // maiko 0.3.1 defaults to `Fail`; say `Block` for both.
            fn overflow_policy(&self) -> OverflowPolicy {
                OverflowPolicy::Block
            }
        }

        type Sup<const N: usize> = Supervisor<Payload<N>, ByteTopic>;

        fn config(capacity: usize) -> SupervisorConfig {
            SupervisorConfig::default()
                .with_broker_channel_capacity(capacity)
                .with_default_actor_channel_capacity(capacity)
        }

        /// Once released, publishes `n` events from `step()`, cycling over
        /// `topics` topics, then never steps again.
        struct Producer<const N: usize> {
            ctx: Context<Payload<N>>,
            n: u64,
            topics: u8,
            ready: Option<Ready>,
            start: Arc<Start>,
        }

        impl<const N: usize> Actor for Producer<N> {
            type Event = Payload<N>;

            async fn step(&mut self) -> $m::Result<StepAction> {
                if let Some(ready) = self.ready.take() {
                    ready.wait().await;
                }
                self.start.mark();
                for seq in 0..self.n {
                    let topic = (seq % u64::from(self.topics)) as u8;
                    self.ctx.send(Payload::new(topic, seq)).await?;
                }
                Ok(StepAction::Never)
            }
        }

        /// Counts what it handles.
        struct Counter<const N: usize> {
            tally: Tally,
            started: Arc<Done>,
        }

        impl<const N: usize> Actor for Counter<N> {
            type Event = Payload<N>;

            async fn on_start(&mut self) -> $m::Result {
                self.started.finished();
                Ok(())
            }

            async fn handle_event(&mut self, envelope: &Envelope<Payload<N>>) -> $m::Result {
                self.tally.count(envelope.event());
                Ok(())
            }
        }

        /// A pipeline stage: republishes every event on topic `to`.
        struct Stage<const N: usize> {
            ctx: Context<Payload<N>>,
            to: u8,
            started: Arc<Done>,
        }

        impl<const N: usize> Actor for Stage<N> {
            type Event = Payload<N>;

            async fn on_start(&mut self) -> $m::Result {
                self.started.finished();
                Ok(())
            }

            async fn handle_event(&mut self, envelope: &Envelope<Payload<N>>) -> $m::Result {
                self.ctx.send(envelope.event().with_topic(self.to)).await
            }
        }

        /// Signals its start and otherwise does nothing.
        struct Idle {
            started: Arc<Done>,
        }

        impl Actor for Idle {
            type Event = Payload<32>;

            async fn on_start(&mut self) -> $m::Result {
                self.started.finished();
                Ok(())
            }
        }

        /// A system under construction: its supervisor (of topic `T`) and
        /// the signals that frame the measured span.
        struct Setup<const N: usize, T: Topic<Payload<N>> = ByteTopic> {
            sup: Supervisor<Payload<N>, T>,
            start: Arc<Start>,
            go: Go,
            ready: Ready,
            /// Signalled by every consumer's `on_start`.
            started: Arc<Done>,
            all_started: tokio::sync::oneshot::Receiver<Instant>,
            /// Signalled by every consumer that has handled all it expects.
            done: Arc<Done>,
            end: tokio::sync::oneshot::Receiver<Instant>,
        }

        impl<const N: usize, T: Topic<Payload<N>>> Setup<N, T> {
            /// A system that will hold `consumers` consumers.
            fn new(consumers: usize) -> Self {
                let (go, ready) = Go::new();
                let (started, all_started) = Done::new(consumers);
                let (done, end) = Done::new(consumers);
                Self {
                    sup: Supervisor::new(config(CAPACITY)),
                    start: Start::new(),
                    go,
                    ready,
                    started,
                    all_started,
                    done,
                    end,
                }
            }

            /// Add a producer of `n` events cycling over `topics` topics.
            fn producer(&mut self, name: &str, n: u64, topics: u8) {
                let ready = Some(self.ready.clone());
                let start = Arc::clone(&self.start);
                self.sup
                    .add_actor(
                        name,
                        move |ctx| Producer {
                            ctx,
                            n,
                            topics,
                            ready,
                            start,
                        },
                        $m::Subscribe::none(),
                    )
                    .expect("add producer");
            }

            /// Add a consumer of `topic` expecting `expect` events.
            fn subscriber(&mut self, name: &str, topic: T, expect: u64) {
                let tally = Tally::new(expect, &self.done);
                let started = Arc::clone(&self.started);
                self.sup
                    .add_actor(name, move |_| Counter::<N> { tally, started }, [topic])
                    .expect("add counter");
            }

            /// Start; once every consumer has started, release the
            /// producers; wait for the end of the measured span; stop (not
            /// measured).
            async fn run(self) -> Duration {
                let Self {
                    mut sup,
                    start,
                    go,
                    all_started,
                    end,
                    ..
                } = self;
                sup.start().await.expect("start");
                finished(all_started).await;
                go.fire().await;
                let end = finished(end).await;
                sup.stop().await.expect("clean stop");
                end - start.get()
            }
        }

        impl<const N: usize> Setup<N> {
            /// Add a consumer of topic byte `topic` expecting `expect`
            /// events.
            fn counter(&mut self, name: &str, topic: u8, expect: u64) {
                self.subscriber(name, ByteTopic(topic), expect);
            }
        }

        /// One producer actor to one subscriber, `n` events of `N` bytes.
        pub async fn one_to_one<const N: usize>(n: u64) -> Duration {
            let mut setup = Setup::<N>::new(1);
            setup.producer("producer", n, 1);
            setup.counter("subscriber", 0, n);
            setup.run().await
        }

        /// One producer to `subscribers` subscribers of one topic.
        pub async fn fan_out(n: u64, subscribers: usize) -> Duration {
            let mut setup = Setup::<32>::new(subscribers);
            setup.producer("producer", n, 1);
            for i in 0..subscribers {
                setup.counter(&format!("subscriber-{i}"), 0, n);
            }
            setup.run().await
        }

        /// `producers` producers to one subscriber, `n` events in all.
        pub async fn fan_in(n: u64, producers: usize) -> Duration {
            let mut setup = Setup::<32>::new(1);
            for i in 0..producers {
                setup.producer(&format!("producer-{i}"), crate::share(n, producers, i), 1);
            }
            setup.counter("subscriber", 0, n);
            setup.run().await
        }

        /// A 3-stage pipeline: source (step) -> transform (handler
        /// republishes) -> sink, over two topics.
        pub async fn pipeline(n: u64) -> Duration {
            // The transform counts as a consumer for the start signal; it
            // reports "done" at once, so the end is the sink's.
            let mut setup = Setup::<32>::new(2);
            setup.producer("source", n, 1);
            let started = Arc::clone(&setup.started);
            setup
                .sup
                .add_actor(
                    "transform",
                    move |ctx| Stage {
                        ctx,
                        to: 1,
                        started,
                    },
                    [ByteTopic(0)],
                )
                .expect("add stage");
            setup.done.finished();
            setup.counter("sink", 1, n);
            setup.run().await
        }

        /// `subscribers` subscribers spread over 100 topics; one producer
        /// publishes `events` events cycling over the topics. `events` must
        /// be a multiple of 100.
        pub async fn scaling(subscribers: usize, events: u64) -> Duration {
            let topics = u64::from(SCALING_TOPICS);
            assert_eq!(
                events % topics,
                0,
                "events must be a multiple of the topics"
            );
            let mut setup = Setup::<32>::new(subscribers);
            setup.producer("producer", events, SCALING_TOPICS);
            for i in 0..subscribers {
                let topic = (i % usize::from(SCALING_TOPICS)) as u8;
                setup.counter(&format!("s{i}"), topic, events / topics);
            }
            setup.run().await
        }

        /// Build and start a supervisor of `actors` idle actors and wait
        /// until each has started.
        async fn idle_system(actors: usize) -> Sup<32> {
            let mut sup = Sup::<32>::new(config(CAPACITY));
            let (started, all_started) = Done::new(actors);
            for i in 0..actors {
                let started = Arc::clone(&started);
                sup.add_actor(
                    &format!("idle-{i}"),
                    move |_| Idle { started },
                    [ByteTopic(0)],
                )
                .expect("add idle actor");
            }
            sup.start().await.expect("start");
            finished(all_started).await;
            crate::settle().await;
            sup
        }

        /// `stop()` of an idle, started system of `actors` actors.
        pub async fn idle_stop(actors: usize) -> Duration {
            let sup = idle_system(actors).await;
            let t0 = Instant::now();
            sup.stop().await.expect("clean stop");
            t0.elapsed()
        }

        /// Live bytes per idle actor: a started system of `actors` idle
        /// actors, measured with `live_bytes` (a counting allocator's live
        /// total).
        pub async fn idle_actor_bytes(actors: usize, live_bytes: fn() -> usize) -> f64 {
            let before = live_bytes();
            let sup = idle_system(actors).await;
            let after = live_bytes();
            sup.stop().await.expect("clean stop");
            (after as f64 - before as f64) / actors as f64
        }

        /// Blocks in its first handler until released, then counts.
        struct Gated {
            gate: Option<Arc<tokio::sync::Notify>>,
            entered: Option<tokio::sync::oneshot::Sender<()>>,
            tally: Tally,
        }

        impl Actor for Gated {
            type Event = Payload<32>;

            async fn handle_event(&mut self, envelope: &Envelope<Payload<32>>) -> $m::Result {
                if let Some(gate) = self.gate.take() {
                    if let Some(entered) = self.entered.take() {
                        let _ = entered.send(());
                    }
                    gate.notified().await;
                }
                self.tally.count(envelope.event());
                Ok(())
            }
        }

        /// The end signal of a backlog: fires at `pending + 1` events.
        type End = tokio::sync::oneshot::Receiver<Instant>;

        /// A started supervisor whose one subscriber is stuck in its first
        /// handler; [`fill`] then queues `pending` more events behind it.
        /// Returns the supervisor, the gate that releases the subscriber,
        /// and the end signal at `pending + 1` handled events.
        async fn stuck(pending: u64) -> (Sup<32>, Arc<tokio::sync::Notify>, End) {
            let mut sup = Sup::<32>::new(config(crate::BACKLOG_CAPACITY));
            let gate = Arc::new(tokio::sync::Notify::new());
            let (entered_tx, entered) = tokio::sync::oneshot::channel();
            let (done, end) = Done::new(1);
            let subscriber = Gated {
                gate: Some(Arc::clone(&gate)),
                entered: Some(entered_tx),
                tally: Tally::new(pending + 1, &done),
            };
            sup.add_actor("subscriber", move |_| subscriber, [ByteTopic(0)])
                .expect("add subscriber");
            sup.start().await.expect("start");
            // Let the subscriber start and run its first `step()` (which
            // returns `Never`), as in a system that has been running.
            crate::settle().await;
            sup.send(Payload::new(0, 0)).await.expect("send");
            entered.await.expect("subscriber entered its handler");
            crate::settle().await;
            (sup, gate, end)
        }

        /// Publish `pending` events (accepted, waiting behind the stuck
        /// subscriber) and let the broker route them into its mailbox.
        async fn fill(sup: &Sup<32>, pending: u64) {
            for seq in 1..=pending {
                sup.send(Payload::new(0, seq)).await.expect("send");
            }
            // Not measured: a benchmark's setup, not a test.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        /// Live bytes per event waiting in a mailbox (`pending` events of
        /// 32 bytes behind a stuck subscriber).
        pub async fn queued_event_bytes(pending: u64, live_bytes: fn() -> usize) -> f64 {
            let (sup, gate, end) = stuck(pending).await;
            let before = live_bytes();
            fill(&sup, pending).await;
            let after = live_bytes();
            gate.notify_one();
            finished(end).await;
            sup.stop().await.expect("clean stop");
            (after as f64 - before as f64) / pending as f64
        }
    };
}

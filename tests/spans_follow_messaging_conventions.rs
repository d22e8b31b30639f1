//! An event's `tracing` spans follow the OpenTelemetry conventions for
//! messaging, and chain into one trace: a publish made inside a caller's
//! span is a `maiko.publish` child of it; each handling of the event is a
//! `maiko.process` child of that publish; and what the handler publishes
//! is a `maiko.publish` child of its `maiko.process`.
//!
//! A layer of this test records every span with its parent and fields.

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use maiko::*;
use support::within;
use tokio::sync::mpsc;
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{Layer, layer::Context as LayerContext, prelude::*, registry::LookupSpan};

#[derive(Clone, Debug, Event)]
enum Step {
    Order(u32),
    Invoice(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Desk {
    Orders,
    Invoices,
}

impl Topic<Step> for Desk {
    fn from_event(event: &Step) -> Self {
        match event {
            Step::Order(_) => Desk::Orders,
            Step::Invoice(_) => Desk::Invoices,
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Desk::Orders => "orders".into(),
            Desk::Invoices => "invoices".into(),
        }
    }
}

struct Clerk {
    ctx: Context<Step>,
}

impl Actor for Clerk {
    type Event = Step;

    async fn handle_event(&mut self, envelope: &Envelope<Step>) -> Result {
        if let Step::Order(n) = envelope.event() {
            self.ctx.send(Step::Invoice(*n)).await?;
        }
        Ok(())
    }
}

struct Accountant {
    done: mpsc::UnboundedSender<u32>,
}

impl Actor for Accountant {
    type Event = Step;

    async fn handle_event(&mut self, envelope: &Envelope<Step>) -> Result {
        if let Step::Invoice(n) = envelope.event() {
            let _ = self.done.send(*n);
        }
        Ok(())
    }
}

/// One recorded span.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    parent: Option<u64>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<HashMap<u64, Seen>>>);

impl Spans {
    /// Record the spans of this thread until the guard is dropped.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            parent: ctx
                .span(id)
                .and_then(|span| span.parent())
                .map(|parent| parent.id().into_u64()),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: LayerContext<'_, S>) {
        if let Some(seen) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

#[tokio::test]
async fn an_events_spans_chain_into_one_trace() -> Result {
    let spans = Spans::default();
    let _subscriber = spans.install();

    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Step, Desk>::default();
    sup.add_actor("clerk", |ctx| Clerk { ctx }, [Desk::Orders])?;
    sup.add_actor(
        "accountant",
        move |_| Accountant { done: done_tx },
        [Desk::Invoices],
    )?;
    sup.start().await?;

    let request = tracing::info_span!("request");
    let request_id = request
        .id()
        .expect("the request span is recorded")
        .into_u64();
    {
        let _inside = request.enter();
        sup.send(Step::Order(7)).await?;
    }
    assert_eq!(within("the invoice", done.recv()).await, Some(7));
    sup.stop().await?;

    let spans = spans.0.lock().unwrap().clone();
    let child_of = |parent: u64, name: &str| {
        let children: Vec<(u64, &Seen)> = spans
            .iter()
            .filter(|(_, seen)| seen.parent == Some(parent) && seen.name == name)
            .map(|(id, seen)| (*id, seen))
            .collect();
        assert_eq!(children.len(), 1, "one {name} under {parent}: {spans:#?}");
        children[0]
    };
    let field = |seen: &Seen, name: &str| seen.fields.get(name).cloned().unwrap_or_default();

    let (order_publish, publish) = child_of(request_id, "maiko.publish");
    let (order_process, process) = child_of(order_publish, "maiko.process");
    let (invoice_publish, republish) = child_of(order_process, "maiko.publish");
    let (_, reprocess) = child_of(invoice_publish, "maiko.process");

    for (seen, operation, topic) in [
        (publish, "publish", "orders"),
        (process, "process", "orders"),
        (republish, "publish", "invoices"),
        (reprocess, "process", "invoices"),
    ] {
        assert_eq!(field(seen, "messaging.system"), "maiko", "{seen:?}");
        assert_eq!(
            field(seen, "messaging.operation.type"),
            operation,
            "{seen:?}"
        );
        assert_eq!(field(seen, "messaging.destination.name"), topic, "{seen:?}");
        assert_eq!(field(seen, "otel.name"), format!("{operation} {topic}"));
        let kind = if operation == "publish" {
            "producer"
        } else {
            "consumer"
        };
        assert_eq!(field(seen, "otel.kind"), kind, "{seen:?}");
        assert!(!field(seen, "messaging.message.id").is_empty(), "{seen:?}");
    }
    assert_eq!(field(process, "maiko.actor"), "clerk");
    assert_eq!(field(reprocess, "maiko.actor"), "accountant");
    // The process span names the event its publish span names.
    assert_eq!(
        field(publish, "messaging.message.id"),
        field(process, "messaging.message.id")
    );
    Ok(())
}

/// A publisher under one subscriber, the actors under another: each
/// `maiko.process` is made by the subscriber that recorded its publish
/// (a span id means nothing to another one), and nothing panics.
#[tokio::test]
async fn a_publish_recorded_elsewhere_still_parents_the_handling() -> Result {
    let actors_side = Spans::default();
    let _subscriber = actors_side.install();

    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Step, Desk>::default();
    sup.add_actor(
        "accountant",
        move |_| Accountant { done: done_tx },
        [Desk::Invoices],
    )?;
    sup.start().await?;
    let handle = sup.handle();

    // Another thread, another subscriber, another runtime: the publisher.
    let publisher_side = Spans::default();
    let recorded = publisher_side.clone();
    let published = std::thread::spawn(move || {
        let _subscriber = recorded.install();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let _inside = tracing::info_span!("request").entered();
        runtime.block_on(handle.send(Step::Invoice(3))).is_ok()
    })
    .join()
    .expect("the publisher's thread");
    assert!(published);
    assert_eq!(within("the invoice", done.recv()).await, Some(3));
    sup.stop().await?;

    let publisher_side = publisher_side.0.lock().unwrap().clone();
    let (publish, _) = publisher_side
        .iter()
        .find(|(_, seen)| seen.name == "maiko.publish")
        .expect("the publish is recorded where it was made");
    assert!(
        publisher_side
            .values()
            .any(|seen| seen.name == "maiko.process" && seen.parent == Some(*publish)),
        "the handling is recorded under its publish: {publisher_side:#?}"
    );
    let actors_side = actors_side.0.lock().unwrap().clone();
    assert!(
        actors_side
            .values()
            .all(|seen| seen.name != "maiko.process"),
        "the actors' subscriber was not handed a parent it never gave out: {actors_side:#?}"
    );
    Ok(())
}

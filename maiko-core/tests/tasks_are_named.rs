//! Built with `RUSTFLAGS="--cfg tokio_unstable"`, every actor's task and
//! every routing loop is spawned under a name that tokio-console shows:
//! `maiko actor NAME`, `maiko routing BROKER from PUBLISHER`. The names are
//! read from the `runtime.spawn` spans tokio makes for console.
//!
//! `.ci/run` runs this file with that cfg; without it the file is empty.

#![cfg(tokio_unstable)]

use std::sync::{Arc, Mutex};

use maiko_core::*;
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id},
};
use tracing_subscriber::{Layer, layer::Context as LayerContext, prelude::*};

#[derive(Clone, Debug)]
struct Ping;

impl Event for Ping {}

struct Idle;

impl Actor for Idle {
    type Event = Ping;

    async fn handle_event(&mut self, _: &Envelope<Ping>) -> Result {
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Names(Arc<Mutex<Vec<String>>>);

struct TaskName<'a>(&'a mut Option<String>);

impl Visit for TaskName<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "task.name" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: Subscriber> Layer<S> for Names {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: LayerContext<'_, S>) {
        if attrs.metadata().name() == "runtime.spawn" {
            let mut name = None;
            attrs.record(&mut TaskName(&mut name));
            if let Some(name) = name {
                self.0.lock().unwrap().push(name);
            }
        }
    }
}

#[tokio::test]
async fn actors_and_routing_loops_have_names() -> Result {
    let names = Names::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(names.clone()));

    let mut sup = Supervisor::<Ping>::default();
    sup.add_actor("first", |_| Idle, [DefaultTopic])?;
    sup.start().await?;
    // And one added while running.
    sup.handle()
        .add_actor("second", |_| Idle, [DefaultTopic])
        .await?;
    sup.stop().await?;

    let names = names.0.lock().unwrap().clone();
    for expected in [
        "maiko actor first",
        "maiko actor second",
        "maiko routing default from the supervisor",
        "maiko routing default from first",
        "maiko routing default from second",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "no task named {expected:?} among {names:?}"
        );
    }
    Ok(())
}

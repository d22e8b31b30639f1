//! Spawning the runtime's tasks under names, for tokio-console.
//!
//! Built with `RUSTFLAGS="--cfg tokio_unstable"` (which also turns on
//! tokio's `tracing` feature, see `maiko-core/Cargo.toml`), each task is
//! spawned through `JoinSet::build_task` with its name: `maiko actor
//! NAME` for an actor, `maiko routing BROKER from PUBLISHER` for a routing
//! loop. Without that cfg, tasks are spawned as usual and no name is made.

use std::future::Future;

use tokio::task::JoinSet;

use crate::ActorId;

/// A task to spawn, and what it is.
pub(crate) struct Named<F> {
    what: What,
    future: F,
}

/// What a task runs, for its name.
enum What {
    Actor(ActorId),
    /// A routing loop of `broker`, taking the events of `publisher` (the
    /// supervisor and its handles when `None`).
    Routing {
        broker: &'static str,
        publisher: Option<ActorId>,
    },
}

impl<F> Named<F> {
    /// The task of the actor `id`.
    pub(crate) fn actor(id: ActorId, future: F) -> Self {
        Self {
            what: What::Actor(id),
            future,
        }
    }

    /// A routing loop of `broker` for the events of `publisher`.
    pub(crate) fn routing(broker: &'static str, publisher: Option<ActorId>, future: F) -> Self {
        Self {
            what: What::Routing { broker, publisher },
            future,
        }
    }

    /// The task's name, as tokio-console shows it.
    #[cfg_attr(not(tokio_unstable), allow(dead_code))]
    fn name(&self) -> String {
        match &self.what {
            What::Actor(id) => format!("maiko actor {id}"),
            What::Routing {
                broker,
                publisher: Some(id),
            } => format!("maiko routing {broker} from {id}"),
            What::Routing {
                broker,
                publisher: None,
            } => format!("maiko routing {broker} from the supervisor"),
        }
    }
}

/// Spawn `task` into `set`, named when built with `tokio_unstable`.
pub(crate) fn spawn<F>(set: &mut JoinSet<F::Output>, task: Named<F>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[cfg(tokio_unstable)]
    {
        let name = task.name();
        // The builder refuses only when the runtime is shutting down, where
        // a plain `spawn` would panic all the same.
        set.build_task()
            .name(&name)
            .spawn(task.future)
            .expect("the runtime takes new tasks");
    }
    #[cfg(not(tokio_unstable))]
    set.spawn(task.future);
}

//! What the `e2e_producer` and `e2e_consumer` examples share: the events,
//! their topics, the command line and the connection.

// Each example uses a part.
#![allow(dead_code)]

use std::{collections::HashMap, time::Duration};

use maiko::{Event, Topic};
use maiko_nats::async_nats::{self, jetstream};
use serde::{Deserialize, Serialize};

/// The events of both sides. A `Job` crosses from the producer to a
/// consumer; a consumer's first stage turns it into a `Record` for its
/// journal.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub enum Work {
    Job { key: String, body: String },
    Record { key: String },
}

/// The payload of the job `key`, as the producer's outbound bridge
/// encodes it: for the tests that store jobs themselves.
pub fn job_payload(key: &str) -> Vec<u8> {
    let job = Work::Job {
        key: key.to_owned(),
        body: "x".repeat(32),
    };
    serde_json::to_vec(&job).expect("a job encodes")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Lane {
    Jobs,
    Records,
}

impl Topic<Work> for Lane {
    fn from_event(event: &Work) -> Self {
        match event {
            Work::Job { .. } => Lane::Jobs,
            Work::Record { .. } => Lane::Records,
        }
    }
}

/// `--name value` pairs from the command line.
pub struct Args(HashMap<String, String>);

impl Args {
    pub fn parse() -> Self {
        let mut pairs = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            let name = name
                .strip_prefix("--")
                .unwrap_or_else(|| panic!("expected --name value, got {name:?}"))
                .to_owned();
            let value = args
                .next()
                .unwrap_or_else(|| panic!("--{name} needs a value"));
            pairs.insert(name, value);
        }
        Self(pairs)
    }

    pub fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("--{name} is required"))
    }

    pub fn get_or(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn number(&self, name: &str, default: u64) -> u64 {
        self.optional_number(name).unwrap_or(default)
    }

    pub fn optional_number(&self, name: &str) -> Option<u64> {
        self.0.get(name).map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("--{name} {v:?} is not a number"))
        })
    }
}

/// A client that keeps reconnecting (the tests restart the server), and a
/// JetStream context whose requests time out after 2 s, so that a publish
/// lost in a restart is retried soon.
pub async fn connect(url: &str) -> (async_nats::Client, jetstream::Context) {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(url)
        .await
        .expect("connect to nats-server");
    let jetstream = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client.clone());
    (client, jetstream)
}

/// Logs (warnings and up unless `RUST_LOG` says otherwise) on stderr.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

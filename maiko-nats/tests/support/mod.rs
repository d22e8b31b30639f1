//! Helpers shared by the bridge's tests: the server fixture ([`server`]),
//! child processes ([`process`]), a timeout safety net, streams and
//! consumers made the same way every time.
//!
//! No helper sleeps to wait for something: each wait is on a signal (an
//! answer from the server, a line from a child process, a delivery), with
//! a timeout only so that a broken bridge fails the test instead of
//! hanging it.

// Every test binary that declares `mod support;` compiles all of it and
// uses only a part.
#![allow(dead_code)]

pub mod process;
pub mod server;

use std::{future::Future, time::Duration};

use async_nats::jetstream::{self, consumer::pull, stream};
use futures_util::StreamExt;

pub use server::NatsServer;

/// What every test that needs the server is marked with.
pub const NEEDS_SERVER: &str = "needs nats-server: apt-get install nats-server";

/// The safety net for a wait in a test: generous, a passing test never
/// comes near it.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Await `future`, failing the test if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
}

/// A client of `server`, and a JetStream context whose requests time out
/// after 2 s (so that the tests that restart the server retry quickly).
pub async fn connect(server: &NatsServer) -> (async_nats::Client, jetstream::Context) {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(server.url())
        .await
        .expect("connect to the test server");
    let jetstream = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client.clone());
    (client, jetstream)
}

/// The test's own client runs on a worker thread of its own, so that its
/// connection stays alive (answering the server's pings) between the
/// test's requests.
pub fn admin_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A file-backed stream `name` capturing `name.>`.
pub async fn make_stream(jetstream: &jetstream::Context, name: &str) -> stream::Stream {
    jetstream
        .create_stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("{name}.>")],
            ..Default::default()
        })
        .await
        .expect("create the stream")
}

/// A durable pull consumer `name` on `stream`, explicit acks, with this
/// ack wait.
pub async fn make_consumer(
    jetstream: &jetstream::Context,
    stream: &str,
    name: &str,
    ack_wait: Duration,
) -> jetstream::consumer::PullConsumer {
    jetstream
        .get_stream(stream)
        .await
        .expect("the stream")
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            ack_wait,
            ..Default::default()
        })
        .await
        .expect("create the consumer")
}

/// Store one message on `subject` for each of `keys`, with the key as
/// its message id and `payload(key)` as its payload; return once the
/// stream has acknowledged them all.
pub async fn store_keyed(
    jetstream: &jetstream::Context,
    subject: &str,
    keys: &[String],
    payload: impl Fn(&str) -> Vec<u8>,
) {
    for chunk in keys.chunks(500) {
        let mut acks = Vec::with_capacity(chunk.len());
        for key in chunk {
            let message = jetstream::message::PublishMessage::build()
                .payload(payload(key).into())
                .message_id(key);
            let ack = jetstream
                .send_publish(subject.to_owned(), message)
                .await
                .expect("publish");
            acks.push(ack);
        }
        for ack in acks {
            ack.await.expect("the stream stores the message");
        }
    }
}

/// The consumer's pending and ack-pending counts, from the server.
pub async fn consumer_backlog(
    jetstream: &jetstream::Context,
    stream: &str,
    consumer: &str,
) -> (u64, usize) {
    let consumer: jetstream::consumer::PullConsumer = jetstream
        .get_stream(stream)
        .await
        .expect("the stream")
        .get_consumer(consumer)
        .await
        .expect("the consumer");
    let info = consumer.cached_info();
    (info.num_pending, info.num_ack_pending)
}

/// Every message in `stream`, in order: (subject, `Nats-Msg-Id`, payload),
/// read with an ephemeral ordered consumer that stops at the end.
pub async fn stored(
    jetstream: &jetstream::Context,
    stream: &str,
) -> Vec<(String, Option<String>, Vec<u8>)> {
    let stream = jetstream.get_stream(stream).await.expect("the stream");
    let info = stream.get_info().await.expect("stream info");
    let total = info.state.messages;
    let consumer: jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("an ephemeral consumer");
    let mut out = Vec::new();
    while (out.len() as u64) < total {
        let mut batch = consumer
            .fetch()
            .max_messages(1000)
            .messages()
            .await
            .expect("fetch");
        while let Some(message) = batch.next().await {
            let message = message.expect("a stored message");
            let id = message
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.as_str().to_owned());
            out.push((message.subject.to_string(), id, message.payload.to_vec()));
        }
    }
    out
}

/// The seed named by the environment variable `var` (decimal, or hex with
/// a `0x` prefix), or a fresh random one.
///
/// # Panics
///
/// If the variable is set to something that is not a number.
pub fn seed_from_env(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => text.parse().ok(),
            };
            parsed.unwrap_or_else(|| panic!("{var}={text:?} is not a number"))
        }
        Err(_) => fastrand::u64(..),
    }
}

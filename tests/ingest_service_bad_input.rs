//! The `ingest_service` example answers every bad request with the right
//! status and stores nothing of it: `400` for a body that is not JSON, has
//! no id, or a non-string or empty id; `413` for a body over the limit
//! (set here through `INGEST_BODY_LIMIT`), announced or streamed; `405`
//! for another method on `/events`. Garbage on the wire does not bring it
//! down. An id posted twice is stored once; `/stats` counts all of it.

#![cfg(unix)]

mod ingest_support;

use ingest_support::{Client, Outcome, Response, Service, request, stored_ids};
use tokio::io::AsyncWriteExt;

/// The body limit the service is started with.
const LIMIT: usize = 1024;

async fn expect_answer(client: &mut Client, bytes: &[u8]) -> Response {
    match client.send(bytes).await {
        Outcome::Answered(response) => response,
        other => panic!(
            "no answer to {:?}: {other:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        ),
    }
}

async fn post(client: &mut Client, body: &[u8]) -> Response {
    expect_answer(client, &request("POST", "/events", &[], body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_status_and_store_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("ingest.db");
    let limit = LIMIT.to_string();
    let service = Service::start(&db, &[], &[("INGEST_BODY_LIMIT", limit.as_str())]).await;
    let mut client = Client::new(service.addr);

    let health = expect_answer(&mut client, &request("GET", "/health", &[], b"")).await;
    assert_eq!(health.status, 200, "{health:?}");

    // 400: not the expected JSON.
    let bad_bodies: [&[u8]; 9] = [
        br#"{"id":"#,
        b"not json at all",
        b"",
        br#"{"payload": 1}"#,
        br#"{"id": 5, "payload": 1}"#,
        br#"{"id": null, "payload": 1}"#,
        br#"{"id": "", "payload": 1}"#,
        br#"[{"id": "in-an-array"}]"#,
        b"{\"id\": \"\xff\xfe\", \"payload\": 1}",
    ];
    for body in bad_bodies {
        let response = post(&mut client, body).await;
        assert_eq!(
            response.status,
            400,
            "{:?} -> {response:?}",
            String::from_utf8_lossy(body)
        );
        assert!(response.body.contains("error"), "{response:?}");
    }

    // 413: over the limit, announced by content-length ...
    let padding = "x".repeat(LIMIT);
    let big = format!(r#"{{"id":"too-big","payload":"{padding}"}}"#);
    let response = Client::once(
        service.addr,
        &request("POST", "/events", &[], big.as_bytes()),
    )
    .await;
    match response {
        Outcome::Answered(r) => assert_eq!(r.status, 413, "{r:?}"),
        other => panic!("no answer to a body over the limit: {other:?}"),
    }
    // ... or streamed in chunks with no length given.
    let half = big.len() / 2;
    let mut chunked =
        b"POST /events HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for part in [&big[..half], &big[half..]] {
        chunked.extend_from_slice(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    match Client::once(service.addr, &chunked).await {
        Outcome::Answered(r) => assert_eq!(r.status, 413, "{r:?}"),
        other => panic!("no answer to a streamed body over the limit: {other:?}"),
    }

    // 405: another method on /events, with the allowed one named.
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let response = expect_answer(&mut client, &request(method, "/events", &[], b"")).await;
        assert_eq!(response.status, 405, "{method} -> {response:?}");
        assert_eq!(response.header("allow"), Some("POST"), "{response:?}");
    }

    // Garbage on the wire: the connection is answered or closed, and the
    // service carries on.
    for garbage in [
        &b"\x16\x03\x01\x02\x00garbage\r\n\r\n"[..],
        b"POST /events HTTP/1.1\r\ncontent-length: nonsense\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ] {
        let mut raw = tokio::net::TcpStream::connect(service.addr)
            .await
            .expect("connect");
        raw.write_all(garbage).await.expect("write");
        let mut reader = tokio::io::BufReader::new(raw);
        if let Some(response) = ingest_support::read_response(&mut reader).await {
            assert_eq!(response.status / 100, 4, "{response:?}");
        }
    }

    // Accepted, and a duplicate id accepted again.
    for id in ["kept-1", "twice", "twice"] {
        let body = format!(r#"{{"id":"{id}","payload":{{"n":1}}}}"#);
        let response = post(&mut client, body.as_bytes()).await;
        assert_eq!(response.status, 202, "{id} -> {response:?}");
    }

    let stats = expect_answer(&mut client, &request("GET", "/stats", &[], b"")).await;
    assert_eq!(stats.status, 200, "{stats:?}");
    let stats: serde_json::Value = serde_json::from_str(&stats.body).expect("JSON stats");
    assert_eq!(stats["state"], "running", "{stats}");
    assert_eq!(stats["accepted"], 3, "{stats}");
    assert_eq!(stats["refused"], 0, "{stats}");
    assert_eq!(stats["bad_request"], bad_bodies.len(), "{stats}");
    assert_eq!(stats["too_large"], 2, "{stats}");
    let actors: Vec<&str> = stats["actors"]
        .as_array()
        .expect("actors")
        .iter()
        .map(|a| a["actor"].as_str().expect("a name"))
        .collect();
    assert_eq!(actors, ["validate", "enrich", "sink", "bridge", "trail"]);

    let health = expect_answer(&mut client, &request("GET", "/health", &[], b"")).await;
    assert_eq!(
        health.status, 200,
        "still running after all that: {health:?}"
    );

    service.signal(false);
    let (code, stderr) = service.finish().await;
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(
        stderr.contains("every accepted event accounted for: yes"),
        "{stderr}"
    );

    let stored = stored_ids(&db);
    let mut ids: Vec<(&str, u64)> = stored.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    ids.sort();
    assert_eq!(
        ids,
        [("kept-1", 1), ("twice", 1)],
        "only the accepted ids, once each"
    );
    assert!(
        stderr.contains("1 duplicate ids ignored"),
        "the second post of the same id was ignored:\n{stderr}"
    );
}

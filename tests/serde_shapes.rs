//! With the `serde` feature, the value types serialise as maiko 0.3 wrote
//! them: an `EventId` as a bare number, an `ActorId` as a string, an
//! `Envelope` as `{"meta": {...}, "event": ...}`, an `OverflowPolicy` by
//! name; configurations round-trip (a 0.3 configuration, without the newer
//! settings, still loads); and `Supervisor::to_json` lists who subscribes
//! to what.
#![cfg(feature = "serde")]

use maiko::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Event, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Reading(f64);

#[derive(Label, Clone, Debug, Hash, PartialEq, Eq)]
enum Channel {
    Sensors,
    Alerts,
}

impl Topic<Reading> for Channel {
    fn from_event(_: &Reading) -> Self {
        Channel::Sensors
    }
}

struct Quiet;

impl Actor for Quiet {
    type Event = Reading;
}

#[test]
fn ids_envelopes_and_policies_keep_their_shape() {
    let parent = EventId::from(7_u128);
    let envelope = Envelope::new(Reading(1.5), ActorId::new("probe")).with_parent_id(parent);
    // As text: an id is a 128-bit number, which `serde_json::Value` holds
    // only approximately (as a float).
    let text = serde_json::to_string(&envelope).unwrap();
    assert!(
        text.contains(&format!(r#""id":{}"#, envelope.id().as_u128())),
        "{text}"
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["event"], json!(1.5));
    assert_eq!(value["meta"]["actor_id"], json!("probe"));
    assert_eq!(value["meta"]["parent_id"], json!(7));
    assert!(value["meta"]["id"].is_number());
    assert!(value["meta"]["timestamp"].is_number());
    let back: Envelope<Reading> = serde_json::from_str(&text).unwrap();
    assert_eq!(back.id(), envelope.id());
    assert_eq!(back.meta(), envelope.meta());
    assert_eq!(
        serde_json::to_value(OverflowPolicy::Block).unwrap(),
        json!("Block")
    );
}

#[test]
fn configurations_round_trip_and_a_0_3_configuration_loads() {
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(512)
        .with_shutdown_timeout(std::time::Duration::from_secs(3));
    let text = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<SupervisorConfig>(&text).unwrap(),
        config
    );
    let old = r#"{"broker_channel_capacity": 64, "default_actor_channel_capacity": 32,
                  "default_max_events_per_tick": 5, "monitoring_channel_capacity": 100}"#;
    let loaded: SupervisorConfig = serde_json::from_str(old).unwrap();
    assert_eq!(loaded.broker_channel_capacity(), 64);
    assert_eq!(loaded.monitoring_channel_capacity(), 100);
    assert_eq!(
        loaded.shutdown_timeout(),
        SupervisorConfig::default().shutdown_timeout()
    );
    let actor = ActorConfig::new(&loaded);
    let actor_text = serde_json::to_string(&actor).unwrap();
    assert_eq!(
        serde_json::from_str::<ActorConfig>(&actor_text).unwrap(),
        actor
    );
}

#[test]
fn to_json_lists_each_actors_subscriptions() {
    let mut sup = Supervisor::<Reading, Channel>::default();
    sup.add_actor("sensor", |_| Quiet, [Channel::Sensors])
        .unwrap();
    sup.add_actor("pager", |_| Quiet, [Channel::Alerts])
        .unwrap();
    sup.add_actor("everything", |_| Quiet, Subscribe::all())
        .unwrap();
    sup.add_actor("silent", |_| Quiet, Subscribe::none())
        .unwrap();
    let value: Value = serde_json::from_str(&sup.to_json().unwrap()).unwrap();
    assert_eq!(
        value,
        json!([
            {"actor_id": "sensor", "subscriptions": ["Sensors"]},
            {"actor_id": "pager", "subscriptions": ["Alerts"]},
            {"actor_id": "everything", "subscriptions": ["Alerts", "Sensors"]},
            {"actor_id": "silent", "subscriptions": []},
        ])
    );
}

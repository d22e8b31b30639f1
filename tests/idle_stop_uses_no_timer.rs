//! Stopping an idle system involves no sleep or timer: under paused time,
//! which auto-advances through any sleep, no virtual time passes.

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Ping;

struct Idle;

impl Actor for Idle {
    type Event = Ping;
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stopping_four_idle_actors_takes_no_virtual_time() -> Result {
    let mut sup = Supervisor::<Ping>::default();
    for name in ["a", "b", "c", "d"] {
        sup.add_actor(name, |_| Idle, [DefaultTopic])?;
    }
    sup.start().await?;
    sup.send(Ping).await?;
    let before = tokio::time::Instant::now();
    let report = sup.shutdown().await;
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "virtual time passed during stop()"
    );
    assert!(report.is_clean(), "{report}");
    for name in ["a", "b", "c", "d"] {
        assert_eq!(report.actor(name).unwrap().handled, 1);
    }
    Ok(())
}

//! `Supervisor::dead_letters`: every copy of an event that a subscriber it
//! was routed to will never handle comes back, with its reason, and per
//! actor the letters are exactly `dropped + lost + abandoned` of its report:
//! dropped under `OverflowPolicy::Drop`, failed in its handler, meant for
//! an actor that failed for good, abandoned at the deadline. `recv` ends
//! once the supervisor has finished stopping; the letters are taken once,
//! before the start.

mod support;

use std::time::Duration;

use maiko::*;
use support::{Door, Tally, within};

#[derive(Event, Clone, Debug, PartialEq)]
struct Job(u32);

/// Every letter, once the supervisor has finished stopping.
async fn all(mut letters: DeadLetters<Job>) -> Vec<DeadLetter<Job>> {
    let mut taken = Vec::new();
    while let Some(letter) = letters.recv().await {
        taken.push(letter);
    }
    taken
}

fn jobs_of<'a>(letters: &'a [DeadLetter<Job>], actor: &'a str) -> impl Iterator<Item = u32> + 'a {
    letters
        .iter()
        .filter(move |l| l.actor().as_str() == actor)
        .map(|l| l.event().0)
}

/// Holds job 0 at a door; fails on job 3 with an error, panics on job 5.
struct Picky {
    door: Door,
    handled: Tally,
}

impl Actor for Picky {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        match envelope.event().0 {
            0 => self.door.pass().await,
            3 => return Err(Error::external(std::io::Error::other("job 3 is bad"))),
            5 => panic!("job 5 is poison"),
            _ => {}
        }
        self.handled.add_one();
        Ok(())
    }
}

/// A started supervisor with one `Picky` actor named `name` subscribed to
/// `topic`, its door, and the task that takes its dead letters.
async fn picky<T: Topic<Job>>(
    config: SupervisorConfig,
    name: &str,
    topic: T,
) -> Result<(
    Supervisor<Job, T>,
    Door,
    tokio::task::JoinHandle<Vec<DeadLetter<Job>>>,
)> {
    let mut sup = Supervisor::<Job, T>::new(config);
    let door = Door::new();
    let (d, h) = (door.clone(), Tally::new());
    sup.add_actor(
        name,
        move |_| Picky {
            door: d,
            handled: h,
        },
        [topic],
    )?;
    let letters = tokio::spawn(all(sup.dead_letters()?));
    sup.start().await?;
    Ok((sup, door, letters))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Lossy;

impl Topic<Job> for Lossy {
    fn from_event(_: &Job) -> Self {
        Lossy
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Drop
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_copies_come_back_as_dropped() -> Result {
    let config = SupervisorConfig::default().with_default_actor_channel_capacity(1);
    let (sup, door, letters) = picky(config, "slow", Lossy).await?;
    sup.send(Job(0)).await?;
    door.arrivals(1).await;
    // Job 1 takes the one slot; 2, 4 and 6 find it full. The tracked
    // delivery of the last one says when the broker has settled it.
    sup.send(Job(1)).await?;
    for n in [2, 4] {
        sup.send(Job(n)).await?;
    }
    let last = sup.send_tracked(Job(6)).await.map_err(Error::from)?;
    within("job 6 to be settled", last).await;
    door.open();
    let report = within("the stop", sup.shutdown()).await;
    let letters = within("the letters to end", letters).await.expect("task");

    let slow = report.actor("slow").expect("slow");
    assert_eq!((slow.handled, slow.dropped), (2, 3), "{report}");
    assert_eq!(jobs_of(&letters, "slow").collect::<Vec<_>>(), [2, 4, 6]);
    assert!(
        letters
            .iter()
            .all(|l| matches!(l.reason(), DeadReason::Dropped))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_handler_and_a_failed_actor_give_their_events_back() -> Result {
    let config = SupervisorConfig::default().with_stop_on_failure(false);
    let (sup, door, letters) = picky(config, "picky", DefaultTopic).await?;
    // Every job is accepted while job 0 holds the actor at its door: once
    // its only actor has failed, the supervisor stops on its own and would
    // refuse the rest.
    sup.send(Job(0)).await?;
    door.arrivals(1).await;
    for n in 1..=8 {
        sup.send(Job(n)).await?;
    }
    door.open();
    let report = within("the stop", sup.shutdown()).await;
    let letters = within("the letters to end", letters).await.expect("task");

    let picky = report.actor("picky").expect("picky");
    // 0, 1 and 2 handled; 3 failed (not handled: it is a dead letter);
    // every later copy was meant for an actor that had failed for good.
    assert_eq!(
        (picky.routed, picky.handled, picky.lost),
        (9, 3, 6),
        "{report}"
    );
    assert!(picky.is_balanced(), "{report}");
    // Job 3's letter is sent before the failure is recorded; the others
    // come from the actor's mailbox and from the routing loop, which run
    // side by side, so their order may vary.
    let mut jobs: Vec<u32> = jobs_of(&letters, "picky").collect();
    jobs.sort_unstable();
    assert_eq!(jobs, [3, 4, 5, 6, 7, 8]);
    for letter in &letters {
        if letter.event().0 == 3 {
            assert!(
                matches!(letter.reason(), DeadReason::Failed(Error::External(e)) if e.to_string() == "job 3 is bad"),
                "{letter:?}"
            );
        } else {
            assert!(
                matches!(letter.reason(), DeadReason::ActorFailed),
                "{letter:?}"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_left_at_the_deadline_come_back_as_abandoned() -> Result {
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_millis(50))
        .with_shutdown_grace(Duration::from_millis(50));
    let (sup, door, letters) = picky(config, "stuck", DefaultTopic).await?;
    sup.send(Job(0)).await?;
    door.arrivals(1).await;
    for n in [1, 2, 4] {
        sup.send(Job(n)).await?;
    }
    // The door never opens: the deadline abandons what waits.
    let report = within("the stop", sup.shutdown()).await;
    let letters = within("the letters to end", letters).await.expect("task");

    let stuck = report.actor("stuck").expect("stuck");
    assert!(report.deadline_hit, "{report}");
    assert_eq!(
        letters.len() as u64,
        stuck.dropped + stuck.lost + stuck.abandoned,
        "{report}"
    );
    assert_eq!(jobs_of(&letters, "stuck").collect::<Vec<_>>(), [1, 2, 4]);
    assert!(
        letters
            .iter()
            .all(|l| matches!(l.reason(), DeadReason::Abandoned))
    );
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn letters_are_taken_once_and_before_the_start() -> Result {
    let mut sup = Supervisor::<Job>::default();
    let letters = sup.dead_letters()?;
    assert_eq!(sup.dead_letters().unwrap_err(), Error::DeadLettersTaken);
    sup.start().await?;
    let mut late = Supervisor::<Job>::default();
    late.start().await?;
    assert_eq!(
        late.dead_letters().unwrap_err(),
        Error::BrokerAlreadyStarted
    );
    within("the stop", late.stop()).await?;
    within("the stop", sup.stop()).await?;
    // Nothing died: the letters end at once after the stop.
    assert!(
        within("the end of the letters", all(letters))
            .await
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn without_a_taker_the_copies_are_counted() -> Result {
    let mut sup = Supervisor::<Job>::new(SupervisorConfig::default().with_stop_on_failure(false));
    let door = Door::new();
    door.open();
    let (d, h) = (door.clone(), Tally::new());
    sup.add_actor(
        "picky",
        move |_| Picky {
            door: d,
            handled: h,
        },
        [DefaultTopic],
    )?;
    sup.start().await?;
    for n in 1..=4 {
        sup.send(Job(n)).await?;
    }
    let report = within("the stop", sup.shutdown()).await;
    let picky = report.actor("picky").expect("picky");
    assert_eq!((picky.handled, picky.lost), (2, 2), "{report}");
    Ok(())
}

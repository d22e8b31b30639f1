//! Bad input to a `ShutdownGroup` returns a clear `Error` instead of
//! panicking, and a refused supervisor is handed back: an empty or
//! duplicate member name, a supervisor that has started, was stopped or has
//! accepted events, adding after `start`, starting twice, settings changed
//! after a member was added, and a member's unusable configuration.

mod support;

use maiko::*;
use support::within;

#[derive(Event, Clone, Debug)]
struct Note;

struct Quiet;

impl Actor for Quiet {
    type Event = Note;
}

fn supervisor() -> Supervisor<Note> {
    let mut sup = Supervisor::<Note>::default();
    sup.add_actor("quiet", |_| Quiet, [DefaultTopic]).unwrap();
    sup
}

/// `try_add` refuses with `expected` and hands the supervisor back.
fn refused(
    group: &mut ShutdownGroup,
    name: &str,
    sup: Supervisor<Note>,
    expected: &Error,
) -> Supervisor<Note> {
    let refusal = group
        .try_add(name, sup)
        .expect_err("the supervisor should be refused");
    assert_eq!(refusal.error(), expected);
    refusal.into_supervisor()
}

#[tokio::test(flavor = "current_thread")]
async fn names_must_be_present_and_unique() {
    let mut group = ShutdownGroup::new();
    let back = refused(&mut group, "", supervisor(), &Error::EmptyMemberName);
    // Handed back whole: it can still join under a proper name.
    group.try_add("ingest", back).unwrap();
    let duplicate = Error::DuplicateMemberName("ingest".into());
    refused(&mut group, "ingest", supervisor(), &duplicate);
    group.start().await.unwrap();
    assert!(within("the shutdown", group.shutdown()).await.is_clean());
}

#[tokio::test(flavor = "current_thread")]
async fn a_started_stopped_or_used_supervisor_cannot_join() {
    let mut group = ShutdownGroup::new();

    let mut started = supervisor();
    started.start().await.unwrap();
    let handle = started.handle();
    let already_started = Error::UnusableMember("it has already started");
    refused(&mut group, "started", started, &already_started);
    handle.request_stop();
    within("the refused supervisor's own shutdown", handle.stopped()).await;

    let stopped = supervisor();
    stopped.handle().request_stop();
    refused(
        &mut group,
        "stopped",
        stopped,
        &Error::UnusableMember("it has already been stopped"),
    );

    let used = supervisor();
    used.send(Note).await.unwrap();
    let refusal = group.try_add("used", used).unwrap_err();
    assert!(
        matches!(refusal.error(), Error::UnusableMember(reason) if reason.contains("accepted events")),
        "{refusal}"
    );
    // Handed back, the supervisor still delivers what it accepted.
    let report = within("its own shutdown", refusal.into_supervisor().shutdown()).await;
    assert_eq!(report.actor("quiet").unwrap().handled, 1, "{report}");

    let unusable =
        Supervisor::<Note>::new(SupervisorConfig::default().with_broker_channel_capacity(0));
    let refusal = group.try_add("unusable", unusable).unwrap_err();
    assert_eq!(
        refusal.into_error(),
        Error::ZeroCapacity("broker_channel_capacity")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn adding_after_start_and_starting_twice_are_refused() {
    let mut group = ShutdownGroup::new();
    group.add("first", supervisor());
    group.start().await.unwrap();
    refused(
        &mut group,
        "late",
        supervisor(),
        &Error::GroupAlreadyStarted,
    );
    assert_eq!(group.start().await, Err(Error::GroupAlreadyStarted));
    let report = within("the shutdown", group.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.members.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn add_keeps_its_error_for_start_and_stop_while_the_valid_members_still_drain() {
    let mut group = ShutdownGroup::new();
    let good = group.add("good", supervisor());
    let bad = group.add("", supervisor());
    assert_eq!(group.start().await, Err(Error::EmptyMemberName));

    // The refused supervisor's handle refuses; the good member still takes
    // events before the start and drains them at the stop.
    assert!(bad.send(Note).await.unwrap_err().is_stopping());
    good.send(Note).await.unwrap();
    let report = within("the shutdown", group.shutdown()).await;
    assert_eq!(report.error, Some(Error::EmptyMemberName));
    assert!(!report.is_clean(), "{report}");
    let good = report.member("good").unwrap();
    assert_eq!(good.actor("quiet").unwrap().handled, 1, "{report}");
    assert_eq!(report.into_result(), Err(Error::EmptyMemberName));
}

#[tokio::test(flavor = "current_thread")]
async fn settings_changed_after_a_member_was_added_are_refused() {
    let mut group = ShutdownGroup::new();
    group.add("first", supervisor());
    let mut group = group.with_shutdown_timeout(std::time::Duration::from_secs(1));
    assert!(matches!(group.start().await, Err(Error::InvalidConfig(_))));
    let report = within("the shutdown", group.shutdown()).await;
    assert!(matches!(report.into_result(), Err(Error::InvalidConfig(_))));
}

#[tokio::test(flavor = "current_thread")]
async fn an_empty_group_starts_and_stops() {
    let mut group = ShutdownGroup::new();
    group.start().await.unwrap();
    let report = within("the shutdown", group.shutdown()).await;
    assert!(report.is_clean() && report.members.is_empty(), "{report}");
    let never_started = ShutdownGroup::default();
    assert!(within("the shutdown", never_started.stop()).await.is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn a_group_dropped_before_its_start_refuses_its_members_publishes() {
    let mut group = ShutdownGroup::new();
    let member = group.add("member", supervisor());
    drop(group);
    // Nothing will ever read the member's channels: refused, not accepted.
    assert!(member.send(Note).await.unwrap_err().is_stopping());
}

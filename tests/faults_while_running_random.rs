//! Faults while running (issue 21, item 4): randomised trials combining
//! injected errors and panics under load, restarts (during the drain
//! too), actors added and stopped while producers run, and a stop at a
//! random moment, sometimes with a shutdown timeout short enough to
//! abandon events; on both runtime flavours.
//!
//! After each trial, per subscriber and producer: every accepted event the
//! subscriber was meant to get was handled successfully exactly once, or
//! is exactly one dead letter for it with the right reason, never both;
//! handled events keep the producer's order; every report balances and
//! each actor's dead letters are its `dropped + lost + abandoned`; and
//! nothing hangs. See `support/faults/` for the system and the checks.
//!
//! Run with `-- --nocapture` to see the seed and the time.
//! `MAIKO_FAULT_SEED` replays a whole run, `MAIKO_FAULT_TRIALS` sets the
//! number of trials per flavour, and `MAIKO_FAULT_TRIAL_SEED` replays one
//! trial (its seed is printed when it fails; run it on the flavour that
//! failed: the test names end in the flavour).

mod support;

use std::{sync::Arc, time::Instant};

use support::{
    count_from_env,
    faults::{Params, Tally, quiet_injected_panics, run_trial},
    finish_within, seed_from_env,
};

/// Trials per flavour unless `MAIKO_FAULT_TRIALS` says otherwise.
const TRIALS: usize = 250;

/// Failing trials whose details are printed in full.
const SHOWN_FAILURES: usize = 3;

async fn run_trials(flavour: &str) {
    quiet_injected_panics();
    let seeds: Vec<u64> = match std::env::var("MAIKO_FAULT_TRIAL_SEED") {
        Ok(_) => {
            let seed = seed_from_env("MAIKO_FAULT_TRIAL_SEED");
            println!("{flavour}: replaying one trial, MAIKO_FAULT_TRIAL_SEED={seed:#x}");
            vec![seed]
        }
        Err(_) => {
            let seed = seed_from_env("MAIKO_FAULT_SEED");
            let trials = count_from_env("MAIKO_FAULT_TRIALS", TRIALS);
            println!("{flavour}: MAIKO_FAULT_SEED={seed:#x} MAIKO_FAULT_TRIALS={trials}");
            let mut rng = fastrand::Rng::with_seed(seed);
            // The two flavours draw different trials from one seed.
            if flavour == "multi_thread" {
                rng.u64(..);
            }
            (0..trials).map(|_| rng.u64(..)).collect()
        }
    };

    let started = Instant::now();
    let mut failed = Vec::new();
    let mut total = Tally::default();
    for &seed in &seeds {
        let params = Arc::new(Params::draw(seed));
        let outcome = run_trial(Arc::clone(&params)).await;
        total.add(&outcome.tally);
        let problems = outcome.problems;
        if !problems.is_empty() {
            failed.push(seed);
            if failed.len() <= SHOWN_FAILURES {
                println!(
                    "{flavour}: FAILED trial, replay with MAIKO_FAULT_TRIAL_SEED={seed:#x}\n{params}"
                );
                for problem in &problems {
                    println!("  {problem}");
                }
            }
        }
    }
    println!(
        "{flavour}: {total}\n{flavour}: in {:.1?}",
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "{flavour}: {} of {} trials failed; replay one with MAIKO_FAULT_TRIAL_SEED: {failed:#x?}",
        failed.len(),
        seeds.len()
    );
    support::keep_summary(
        &format!("faults_while_running_random_{flavour}"),
        &format!(
            "{flavour}: {total}\n{flavour}: in {:.1?}",
            started.elapsed()
        ),
    );
}

#[tokio::test(flavor = "current_thread")]
async fn faults_while_running_lose_nothing_current_thread() {
    // A hung trial is reported by the trial itself (its waits are bounded);
    // this only keeps a broken runtime from hanging the whole test.
    finish_within(
        std::time::Duration::from_secs(600),
        run_trials("current_thread"),
    )
    .await
    .expect("the trials ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_while_running_lose_nothing_multi_thread() {
    finish_within(
        std::time::Duration::from_secs(600),
        run_trials("multi_thread"),
    )
    .await
    .expect("the trials ended");
}

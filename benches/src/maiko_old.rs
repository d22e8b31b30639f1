//! The workloads on `maiko` 0.3.1 (crates.io), with `OverflowPolicy::Block`
//! on its topic and the same channel capacities as the others.
//!
//! Not expressed: the drain. maiko 0.3.1's `stop()` ends actors with events
//! still in their mailboxes, so "stop with a backlog" loses events instead
//! of handling them.

maiko_workloads!(maiko03);

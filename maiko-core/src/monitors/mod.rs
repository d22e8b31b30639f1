//! Monitors that come with maiko (feature `monitoring`): [`Tracer`] logs
//! every record through `tracing`, [`ActorMonitor`] tracks which actors are
//! alive, and [`Recorder`] (feature `recorder`) writes the event flow to a
//! JSON Lines file.

mod actor_monitor;
#[cfg(feature = "recorder")]
mod recorder;
mod tracer;

pub use actor_monitor::ActorMonitor;
#[cfg(feature = "recorder")]
pub use recorder::Recorder;
pub use tracer::Tracer;

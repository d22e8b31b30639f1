//! Settings, from flags and environment variables (a flag wins).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub const HELP: &str = "\
ingest_service: HTTP ingest through maiko actors into SQLite

USAGE:
    ingest_service [FLAGS]

FLAGS (environment variable in brackets; a flag wins):
    --listen ADDR          address to listen on, port 0 for any free port
                           [INGEST_LISTEN] (default 127.0.0.1:8080)
    --db PATH              SQLite database file, created if missing
                           [INGEST_DB] (default ingest.db)
    --drain-timeout SECS   how long the runtime may drain after a signal
                           [INGEST_DRAIN_TIMEOUT] (default 20)
    --http-timeout SECS    how long the HTTP server may take to answer the
                           requests in flight after a signal; more than
                           the drain timeout + 1 [INGEST_HTTP_TIMEOUT]
                           (default: the drain timeout + 5)
    --body-limit BYTES     largest request body accepted; larger ones get 413
                           [INGEST_BODY_LIMIT] (default 1048576)
    --batch N              commit once N events are waiting [INGEST_BATCH]
                           (default 256)
    --batch-ms MS          commit once the oldest waiting event is MS
                           milliseconds old [INGEST_BATCH_MS] (default 5)
    -h, --help             this text

Logs go to stderr, filtered by RUST_LOG (default info).
";

/// How long actors still running at the drain deadline get before they
/// are aborted: the drain is over by the drain timeout plus this.
pub const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The service's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub drain_timeout: Duration,
    pub http_timeout: Duration,
    pub body_limit: usize,
    pub batch: usize,
    pub batch_wait: Duration,
}

/// What the command line asked for.
pub enum Parsed {
    Run(Config),
    Help,
}

/// One setting: its flag, its environment variable.
struct Setting {
    flag: &'static str,
    env: &'static str,
}

const LISTEN: Setting = Setting {
    flag: "--listen",
    env: "INGEST_LISTEN",
};
const DB: Setting = Setting {
    flag: "--db",
    env: "INGEST_DB",
};
const DRAIN_TIMEOUT: Setting = Setting {
    flag: "--drain-timeout",
    env: "INGEST_DRAIN_TIMEOUT",
};
const HTTP_TIMEOUT: Setting = Setting {
    flag: "--http-timeout",
    env: "INGEST_HTTP_TIMEOUT",
};
const BODY_LIMIT: Setting = Setting {
    flag: "--body-limit",
    env: "INGEST_BODY_LIMIT",
};
const BATCH: Setting = Setting {
    flag: "--batch",
    env: "INGEST_BATCH",
};
const BATCH_MS: Setting = Setting {
    flag: "--batch-ms",
    env: "INGEST_BATCH_MS",
};
const ALL: [&Setting; 7] = [
    &LISTEN,
    &DB,
    &DRAIN_TIMEOUT,
    &HTTP_TIMEOUT,
    &BODY_LIMIT,
    &BATCH,
    &BATCH_MS,
];

impl Config {
    /// Read the settings from `args` (without the program name) and the
    /// environment.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        let mut flags: Vec<(&'static str, String)> = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(Parsed::Help);
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let setting = ALL
                .iter()
                .find(|s| s.flag == name)
                .ok_or_else(|| format!("unknown argument {arg:?} (see --help)"))?;
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .ok_or_else(|| format!("{} needs a value", setting.flag))?,
            };
            flags.push((setting.flag, value));
        }
        let get = |setting: &Setting| -> Option<String> {
            flags
                .iter()
                .rev()
                .find(|(flag, _)| *flag == setting.flag)
                .map(|(_, value)| value.clone())
                .or_else(|| std::env::var(setting.env).ok())
        };

        let listen = match get(&LISTEN) {
            Some(text) => parse(&LISTEN, &text, |t| t.parse::<SocketAddr>().ok())?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let db = get(&DB).map_or_else(|| PathBuf::from("ingest.db"), PathBuf::from);
        let drain_timeout = match get(&DRAIN_TIMEOUT) {
            Some(text) => parse(&DRAIN_TIMEOUT, &text, seconds)?,
            None => Duration::from_secs(20),
        };
        let http_timeout = match get(&HTTP_TIMEOUT) {
            Some(text) => parse(&HTTP_TIMEOUT, &text, seconds)?,
            None => drain_timeout + Duration::from_secs(5),
        };
        if http_timeout <= drain_timeout + DRAIN_GRACE {
            return Err(format!(
                "the HTTP timeout ({http_timeout:?}) must be longer than the drain timeout \
                 ({drain_timeout:?}) plus its grace ({DRAIN_GRACE:?}): a request in flight \
                 may wait for the gate's verdict until then"
            ));
        }
        let body_limit = match get(&BODY_LIMIT) {
            Some(text) => parse(&BODY_LIMIT, &text, positive)?,
            None => 1024 * 1024,
        };
        let batch = match get(&BATCH) {
            Some(text) => parse(&BATCH, &text, positive)?,
            None => 256,
        };
        let batch_wait = match get(&BATCH_MS) {
            Some(text) => Duration::from_millis(parse(&BATCH_MS, &text, |t| {
                positive(t).map(|ms| ms as u64)
            })?),
            None => Duration::from_millis(5),
        };
        Ok(Parsed::Run(Config {
            listen,
            db,
            drain_timeout,
            http_timeout,
            body_limit,
            batch,
            batch_wait,
        }))
    }
}

fn parse<T>(setting: &Setting, text: &str, read: impl Fn(&str) -> Option<T>) -> Result<T, String> {
    read(text.trim()).ok_or_else(|| {
        format!(
            "{} / {}: {text:?} is not a valid value (see --help)",
            setting.flag, setting.env
        )
    })
}

/// A positive number of seconds, decimals allowed.
fn seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// A positive whole number.
fn positive(text: &str) -> Option<usize> {
    text.parse().ok().filter(|n| *n > 0)
}

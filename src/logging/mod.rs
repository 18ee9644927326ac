//! Optional logging: off unless asked for, configured from the environment at the first `init`
//! or at any time through `conference_set_log` (which then wins over the environment).
//!
//! `CONFERENCE_SDK_LOG` holds a filter in `RUST_LOG` syntax (`info`, `conference_session=debug`);
//! unset or empty installs nothing, so the library is silent. Output goes to stderr, or to the
//! file named by `CONFERENCE_SDK_LOG_FILE`, capped at `CONFERENCE_SDK_LOG_MAX_KB` (default
//! 1024; 0: no cap) and rotated, keeping `CONFERENCE_SDK_LOG_FILES` old files (default 3):
//! at most 4 MiB on a recorder's flash by default. A host that already installed a global
//! `tracing` subscriber keeps it. Nothing here panics into the caller.

mod rotating;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use rotating::RotatingFile;

pub const LOG_ENV: &str = "CONFERENCE_SDK_LOG";
pub const LOG_FILE_ENV: &str = "CONFERENCE_SDK_LOG_FILE";
pub const LOG_MAX_KB_ENV: &str = "CONFERENCE_SDK_LOG_MAX_KB";
pub const LOG_FILES_ENV: &str = "CONFERENCE_SDK_LOG_FILES";
pub const DEFAULT_MAX_KB: u64 = 1024;
pub const DEFAULT_FILES: u32 = 3;
/// More old files than this is a mistake, not a setting.
pub const MAX_FILES: u32 = 99;

/// Where the records go.
enum Sink {
    Stderr,
    File(RotatingFile),
}

static SINK: Mutex<Sink> = Mutex::new(Sink::Stderr);
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();
static CONFIGURE: Once = Once::new();
/// `conference_set_log` was called: the environment no longer applies.
static EXPLICIT: AtomicBool = AtomicBool::new(false);

/// What a logging setting asks for; `None` keeps the current value.
pub struct LogSettings<'a> {
    /// A filter; "" turns logging off.
    pub filter: Option<&'a str>,
    /// A file; "" means stderr.
    pub path: Option<&'a Path>,
    /// Cap of the file in KiB (0: none) and old files kept.
    pub max_kb: u64,
    pub files: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("not a valid filter: {0}")]
    Filter(String),
    #[error("more than {MAX_FILES} old log files")]
    Files,
    #[error("cannot open the log file: {0}")]
    Open(std::io::Error),
}

/// Applies `settings` now (the explicit call of the C API).
pub fn set(settings: &LogSettings<'_>) -> Result<(), LogError> {
    EXPLICIT.store(true, Ordering::SeqCst);
    apply(settings)
}

/// Installs what the environment asks for, the first time only, unless `set` came first.
pub fn configure_once() {
    CONFIGURE.call_once(|| {
        if EXPLICIT.load(Ordering::SeqCst) {
            return;
        }
        let _ = catch_unwind(AssertUnwindSafe(configure_from_env));
    });
}

fn configure_from_env() {
    fn var(name: &str) -> Option<OsString> {
        std::env::var_os(name).filter(|v| !v.is_empty())
    }
    let Some(filter) = var(LOG_ENV) else {
        return;
    };
    let number = |name: &str, default: u64| match var(name) {
        None => default,
        Some(value) => value.to_string_lossy().trim().parse().unwrap_or_else(|_| {
            warn(&format!("{name} is not a number; using {default}"));
            default
        }),
    };
    let max_kb = number(LOG_MAX_KB_ENV, DEFAULT_MAX_KB);
    let files = u32::try_from(number(LOG_FILES_ENV, u64::from(DEFAULT_FILES)))
        .unwrap_or(MAX_FILES)
        .min(MAX_FILES);
    let path = var(LOG_FILE_ENV);
    let filter = filter.to_string_lossy();
    let settings = LogSettings {
        filter: Some(&filter),
        path: path.as_deref().map(Path::new),
        max_kb,
        files,
    };
    match apply(&settings) {
        Ok(()) => {}
        Err(LogError::Open(err)) => {
            warn(&format!(
                "cannot open {LOG_FILE_ENV} ({err}); logging to stderr"
            ));
            let _ = apply(&LogSettings {
                path: None,
                ..settings
            });
        }
        Err(err) => warn(&format!("{LOG_ENV}: {err}; logging stays off")),
    }
}

fn apply(settings: &LogSettings<'_>) -> Result<(), LogError> {
    if settings.files > MAX_FILES {
        return Err(LogError::Files);
    }
    let filter = settings
        .filter
        .map(|f| EnvFilter::try_new(if f.is_empty() { "off" } else { f }))
        .transpose()
        .map_err(|err| LogError::Filter(err.to_string()))?;
    let max_bytes = settings.max_kb.saturating_mul(1024);
    {
        let mut sink = SINK.lock();
        match settings.path {
            Some(path) if path.as_os_str().is_empty() => *sink = Sink::Stderr,
            Some(path) => {
                let file =
                    RotatingFile::open(path, max_bytes, settings.files).map_err(LogError::Open)?;
                *sink = Sink::File(file);
            }
            None => {
                if let Sink::File(file) = &mut *sink {
                    file.set_limits(max_bytes, settings.files);
                }
            }
        }
    }
    if let Some(filter) = filter {
        match FILTER.get() {
            Some(handle) => {
                let _ = handle.reload(filter);
            }
            None => install(filter),
        }
    }
    Ok(())
}

/// The global subscriber, once; its filter is reloadable. A host's own subscriber wins.
fn install(filter: EnvFilter) {
    let (filter, handle) = reload::Layer::new(filter);
    // Colour codes only when the records start on a terminal.
    let ansi = matches!(*SINK.lock(), Sink::Stderr) && std::io::stderr().is_terminal();
    let fmt = tracing_subscriber::fmt::layer()
        .with_thread_names(true)
        .with_ansi(ansi)
        .with_writer(SinkWriter);
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = FILTER.set(handle);
    }
}

/// Writes each formatted record, whole, to the current sink.
struct SinkWriter;

impl<'a> MakeWriter<'a> for SinkWriter {
    type Writer = SinkWriter;
    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter
    }
}

impl Write for SinkWriter {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        match &mut *SINK.lock() {
            Sink::Stderr => std::io::stderr().write_all(record)?,
            // A full flash must not fail the call that logged: the record is lost.
            Sink::File(file) => {
                let _ = file.write_record(record);
            }
        }
        Ok(record.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A configuration problem, said once on stderr (write errors ignored: never panic).
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "conference_sdk: {message}");
}

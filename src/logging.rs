//! Optional logging, configured once per process at the first `init`.
//!
//! `CONFERENCE_SDK_LOG` holds a filter in `RUST_LOG` syntax (`info`, `conference_session=debug`);
//! unset or empty installs nothing, so the library is silent. Output goes to stderr, or
//! appended to the file named by `CONFERENCE_SDK_LOG_FILE`. A host that already installed a
//! global `tracing` subscriber keeps it (installation failure is ignored). Nothing here panics
//! into the caller.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, Once};

use tracing_subscriber::EnvFilter;

pub const LOG_ENV: &str = "CONFERENCE_SDK_LOG";
pub const LOG_FILE_ENV: &str = "CONFERENCE_SDK_LOG_FILE";

static CONFIGURE: Once = Once::new();

/// Installs the subscriber the environment asks for, the first time only.
pub fn configure_once() {
    CONFIGURE.call_once(|| {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            configure(std::env::var_os(LOG_ENV), std::env::var_os(LOG_FILE_ENV))
        }));
    });
}

fn configure(filter: Option<OsString>, file: Option<OsString>) {
    let Some(filter) = filter.filter(|f| !f.is_empty()) else {
        return;
    };
    let filter = match EnvFilter::try_new(filter.to_string_lossy()) {
        Ok(filter) => filter,
        Err(err) => {
            warn(&format!(
                "{LOG_ENV} is not a valid filter ({err}); logging stays off"
            ));
            return;
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_thread_names(true);
    let file = file.filter(|f| !f.is_empty()).and_then(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|err| {
                warn(&format!(
                    "cannot open {LOG_FILE_ENV}={} ({err}); logging to stderr",
                    path.to_string_lossy()
                ))
            })
            .ok()
    });
    // Err means a global subscriber exists already: the host's choice wins.
    // Colour codes only for a terminal: a log file or a captured stderr stays plain text.
    let _ = match file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .try_init(),
        None => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
}

/// A configuration problem, said once on stderr (write errors ignored: never panic).
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "conference_sdk: {message}");
}

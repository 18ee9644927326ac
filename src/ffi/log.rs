//! `conference_set_log()`: the library's log, filter and file, set by the application (a
//! prefixed addition to the document's API; the environment variables do the same without
//! code, see README "Logs").

use std::ffi::{c_char, c_int};
use std::path::Path;

use super::args;
use super::ret_code::ret_code_e;
use crate::logging::{LogError, LogSettings};

/// Longest filter and path accepted, in bytes.
const MAX_TEXT: usize = 4096;

/// Sets the library's log. `filter`: `RUST_LOG` syntax (`"info"`,
/// `"conference_session=debug"`), `""` turns logging off, NULL keeps the current one. `path`:
/// the log file (appended to), `""` for stderr, NULL keeps the current one. The file is capped
/// at `max_kb` KiB (0: no cap) and rotated to `path.1` … `path.<files>` (`files` old files
/// kept, 0..99). Callable at any time, before `init` and after `uninit`, from any thread;
/// once called, the `CONFERENCE_SDK_LOG*` environment variables no longer apply.
/// `retCode_ParamErr`: negative numbers, more than 99 files, a filter that does not parse,
/// text that is not UTF-8, or a file that cannot be opened (nothing changed then).
#[unsafe(no_mangle)]
pub extern "C" fn conference_set_log(
    filter: *const c_char,
    path: *const c_char,
    max_kb: c_int,
    files: c_int,
) -> ret_code_e {
    ffi_boundary!("conference_set_log", {
        let filter = optional_text(filter)?;
        let path = optional_text(path)?;
        let max_kb = u64::try_from(max_kb).map_err(|_| ret_code_e::retCode_ParamErr)?;
        let files = u32::try_from(files).map_err(|_| ret_code_e::retCode_ParamErr)?;
        let settings = LogSettings {
            filter,
            path: path.map(Path::new),
            max_kb,
            files,
        };
        crate::logging::set(&settings).map_err(|err| match err {
            LogError::Filter(_) | LogError::Files | LogError::Open(_) => {
                ret_code_e::retCode_ParamErr
            }
        })
    })
}

fn optional_text<'a>(ptr: *const c_char) -> Result<Option<&'a str>, ret_code_e> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL C strings from the caller, scanned at most MAX_TEXT + 1 bytes.
    unsafe { args::c_str(ptr, MAX_TEXT) }.map(Some)
}

//! `conference_set_tls()`: the MCU link's TLS settings, set by the application (a prefixed
//! addition to the document's API; `CONFERENCE_SDK_TLS*` do the same without code, see
//! docs/SECURITY.md).

use std::ffi::{c_char, c_int};
use std::path::PathBuf;

use conference_session::{TlsMode, TlsSettings};

use super::args;
use super::ret_code::ret_code_e;

/// Longest CA path and pin accepted, in bytes.
const MAX_TEXT: usize = 4096;

/// TLS on the link to the MCU, for `conference_set_tls()`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum conference_tls_mode_e {
    /// Forget the settings of `conference_set_tls()`: the environment applies again.
    CONFERENCE_TLS_ENV = -1,
    /// Plain TCP only.
    CONFERENCE_TLS_OFF = 0,
    /// TLS when the MCU offers it, else plain (the default); with a CA or a pin, TLS only.
    CONFERENCE_TLS_PREFER = 1,
    /// TLS only.
    CONFERENCE_TLS_REQUIRE = 2,
}

/// Sets TLS for every later `connect_MCU` of this process; wins over the `CONFERENCE_SDK_TLS`,
/// `CONFERENCE_SDK_TLS_CA` and `CONFERENCE_SDK_TLS_PIN` environment variables. `mode`: a
/// `conference_tls_mode_e`. `ca_file`: a PEM file of trusted certificates, NULL or `""` for
/// none. `pin`: the SHA-256 of the MCU certificate's SubjectPublicKeyInfo, 64 hex digits or
/// base64, NULL or `""` for none. With a CA or a pin the MCU's certificate is checked and the
/// link is TLS only. Callable at any time, before `init` too, from any thread.
/// `retCode_ParamErr`: an unknown mode, a pin that does not parse, text that is not UTF-8, a
/// CA file that cannot be read or holds no certificate (nothing changed then).
#[unsafe(no_mangle)]
pub extern "C" fn conference_set_tls(
    mode: c_int,
    ca_file: *const c_char,
    pin: *const c_char,
) -> ret_code_e {
    ffi_boundary!("conference_set_tls", {
        let mode = match mode {
            -1 => None,
            0 => Some(TlsMode::Off),
            1 => Some(TlsMode::Prefer),
            2 => Some(TlsMode::Require),
            _ => return Err(ret_code_e::retCode_ParamErr),
        };
        let ca_file = optional_text(ca_file)?;
        let pin = optional_text(pin)?;
        let settings = match mode {
            None => None,
            Some(mode) => Some(TlsSettings {
                mode,
                ca_file: ca_file.map(PathBuf::from),
                pin: pin
                    .map(|pin| {
                        conference_session::parse_pin(pin).ok_or(ret_code_e::retCode_ParamErr)
                    })
                    .transpose()?,
            }),
        };
        conference_session::set_tls(settings).map_err(ret_code_e::from)
    })
}

/// NULL and `""` are both "none".
fn optional_text<'a>(ptr: *const c_char) -> Result<Option<&'a str>, ret_code_e> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL C strings from the caller, scanned at most MAX_TEXT + 1 bytes.
    let text = unsafe { args::c_str(ptr, MAX_TEXT) }?;
    Ok((!text.is_empty()).then_some(text))
}

//! The panic boundary every exported function runs in, and the macros that read C input.
//!
//! Each exported body is `ffi_boundary!("name", { ... })`: the block returns
//! `Result<(), ret_code_e>`, so input checks and core calls use `?`. A panic inside becomes
//! `retCode_Exception` and one error log line; it never unwinds into C.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::types::ret_code_e;

/// What an exported body returns: `Ok` is `retCode_Success`.
pub type FfiResult = Result<(), ret_code_e>;

/// Runs `body` and turns its outcome into the C return value.
pub fn guard(function: &'static str, body: impl FnOnce() -> FfiResult) -> ret_code_e {
    let code = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ret_code_e::retCode_Success,
        Ok(Err(code)) => code,
        Err(payload) => {
            log_panic(function, payload);
            ret_code_e::retCode_Exception
        }
    };
    tracing::debug!(function, ret = ?code, "api call");
    code
}

/// Logs a caught panic. Neither the logging nor dropping the payload may unwind further.
pub(crate) fn log_panic(context: &'static str, payload: Box<dyn Any + Send>) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        tracing::error!(
            context,
            panic = panic_message(payload.as_ref()),
            "panic caught at the C boundary"
        );
    }));
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "non-string panic payload"
    }
}

/// The body of an exported function: `ffi_boundary!("name", { ...; Ok(()) })`.
macro_rules! ffi_boundary {
    ($function:literal, $body:block) => {
        $crate::ffi::boundary::guard($function, move || -> $crate::ffi::boundary::FfiResult {
            $body
        })
    };
}

/// `&T` from a C input pointer, or `retCode_ParamErr` (NULL or misaligned).
macro_rules! try_ref {
    ($ptr:expr) => {{
        let ptr = $ptr;
        // SAFETY: the caller passes NULL or a pointer to a live value (the document's contract).
        unsafe { $crate::ffi::args::input(ptr) }?
    }};
}

/// A checked C output pointer (written only on success), or `retCode_ParamErr`.
macro_rules! try_out {
    ($ptr:expr) => {{
        let ptr = $ptr;
        $crate::ffi::args::output(ptr)?
    }};
}

/// `&str` from a NUL-terminated C string of at most `$max` bytes, or `retCode_ParamErr`.
macro_rules! try_cstr {
    ($ptr:expr, $max:expr) => {{
        let (ptr, max) = ($ptr, $max);
        // SAFETY: the caller passes NULL or a NUL-terminated string; at most max + 1 bytes
        // are read before giving up.
        unsafe { $crate::ffi::args::c_str(ptr, max) }?
    }};
}

/// `&[u8]` from a C buffer and an `int` length (0..=`$max`), or `retCode_ParamErr`.
macro_rules! try_slice {
    ($ptr:expr, $len:expr, $max:expr) => {{
        let (ptr, len, max) = ($ptr, $len, $max);
        // SAFETY: the caller passes NULL or a buffer of at least `len` bytes.
        unsafe { $crate::ffi::args::bytes(ptr, len, max) }?
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_errors_pass_through() {
        assert_eq!(guard("t", || Ok(())), ret_code_e::retCode_Success);
        assert_eq!(
            guard("t", || Err(ret_code_e::retCode_PortErr)),
            ret_code_e::retCode_PortErr
        );
    }

    #[test]
    fn a_panic_becomes_exception() {
        assert_eq!(guard("t", || panic!("boom")), ret_code_e::retCode_Exception);
        assert_eq!(
            guard("t", || std::panic::panic_any(42_u8)),
            ret_code_e::retCode_Exception
        );
        let owned = String::from("formatted");
        assert_eq!(
            guard("t", || panic!("{owned}")),
            ret_code_e::retCode_Exception
        );
    }

    #[test]
    fn the_macro_wraps_a_block() {
        let code = ffi_boundary!("t", {
            let value: Option<u8> = None;
            value.ok_or(ret_code_e::retCode_NotObjectErr)?;
            Ok(())
        });
        assert_eq!(code, ret_code_e::retCode_NotObjectErr);
        let code = ffi_boundary!("t", {
            let v: Vec<u8> = Vec::new();
            let _ = v[3];
            Ok(())
        });
        assert_eq!(code, ret_code_e::retCode_Exception);
    }
}

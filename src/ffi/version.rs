//! `conference_sdk_version()`: the library's version, a prefixed addition to the document's
//! API (the header's `CONFERENCE_SDK_VERSION` macro carries the same string, see build.rs).

use std::ffi::c_char;

/// The package version from Cargo.toml, NUL-terminated.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the version of this `libconference_sdk.so` ("major.minor.patch", the same string
/// as the header's `CONFERENCE_SDK_VERSION`): a static string, never NULL, never to be freed.
/// Callable at any time, before `init` and after `uninit`.
#[unsafe(no_mangle)]
pub extern "C" fn conference_sdk_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    #[test]
    fn version_is_the_package_version() {
        // SAFETY: the pointer is to a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(super::conference_sdk_version()) };
        assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }
}

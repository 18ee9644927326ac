//! `libconference_sdk.so`: a drop-in Rust implementation of the vendor's classroom
//! interactive module. The C ABI lives in [`ffi`]; the behaviour in `conference-session`.
//! See README.md and docs/ARCHITECTURE.md.

pub mod ffi;
mod logging;

pub use ffi::api::*;
pub use ffi::types::*;
pub use ffi::version::conference_sdk_version;

//! The C ABI of `libconference_sdk.so`: types, the 29 exported functions, and the event sink
//! that turns core events into C callbacks. No business logic lives here: it validates C
//! input, converts, calls `conference_session::Sdk`, and converts back.

#[macro_use]
mod boundary;
pub mod api;
mod args;
mod convert;
mod instance;
pub mod log;
mod ret_code;
mod sink;
pub mod stats;
pub mod tls;
pub mod types;
pub mod version;

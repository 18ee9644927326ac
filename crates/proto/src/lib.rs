//! Wire protocol spoken between `libconference_sdk` and `conference-mcu`.
//!
//! A connection is a stream of length-prefixed frames ([`frame`]). A frame is either a
//! protobuf control message ([`pb`], schema in `proto/conference.proto`) or a media message
//! with a fixed binary header ([`media`]). The full description is `docs/PROTOCOL.md`.

pub mod client;
pub mod codes;
pub mod frame;
pub mod login;
pub mod media;
pub mod message;
pub mod resume;
pub mod scram;

/// Generated from `proto/conference.proto`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/conference.v1.rs"));
}

pub use codes::ErrorCode;
pub use frame::{FrameBuffer, FrameError, FrameKind, RawFrame};
pub use media::{MediaHeader, MediaType};

/// Version carried in `Hello`; the MCU refuses any other with `retCode_ServerMismatch`.
pub const PROTOCOL_VERSION: u32 = 2;

/// Default TCP port of the MCU.
pub const DEFAULT_PORT: u16 = 6870;

/// Number of aux (courseware) stream slots per room (`CONFERENCE_AUX_MAX`).
pub const AUX_SLOTS: usize = 2;

/// Largest chat text in bytes (the C array is 128 bytes and keeps a NUL).
pub const MAX_CHAT_BYTES: usize = 127;

/// Largest transparent-data payload in bytes.
pub const MAX_TRANSPARENT_BYTES: usize = 65_536;

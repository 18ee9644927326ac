//! The session core of `libconference_sdk`: plain Rust, no C types.
//!
//! [`Sdk`] is what the C facade drives: one value per `init` … `uninit`. Control calls block
//! until the MCU answers (or a timeout); `get_*` calls answer from a local cache; events reach
//! the application through an [`EventSink`] called on the instance's dispatcher thread.
//!
//! The API surface below is the contract between the C facade (`src/ffi/`) and this crate.
//!
//! # Threads
//! An `Sdk` started with [`Sdk::start`] (what the C facade does: one process, one instance)
//! runs three threads of its own (four with the mixer): `conference-net` (a current-thread
//! tokio runtime: the MCU connection, its reader and writer tasks), `conference-dispatch`
//! (calls the [`EventSink`]), `conference-mixer` (with [`SdkConfig::mixer`]) and, only while a
//! host name is being looked up, one `conference-resolve`. Many instances of one process (the
//! load generator) can instead share the network and dispatcher threads of a [`SharedCore`]
//! ([`Sdk::start_on`]); the mixer thread stays per instance. A per-instance `Sdk` is exactly
//! that with a core of its own, one thread of each kind. The calling thread of a control call
//! blocks on a std channel, never inside a runtime, so any method may be called from any
//! thread, including from inside the sink.
//!
//! # Events of the calls themselves
//! - `connect` fires `LOGIN_MCU` (room count) or `CONNECT_MCU_FAILED` (the error) for every
//!   attempt that got past the local state check (`ReloginedErr`, `InitErr` fire nothing).
//! - `login_room` fires `LOGIN_ROOM` (own user, room) or `LOGIN_ROOM_FAILED` (the error,
//!   `Timeout` included) likewise.
//! - `disconnect` fires nothing: it sends `Goodbye`, closes the socket and forgets the
//!   session (room included) at once; events the MCU sent before are still delivered.
//! - `logout_room` returns the MCU's answer; the MCU's `ROOM_EXIT` (Success) is queued before
//!   it returns.
//! - A link cut (EOF, socket error, 3 heartbeats of silence, a stopping MCU's `Bye`) fires
//!   nothing while the session can be resumed or rejoined (docs/PROTOCOL.md §8): calls wait
//!   for the new link up to their timeout, events arrive once and in order after it. When
//!   that fails (the resume window over without an MCU, a refused login or room) it fires
//!   `ROOM_EXIT`, the `USER_LEAVE`s and `USER_CLOSE` with the reason (`NetworkException`,
//!   the `Bye` code, or the refusal); a final `Bye` (`ReloginedErr`, `MsgErr`…) does the
//!   same at once. The session is then idle and `connect` works.
//! - `shutdown` fires nothing; events still queued are discarded. It waits for a callback
//!   of the instance running on another thread to return; called from the instance's own
//!   callback, it does not wait for it (nor for its own dispatcher thread, which ends when
//!   the callback returns).
//!
//! The full list of decisions is the "Session" section of `docs/DECISIONS.md`.
//!
//! # Layout
//! - `lib.rs`: this map and the public names (re-exports only).
//! - `sdk.rs`: [`Sdk`], the API calls; `config.rs`: [`SdkConfig`], [`Tuning`], [`MixerFormat`];
//!   `events.rs`: [`Event`] and the [`EventSink`]; `types.rs`: users, rooms, event payloads
//!   and call arguments as plain values (wire messages never leave the crate).
//! - `session.rs`: `Session`, the shared state of one instance (phase,
//!   cache, the events it emits); `cache.rs` the users and rooms `get_*` answer from,
//!   `roster.rs` the roster the application has been told, `convert.rs` wire values to API
//!   values.
//! - `connection.rs`: one MCU connection, a driver of `conference_proto::client::ClientConn`
//!   (the protocol itself, no I/O): connect, TLS (`tls.rs`, `tls/der.rs`), the reader and
//!   writer tasks, reconnects and resumes; `requests.rs` the callers waiting for their
//!   responses; `rejoin.rs` the room joined and claimed again after a refused resume;
//!   `redirect.rs` a join that follows a fleet's redirects to the room's node.
//! - `send_queue.rs`: the send queue of `send_stream`; `uplink.rs`: which streams are withheld
//!   while nobody watches them; `receive_policy.rs`: which received media is dropped when the
//!   sink falls behind.
//! - `dispatcher.rs`: the thread that calls the [`EventSink`]; `runtime.rs`, `core.rs`: the
//!   network and dispatcher threads, per instance or shared ([`SharedCore`]).
//! - `mixer_glue.rs`: received audio to the mixer thread, its output to the sink.
//! - `stats.rs`: the counters of `conference_get_stats`.

mod cache;
mod config;
mod connection;
mod convert;
mod core;
mod dispatcher;
mod events;
mod mixer_glue;
mod receive_policy;
mod redirect;
mod rejoin;
mod requests;
mod roster;
mod runtime;
mod sdk;
mod send_queue;
mod session;
mod stats;
mod tls;
mod types;
mod uplink;

pub use conference_proto::message::StateId;
pub use conference_proto::{ErrorCode, MediaHeader, MediaType};

pub use crate::config::{MixerFormat, SdkConfig, Tuning};
pub use crate::core::SharedCore;
pub use crate::events::{Event, EventExtra, EventSink, MIXER_USER_ID, MediaEvent, StateEvent};
pub use crate::receive_policy::{DropStats, MediaBudget};
pub use crate::sdk::Sdk;
pub use crate::send_queue::SendBudget;
pub use crate::stats::{SdkStats, StreamCount};
pub use crate::tls::{TlsMode, TlsSettings, parse_pin, pin_of, set_tls};
pub use crate::types::{
    AuxInfo, ChatInfo, DataType, InviteType, LookedInfo, MediaKind, RoomInfo, TransparentInfo,
    UserInfo,
};
pub use crate::uplink::WithheldStats;

pub type Result<T> = std::result::Result<T, ErrorCode>;

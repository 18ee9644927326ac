//! The conference MCU: the server the recorders meet on.
//!
//! - [`room`]: the room core, a state machine with no I/O (SPEC §5).
//! - [`transport`]: the tokio transport (one task per connection, the hub owning the core,
//!   the media hot path that bypasses it).
//! - [`cluster`]: a fleet of MCUs on NATS (room placement, redirects, failover).
//! - [`config`], [`password`]: the configuration file and its password hashes.
//! - [`signal`]: heartbeat round trips → `m_u8SignalStatus`.
//! - [`malloc`]: allocator settings of the server process.

pub mod cluster;
pub mod config;
pub mod malloc;
pub mod notify;
pub mod password;
pub mod ratelimit;
pub mod room;
pub mod signal;
pub mod transport;

//! The one SDK instance of the process, between `init` and `uninit` (SPEC §3).
//!
//! The global lock only guards the slot: calls clone the `Arc<Sdk>` and release the lock
//! before calling the core, so no core call and no callback ever runs under it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use conference_session::{Sdk, SdkConfig};
use parking_lot::Mutex;

use super::boundary::FfiResult;
use super::sink::CallbackSink;
use super::types::{conference_event_handler_t, ret_code_e};

struct Instance {
    sdk: Arc<Sdk>,
    /// Shared with the sink: cleared when `uninit` begins, so no callback follows it.
    alive: Arc<AtomicBool>,
}

static INSTANCE: Mutex<Option<Instance>> = Mutex::new(None);

/// `init`: `retCode_InitedErr` when an instance exists; else `prepare` checks the arguments
/// (its error is returned as is) and the core starts. Holding the slot's lock across
/// `Sdk::start` makes concurrent `init`s race-free; start does not call back.
pub fn start(
    prepare: impl FnOnce() -> Result<(SdkConfig, conference_event_handler_t), ret_code_e>,
) -> FfiResult {
    let mut slot = INSTANCE.lock();
    if slot.is_some() {
        return Err(ret_code_e::retCode_InitedErr);
    }
    let (config, handler) = prepare()?;
    let alive = Arc::new(AtomicBool::new(true));
    let sink = CallbackSink::new(handler, alive.clone());
    let sdk = Sdk::start(config, Box::new(sink))?;
    *slot = Some(Instance {
        sdk: Arc::new(sdk),
        alive,
    });
    Ok(())
}

/// The running instance, or `retCode_InitErr` before `init` / after `uninit`.
pub fn get() -> Result<Arc<Sdk>, ret_code_e> {
    INSTANCE
        .lock()
        .as_ref()
        .map(|instance| Arc::clone(&instance.sdk))
        .ok_or(ret_code_e::retCode_InitErr)
}

/// `uninit`: empties the slot first (every later call sees `retCode_InitErr` and `init` works
/// again), silences the callbacks, then stops the core outside the lock. From inside a
/// callback the core does not wait for its own dispatcher thread.
pub fn stop() -> FfiResult {
    let instance = INSTANCE.lock().take().ok_or(ret_code_e::retCode_InitErr)?;
    instance.alive.store(false, Ordering::Release);
    instance.sdk.shutdown();
    Ok(())
}

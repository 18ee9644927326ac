//! The [`EventSink`] that hands core events to the application's C callbacks (SPEC §4).
//!
//! It runs on the core's dispatcher thread. Everything a callback receives lives on this
//! function's stack (or in a buffer it owns) for exactly the duration of the call. A NULL
//! callback is skipped; once `uninit` has begun (`alive` cleared) nothing more is called.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use conference_session::{Event, EventExtra, EventSink, InviteType, MediaEvent, StateEvent};

use super::boundary::log_panic;
use super::convert;
use super::types::{
    aux_stream_state_info_t, conference_chat_info_t, conference_event_handler_t, intvite_type_e,
    looked_info_t, ret_code_e, room_info_t, transparent_data_info_t, user_info_t,
};

/// Calls the callbacks of one `init`'s `conference_event_handler_t`.
pub struct CallbackSink {
    handler: conference_event_handler_t,
    alive: Arc<AtomicBool>,
}

impl CallbackSink {
    /// `alive` is cleared by `uninit`: from then on no callback is called.
    pub fn new(handler: conference_event_handler_t, alive: Arc<AtomicBool>) -> Self {
        CallbackSink { handler, alive }
    }

    fn alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    fn state(&self, event: StateEvent) {
        let user = event.user.as_ref().map(convert::user_info);
        let puser = user
            .as_ref()
            .map_or(ptr::null(), |u| u as *const user_info_t);
        let result = ret_code_e::from(event.result);
        let state = convert::state(event.state);
        let mut append = Append::new(&event.extra);

        if let Some(on_state) = self.handler.on_conference_state {
            if self.alive() {
                // SAFETY: a callback of the application's table; every pointer is valid for
                // the duration of the call (SPEC §4).
                unsafe { on_state(result, state, puser, append.as_mut_ptr()) };
            }
        }
        // USER_CHAT also goes to the chat reporter, with a fresh copy of the message.
        if let (EventExtra::Chat(chat), Some(on_chat)) =
            (&event.extra, self.handler.on_conference_chat)
        {
            if self.alive() {
                let chat = convert::chat_info(chat);
                // SAFETY: as above.
                unsafe { on_chat(&chat) };
            }
        }
    }

    fn media(&self, event: MediaEvent) {
        let Some(on_stream) = self.handler.on_conference_stream_data else {
            return;
        };
        let Ok(len) = c_int::try_from(event.payload.len()) else {
            tracing::warn!(
                len = event.payload.len(),
                "media frame too large for an int, dropped"
            );
            return;
        };
        let info = convert::media_info(&event.header);
        let media_type = convert::media_type(event.media_type);
        if self.alive() {
            // SAFETY: as in `state`; the payload outlives the call.
            unsafe {
                on_stream(
                    &info,
                    event.payload.as_ptr().cast::<c_char>(),
                    len,
                    event.user_id,
                    media_type,
                )
            };
        }
    }
}

impl EventSink for CallbackSink {
    fn deliver(&mut self, event: Event) {
        contain_panic(|| match event {
            Event::State(event) => self.state(event),
            Event::Media(event) => self.media(event),
        });
    }
}

/// Runs one delivery: a bug in a conversion must not take the dispatcher thread down, so a
/// panic is logged and the next event is delivered as usual.
fn contain_panic(delivery: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(delivery)) {
        log_panic("event delivery", payload);
    }
}

/// The `append_data` of one event, owned for the duration of the callback.
enum Append {
    None,
    Int(c_int),
    Room(room_info_t),
    Looked(looked_info_t),
    Chat(conference_chat_info_t),
    Invite(intvite_type_e),
    /// `info.m_pData` points into `_data`, which holds the data and one NUL after it.
    Transparent {
        info: transparent_data_info_t,
        _data: Vec<u8>,
    },
    Aux(aux_stream_state_info_t),
}

impl Append {
    fn new(extra: &EventExtra) -> Append {
        match extra {
            EventExtra::None => Append::None,
            EventExtra::RoomCount(count) | EventExtra::Position(count) => Append::Int(*count),
            EventExtra::Room(room) => Append::Room(convert::room_info(room)),
            EventExtra::Looked(looked) => Append::Looked(convert::looked_info(looked)),
            EventExtra::Chat(chat) => Append::Chat(convert::chat_info(chat)),
            EventExtra::InviteType(InviteType::Video) => {
                Append::Invite(intvite_type_e::INVITE_TYPE_VIDEO)
            }
            EventExtra::InviteType(InviteType::Audio) => {
                Append::Invite(intvite_type_e::INVITE_TYPE_AUDIO)
            }
            EventExtra::Transparent(info) => {
                let mut data = Vec::with_capacity(info.data.len() + 1);
                data.extend_from_slice(&info.data);
                data.push(0);
                let info = transparent_data_info_t {
                    m_i32SrcID: convert::c_int_of(info.src_id),
                    m_i32DataType: convert::c_int_of(info.data_type),
                    m_i32DataLen: convert::count(info.data.len()),
                    m_pData: data.as_ptr().cast::<c_char>(),
                };
                // Moving the Vec keeps its heap buffer where m_pData points.
                Append::Transparent { info, _data: data }
            }
            EventExtra::Aux(aux) => Append::Aux(convert::aux_info(aux)),
        }
    }

    fn as_mut_ptr(&mut self) -> *mut c_void {
        fn erase<T>(value: &mut T) -> *mut c_void {
            (value as *mut T).cast::<c_void>()
        }
        match self {
            Append::None => ptr::null_mut(),
            Append::Int(value) => erase(value),
            Append::Room(value) => erase(value),
            Append::Looked(value) => erase(value),
            Append::Chat(value) => erase(value),
            Append::Invite(value) => erase(value),
            Append::Transparent { info, .. } => erase(info),
            Append::Aux(value) => erase(value),
        }
    }
}

#[cfg(test)]
mod tests;

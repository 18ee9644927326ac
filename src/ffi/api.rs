//! The 29 functions of the vendor document, in its order, with its names and C signatures.
//!
//! Every body runs inside `ffi_boundary!` and checks, in this order: the lifecycle
//! (`retCode_InitErr` before `init` / after `uninit`; `init` itself: `retCode_InitedErr`),
//! then the arguments (`retCode_ParamErr`, `retCode_PortErr`), then the core answers (state
//! such as `retCode_NotLoginErr`, then the MCU's verdict). Output pointers are written only
//! on success. Exported functions never call one another: shared logic is in private Rust.
#![allow(non_snake_case)]

use std::ffi::{c_char, c_int};

use conference_proto::{MAX_TRANSPARENT_BYTES, media::MAX_MEDIA_PAYLOAD};
use conference_session::{MediaKind, MixerFormat, SdkConfig};

use super::types::{
    audio_mixer_props_t, conference_chat_info_t, conference_event_handler_t, invite_type_value,
    media_info_t, media_type_value, ret_code_e, room_info_t, user_info_t,
};
use super::{args, convert, instance};
use crate::logging;

/// Longest server address accepted by `connect_MCU`, in bytes.
const MAX_ADDRESS_BYTES: usize = 255;
/// Longest user name or password accepted by `connect_MCU`, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 255;

/// Initialises the module: copies the mixer format (NULL disables the mixer) and the callback
/// table (any callback may be NULL; the table itself may not). Returns `retCode_InitedErr` when
/// already initialised, `retCode_ParamErr` for an unsupported mixer format.
///
/// # Safety
/// Pointers are NULL or point to valid values of their types.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn init(
    pmixer_props: *const audio_mixer_props_t,
    pevent_handler: *const conference_event_handler_t,
) -> ret_code_e {
    ffi_boundary!("init", {
        logging::configure_once();
        instance::start(|| {
            let handler = *try_ref!(pevent_handler);
            let mixer = if pmixer_props.is_null() {
                None
            } else {
                let props = try_ref!(pmixer_props);
                Some(MixerFormat::new(
                    props.m_i32Sample,
                    props.m_i32Channel,
                    props.m_i32SampleBit,
                )?)
            };
            let config = SdkConfig {
                mixer,
                ..SdkConfig::default()
            };
            Ok((config, handler))
        })
    })
}

/// Stops everything (disconnecting first when connected). No callback follows; called from
/// inside a callback it returns at once and the dispatcher thread ends after that callback.
/// A second call returns `retCode_InitErr`; `init` works again afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn uninit() -> ret_code_e {
    ffi_boundary!("uninit", { instance::stop() })
}

/// Connects and logs in to the MCU; blocks until it answered (SPEC §3). `retCode_PortErr` for
/// a port outside 1..=65535, `retCode_AddrErr` for an empty address.
///
/// # Safety
/// The strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect_MCU(
    pserver_ddr: *const c_char,
    server_port: c_int,
    pusername: *const c_char,
    ppassWord: *const c_char,
) -> ret_code_e {
    ffi_boundary!("connect_MCU", {
        let sdk = instance::get()?;
        let address = try_cstr!(pserver_ddr, MAX_ADDRESS_BYTES);
        let username = try_cstr!(pusername, MAX_CREDENTIAL_BYTES);
        let password = try_cstr!(ppassWord, MAX_CREDENTIAL_BYTES);
        let port = args::port(server_port)?;
        if address.is_empty() {
            return Err(ret_code_e::retCode_AddrErr);
        }
        Ok(sdk.connect(address, port, username, password)?)
    })
}

/// Leaves the room (if in one) and disconnects from the MCU.
#[unsafe(no_mangle)]
pub extern "C" fn disconnect_MCU() -> ret_code_e {
    ffi_boundary!("disconnect_MCU", {
        let sdk = instance::get()?;
        Ok(sdk.disconnect()?)
    })
}

/// Number of rooms on the MCU.
///
/// # Safety
/// `pcount` is NULL or points to an `int`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn get_conference_room_count(pcount: *mut c_int) -> ret_code_e {
    ffi_boundary!("get_conference_room_count", {
        let sdk = instance::get()?;
        let out = try_out!(pcount);
        let count = sdk.room_count()?;
        // SAFETY: checked non-NULL and aligned; the caller owns the int.
        unsafe { out.write(convert::count(count)) };
        Ok(())
    })
}

/// Information about room `room_idx` (0-based: 0 .. count - 1).
///
/// # Safety
/// `proom_info` is NULL or points to a `room_info_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn get_conference_room_info(
    room_idx: c_int,
    proom_info: *mut room_info_t,
) -> ret_code_e {
    ffi_boundary!("get_conference_room_info", {
        let sdk = instance::get()?;
        let index = args::index(room_idx)?;
        let out = try_out!(proom_info);
        let room = sdk.room_info(index)?;
        // SAFETY: checked non-NULL and aligned; the caller owns the struct.
        unsafe { out.write(convert::room_info(&room)) };
        Ok(())
    })
}

/// Enters the room whose id is `conference_room_id`, else the room at that position of the
/// room list (`0 <= id < count`, as the vendor header says); blocks until the MCU answered
/// (SPEC §3).
#[unsafe(no_mangle)]
pub extern "C" fn login_conference_room(conference_room_id: c_int) -> ret_code_e {
    ffi_boundary!("login_conference_room", {
        let sdk = instance::get()?;
        let Ok(room) = u32::try_from(conference_room_id) else {
            // Neither an id nor a position: no such room, once the state allows a login.
            sdk.own_user()?;
            return Err(ret_code_e::retCode_RoomUnexist);
        };
        Ok(sdk.login_room(room)?)
    })
}

/// Leaves the room.
#[unsafe(no_mangle)]
pub extern "C" fn logout_conference_room() -> ret_code_e {
    ffi_boundary!("logout_conference_room", {
        let sdk = instance::get()?;
        Ok(sdk.logout_room()?)
    })
}

/// Kicks `user_id` out of the room (moderators only).
#[unsafe(no_mangle)]
pub extern "C" fn kickout_conference_room(user_id: c_int) -> ret_code_e {
    ffi_boundary!("kickout_conference_room", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        Ok(sdk.kick(user_id)?)
    })
}

/// Invites `user_id` (from the master) or asks to join (from a listener); `ctrl` 1 starts,
/// 0 withdraws.
#[unsafe(no_mangle)]
pub extern "C" fn invite(
    user_id: c_int,
    invite_type: invite_type_value,
    ctrl: c_int,
) -> ret_code_e {
    ffi_boundary!("invite", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        let invite_type = args::invite_type(invite_type)?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.invite(user_id, invite_type, on)?)
    })
}

/// Answers the pending invitation or join request of `user_id`: 1 accept, 0 reject.
#[unsafe(no_mangle)]
pub extern "C" fn ctrl_user_invite(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("ctrl_user_invite", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        let accept = args::ctrl(ctrl)?;
        Ok(sdk.answer_invite(user_id, accept)?)
    })
}

/// Our own user information (from the local cache).
///
/// # Safety
/// `puser_info` is NULL or points to a `user_info_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn get_own_user_info(puser_info: *mut user_info_t) -> ret_code_e {
    ffi_boundary!("get_own_user_info", {
        let sdk = instance::get()?;
        let out = try_out!(puser_info);
        let user = sdk.own_user()?;
        // SAFETY: checked non-NULL and aligned; the caller owns the struct.
        unsafe { out.write(convert::user_info(&user)) };
        Ok(())
    })
}

/// Number of users in the room, the caller included.
///
/// # Safety
/// `pcount` is NULL or points to an `int`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn get_user_count(pcount: *mut c_int) -> ret_code_e {
    ffi_boundary!("get_user_count", {
        let sdk = instance::get()?;
        let out = try_out!(pcount);
        let count = sdk.user_count()?;
        // SAFETY: checked non-NULL and aligned; the caller owns the int.
        unsafe { out.write(convert::count(count)) };
        Ok(())
    })
}

/// Information about user `user_id`, else about the user at that position of the room's list
/// (join order; ids assigned by the MCU start above any position).
///
/// # Safety
/// `puser_info` is NULL or points to a `user_info_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn get_user_info(user_id: c_int, puser_info: *mut user_info_t) -> ret_code_e {
    ffi_boundary!("get_user_info", {
        let sdk = instance::get()?;
        let user_id = args::id_or_position(user_id)?;
        let out = try_out!(puser_info);
        let user = sdk.user(user_id)?;
        // SAFETY: checked non-NULL and aligned; the caller owns the struct.
        unsafe { out.write(convert::user_info(&user)) };
        Ok(())
    })
}

/// Sends a chat message to `m_i32DstID` (0 = everyone). `m_strContent` must be NUL-terminated
/// UTF-8; `m_i32SrcID` is ignored (the MCU fills it).
///
/// # Safety
/// `pconference_chat_info` is NULL or points to a `conference_chat_info_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send_chat(
    pconference_chat_info: *const conference_chat_info_t,
) -> ret_code_e {
    ffi_boundary!("send_chat", {
        let sdk = instance::get()?;
        let chat = try_ref!(pconference_chat_info);
        let dst_id = args::destination(chat.m_i32DstID)?;
        let content = args::fixed_str(&chat.m_strContent)?;
        Ok(sdk.send_chat(dst_id, chat.m_i32Color, content)?)
    })
}

/// Applies for (1) or gives up (0) the master role.
#[unsafe(no_mangle)]
pub extern "C" fn apply_for_master(ctrl: c_int) -> ret_code_e {
    ffi_boundary!("apply_for_master", {
        let sdk = instance::get()?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.apply_master(on)?)
    })
}

/// Raises (1) or lowers (0) a hand to talk.
#[unsafe(no_mangle)]
pub extern "C" fn apply_for_talk(ctrl: c_int) -> ret_code_e {
    ffi_boundary!("apply_for_talk", {
        let sdk = instance::get()?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.apply_talk(on)?)
    })
}

/// Takes (1) or releases (0) an aux stream slot.
#[unsafe(no_mangle)]
pub extern "C" fn apply_for_aux(ctrl: c_int) -> ret_code_e {
    ffi_boundary!("apply_for_aux", {
        let sdk = instance::get()?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.apply_aux(on)?)
    })
}

/// Lets `user_id` talk (1), or rejects / cancels / gives up talking (0).
#[unsafe(no_mangle)]
pub extern "C" fn ctrl_user_talk_apply(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("ctrl_user_talk_apply", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.ctrl_talk(user_id, on)?)
    })
}

/// Lets `dst_user_id` pull `src_user_id`'s audio (1) or revokes it (0).
#[unsafe(no_mangle)]
pub extern "C" fn auth_audio(src_user_id: c_int, dst_user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("auth_audio", {
        authorise(MediaKind::Audio, src_user_id, dst_user_id, ctrl)
    })
}

/// Lets `dst_user_id` pull `src_user_id`'s video (1) or revokes it (0).
#[unsafe(no_mangle)]
pub extern "C" fn auth_video(src_user_id: c_int, dst_user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("auth_video", {
        authorise(MediaKind::Video, src_user_id, dst_user_id, ctrl)
    })
}

/// Asks `user_id` to send its video and subscribes to it (1), or stops (0).
#[unsafe(no_mangle)]
pub extern "C" fn check_user_video(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("check_user_video", {
        check(MediaKind::Video, user_id, ctrl)
    })
}

/// Asks `user_id` to send its audio and subscribes to it (1), or stops (0).
#[unsafe(no_mangle)]
pub extern "C" fn check_user_audio(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("check_user_audio", {
        check(MediaKind::Audio, user_id, ctrl)
    })
}

/// Lets everyone in the room pull `user_id`'s video (1), or stops (0).
#[unsafe(no_mangle)]
pub extern "C" fn bcast_user_video(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("bcast_user_video", {
        broadcast(MediaKind::Video, user_id, ctrl)
    })
}

/// Lets everyone in the room pull `user_id`'s audio (1), or stops (0).
#[unsafe(no_mangle)]
pub extern "C" fn bcast_user_audio(user_id: c_int, ctrl: c_int) -> ret_code_e {
    ffi_boundary!("bcast_user_audio", {
        broadcast(MediaKind::Audio, user_id, ctrl)
    })
}

/// Makes `user_id` the interactive user (paired with the master).
#[unsafe(no_mangle)]
pub extern "C" fn set_interact(user_id: c_int) -> ret_code_e {
    ffi_boundary!("set_interact", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        Ok(sdk.set_interact(user_id)?)
    })
}

/// Queues one media message (never blocks; `retCode_QueueFullErr` when the queue is full).
/// `data_len` is 1 .. 4 MiB minus the headers.
///
/// # Safety
/// `pmedia_info` is NULL or points to a `media_info_t`; `pdata` is NULL or points to
/// `data_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send_stream(
    pmedia_info: *const media_info_t,
    pdata: *const c_char,
    data_len: c_int,
    media_type: media_type_value,
) -> ret_code_e {
    ffi_boundary!("send_stream", {
        let sdk = instance::get()?;
        let info = try_ref!(pmedia_info);
        let payload = try_slice!(pdata, data_len, MAX_MEDIA_PAYLOAD);
        let media_type = args::media_type(media_type)?;
        if payload.is_empty() {
            return Err(ret_code_e::retCode_ParamErr);
        }
        let header = convert::media_header(info, media_type);
        Ok(sdk.send_stream(header, payload, media_type)?)
    })
}

/// Subscribes to (1) or unsubscribes from (0) one stream of `user_id`.
#[unsafe(no_mangle)]
pub extern "C" fn recv_stream(
    user_id: c_int,
    media_type: media_type_value,
    ctrl: c_int,
) -> ret_code_e {
    ffi_boundary!("recv_stream", {
        let sdk = instance::get()?;
        let user_id = args::user_id(user_id)?;
        let media_type = args::media_type(media_type)?;
        let on = args::ctrl(ctrl)?;
        Ok(sdk.recv_stream(user_id, media_type, on)?)
    })
}

/// Sends opaque data to `user_id` (0 = everyone): `data_type` 0 binary, 1 string,
/// `data_len` 0 ..= 65536.
///
/// # Safety
/// `pdata` is NULL or points to `data_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send_transparent_data(
    user_id: c_int,
    pdata: *const c_char,
    data_len: c_int,
    data_type: c_int,
) -> ret_code_e {
    ffi_boundary!("send_transparent_data", {
        let sdk = instance::get()?;
        let dst_id = args::destination(user_id)?;
        let data = try_slice!(pdata, data_len, MAX_TRANSPARENT_BYTES);
        let data_type = args::data_type(data_type)?;
        Ok(sdk.send_transparent(dst_id, data, data_type)?)
    })
}

/// `auth_audio` / `auth_video`.
fn authorise(
    kind: MediaKind,
    src_user_id: c_int,
    dst_user_id: c_int,
    ctrl: c_int,
) -> super::boundary::FfiResult {
    let sdk = instance::get()?;
    let src_id = args::user_id(src_user_id)?;
    let dst_id = args::user_id(dst_user_id)?;
    let on = args::ctrl(ctrl)?;
    Ok(sdk.auth(kind, src_id, dst_id, on)?)
}

/// `check_user_video` / `check_user_audio`.
fn check(kind: MediaKind, user_id: c_int, ctrl: c_int) -> super::boundary::FfiResult {
    let sdk = instance::get()?;
    let user_id = args::user_id(user_id)?;
    let on = args::ctrl(ctrl)?;
    Ok(sdk.check(kind, user_id, on)?)
}

/// `bcast_user_video` / `bcast_user_audio`.
fn broadcast(kind: MediaKind, user_id: c_int, ctrl: c_int) -> super::boundary::FfiResult {
    let sdk = instance::get()?;
    let user_id = args::user_id(user_id)?;
    let on = args::ctrl(ctrl)?;
    Ok(sdk.bcast(kind, user_id, on)?)
}

//! Property tests: every message type, the framing and the media codec survive
//! encode → decode unchanged, and the decoders never panic on arbitrary bytes.

use bytes::{Bytes, BytesMut};
use conference_proto::frame::{FrameKind, decode_frame, encode_control, frame_body};
use conference_proto::media::{MediaFrame, MediaHeader, encode_media, stamp_sender};
use conference_proto::message::{decode_client, decode_server};
use conference_proto::pb::{
    self, client_message::Body, event::Extra, server_message::Body as SBody,
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn user_info() -> impl Strategy<Value = pb::UserInfo> {
    (
        (
            any::<u32>(),
            text(),
            text(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (any::<bool>(), 0u32..4, 0u32..6, 0u32..3, 0u32..3, 0u32..3),
    )
        .prop_map(
            |((id, username, nickname, m, c, bv), (ba, aux, sig, av, aa, st))| pb::UserInfo {
                id,
                username,
                nickname,
                is_master: m,
                is_chair: c,
                bcast_video: bv,
                bcast_audio: ba,
                aux_slots: aux,
                signal_status: sig,
                auth_video: av,
                auth_audio: aa,
                audio_state: st,
            },
        )
}

fn room_info() -> impl Strategy<Value = pb::RoomInfo> {
    (
        any::<u32>(),
        text(),
        any::<u32>(),
        any::<i64>(),
        any::<i64>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(id, name, creator_id, start_time, end_time, max_users, cur_users)| pb::RoomInfo {
                id,
                name,
                creator_id,
                start_time,
                end_time,
                max_users,
                cur_users,
            },
        )
}

fn kind() -> impl Strategy<Value = i32> {
    0i32..2
}

fn client_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (any::<u32>(), text(), text(), any::<bool>()).prop_map(|(v, c, f, d)| {
            Body::Hello(pb::Hello {
                protocol_version: v,
                client_name: c,
                stream_demand: d,
                scram_first: f,
                resumable: d,
                resume: None,
            })
        }),
        (text(), text()).prop_map(|(scram_final, password)| {
            Body::Authenticate(pb::Authenticate {
                scram_final,
                password,
                ..Default::default()
            })
        }),
        any::<u32>().prop_map(|room_id| Body::JoinRoom(pb::JoinRoom { room_id })),
        Just(Body::LeaveRoom(pb::LeaveRoom {})),
        any::<u32>().prop_map(|user_id| Body::Kick(pb::Kick { user_id })),
        (any::<u32>(), kind(), any::<bool>()).prop_map(|(user_id, invite_type, on)| Body::Invite(
            pb::Invite {
                user_id,
                invite_type,
                on
            }
        )),
        (any::<u32>(), any::<bool>())
            .prop_map(|(user_id, accept)| Body::AnswerInvite(pb::AnswerInvite { user_id, accept })),
        (any::<u32>(), any::<i32>(), blob(128)).prop_map(|(dst_id, color, content)| Body::Chat(
            pb::Chat {
                dst_id,
                color,
                content
            }
        )),
        any::<bool>().prop_map(|on| Body::ApplyMaster(pb::ApplyMaster { on })),
        any::<bool>().prop_map(|on| Body::ApplyTalk(pb::ApplyTalk { on })),
        any::<bool>().prop_map(|on| Body::ApplyAux(pb::ApplyAux { on })),
        (any::<u32>(), any::<bool>())
            .prop_map(|(user_id, on)| Body::CtrlTalk(pb::CtrlTalk { user_id, on })),
        (kind(), any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
            |(kind, src_id, dst_id, on)| Body::Auth(pb::Auth {
                kind,
                src_id,
                dst_id,
                on
            })
        ),
        (kind(), any::<u32>(), any::<bool>())
            .prop_map(|(kind, user_id, on)| Body::Check(pb::Check { kind, user_id, on })),
        (kind(), any::<u32>(), any::<bool>())
            .prop_map(|(kind, user_id, on)| Body::Bcast(pb::Bcast { kind, user_id, on })),
        any::<u32>().prop_map(|user_id| Body::SetInteract(pb::SetInteract { user_id })),
        (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(user_id, media_type, on)| {
            Body::Subscribe(pb::Subscribe {
                user_id,
                media_type,
                on,
            })
        }),
        (any::<u32>(), any::<u32>(), blob(4096)).prop_map(|(dst_id, data_type, data)| {
            Body::Transparent(pb::Transparent {
                dst_id,
                data_type,
                data,
            })
        }),
        any::<u32>().prop_map(|nonce| Body::Pong(pb::Pong { nonce, sent: 0 })),
        Just(Body::Goodbye(pb::Goodbye {})),
        any::<u32>().prop_map(|seq| Body::DemandAck(pb::DemandAck { seq })),
    ]
}

fn extra() -> impl Strategy<Value = Option<Extra>> {
    prop_oneof![
        Just(None),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(viewer_id, media_type, ctrl)| Some(
            Extra::Looked(pb::LookedInfo {
                viewer_id,
                media_type,
                ctrl
            })
        )),
        (any::<u32>(), any::<u32>(), any::<i32>(), blob(128)).prop_map(
            |(src_id, dst_id, color, content)| Some(Extra::Chat(pb::ChatInfo {
                src_id,
                dst_id,
                color,
                content
            }))
        ),
        kind().prop_map(|k| Some(Extra::InviteType(k))),
        (any::<u32>(), any::<u32>(), blob(4096)).prop_map(|(src_id, data_type, data)| Some(
            Extra::Transparent(pb::TransparentInfo {
                src_id,
                data_type,
                data
            })
        )),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
            |(user_id, response, media_type)| Some(Extra::Aux(pb::AuxInfo {
                user_id,
                response,
                media_type
            }))
        ),
        any::<i32>().prop_map(|p| Some(Extra::Position(p))),
    ]
}

fn server_body() -> impl Strategy<Value = SBody> {
    let login = (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(room_info(), 0..4),
        text(),
        any::<bool>(),
    )
        .prop_map(
            |(protocol_version, user_id, heartbeat_ms, rooms, server_name, stream_demand)| {
                pb::response::Result::Login(pb::LoginResult {
                    protocol_version,
                    user_id,
                    heartbeat_ms,
                    rooms,
                    server_name,
                    stream_demand,
                    scram_final: String::new(),
                    ..Default::default()
                })
            },
        );
    let joined = (
        room_info(),
        user_info(),
        prop::collection::vec(user_info(), 0..6),
    )
        .prop_map(|(room, me, users)| {
            pb::response::Result::Joined(pb::RoomJoined {
                room: Some(room),
                self_: Some(me),
                users,
            })
        });
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            prop_oneof![Just(None), login.prop_map(Some), joined.prop_map(Some)]
        )
            .prop_map(|(request_id, code, result)| SBody::Response(pb::Response {
                request_id,
                code,
                result
            })),
        (
            1u32..28,
            any::<u32>(),
            prop::option::of(user_info()),
            extra()
        )
            .prop_map(|(state, result, user, extra)| SBody::Event(pb::Event {
                state,
                result,
                user,
                extra
            })),
        (any::<u32>(), any::<u32>(), any::<u32>(), 0u32..=1000).prop_map(
            |(nonce, heartbeat_ms, rtt_us, loss_permille)| SBody::Ping(pb::Ping {
                nonce,
                heartbeat_ms,
                rtt_us,
                loss_permille,
                sent: u64::from(nonce),
            })
        ),
        prop::collection::vec(user_info(), 0..6)
            .prop_map(|users| SBody::UserUpdate(pb::UserUpdate { users })),
        any::<u32>().prop_map(|code| SBody::Bye(pb::Bye { code })),
        (any::<u32>(), any::<u32>())
            .prop_map(|(watched, seq)| SBody::StreamDemand(pb::StreamDemand { watched, seq })),
    ]
}

fn media_header() -> impl Strategy<Value = MediaHeader> {
    (
        (
            any::<u32>(),
            1u8..5,
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            any::<u16>(),
            any::<u16>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (sender_id, stream_type, media_type, codec_id, frame_seq, key_frame),
                (framerate, stream_id, w, h, bitrate, timestamp),
            )| {
                MediaHeader {
                    sender_id,
                    stream_type,
                    media_type,
                    codec_id,
                    frame_seq,
                    key_frame,
                    framerate,
                    stream_id,
                    width_or_rate: w,
                    height_or_channels: h,
                    bitrate,
                    timestamp,
                }
            },
        )
}

/// Splits `bytes` into chunks at the given cut points, as a TCP stream may.
fn feed(chunks: &[usize], bytes: &[u8]) -> Vec<conference_proto::RawFrame> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut at: usize = 0;
    for &cut in chunks.iter().chain(std::iter::once(&usize::MAX)) {
        let end = at.saturating_add(cut.max(1)).min(bytes.len());
        buf.extend_from_slice(&bytes[at..end]);
        at = end;
        while let Some(frame) = decode_frame(&mut buf).unwrap() {
            frames.push(frame);
        }
        if at == bytes.len() {
            break;
        }
    }
    assert!(buf.is_empty());
    frames
}

proptest! {
    #[test]
    fn client_messages_round_trip(request_id in any::<u32>(), body in client_body(), cuts in prop::collection::vec(1usize..64, 0..8)) {
        let message = pb::ClientMessage::request(request_id, body.clone());
        let frames = feed(&cuts, &encode_control(&message));
        prop_assert_eq!(frames.len(), 1);
        prop_assert_eq!(decode_client(&frames[0]).unwrap(), (request_id, body));
    }

    #[test]
    fn server_messages_round_trip(body in server_body()) {
        let message = pb::ServerMessage::of(body.clone());
        let frames = feed(&[], &encode_control(&message));
        prop_assert_eq!(decode_server(&frames[0]).unwrap(), body);
    }

    #[test]
    fn media_frames_round_trip(header in media_header(), payload in prop::collection::vec(any::<u8>(), 0..2048), sender in any::<u32>(), cuts in prop::collection::vec(1usize..300, 0..8)) {
        let encoded = encode_media(&header, &payload);
        let mut stream = encoded.to_vec();
        stream.extend_from_slice(&encoded);
        let mut frames = feed(&cuts, &stream);
        prop_assert_eq!(frames.len(), 2);
        prop_assert_eq!(frames[0].kind, FrameKind::Media);
        let body = frame_body(frames[0].clone());
        prop_assert_eq!(MediaHeader::parse(&body).unwrap(), header);
        stamp_sender(&mut frames[1].bytes, sender);
        let frame = MediaFrame::from_frame_bytes(frames.pop().unwrap().bytes.freeze()).unwrap();
        prop_assert_eq!(frame.header, MediaHeader { sender_id: sender, ..header });
        prop_assert_eq!(&frame.payload[..], &payload[..]);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(frame)) = decode_frame(&mut buf) {
            let _ = decode_client(&frame);
            let _ = decode_server(&frame);
            let _ = MediaHeader::parse(frame.body());
        }
        let _ = MediaHeader::parse(&bytes);
    }
}

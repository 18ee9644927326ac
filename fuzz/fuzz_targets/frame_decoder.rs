//! The MCU's and the SDK's decoders on arbitrary bytes: framing, control messages of both
//! sides, media headers. Nothing may panic; every decoded frame respects its cap.
#![no_main]

use bytes::BytesMut;
use conference_proto::frame::{FRAME_HEADER_LEN, decode_frame};
use conference_proto::media::{MediaFrame, MediaHeader};
use conference_proto::message::{decode_client, decode_server};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fed in two pieces, as a socket may deliver it.
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut buf = BytesMut::new();
    for piece in [&data[..split], &data[split..]] {
        buf.extend_from_slice(piece);
        loop {
            match decode_frame(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.bytes.len() - 4 <= frame.kind.max_len());
                    let _ = decode_client(&frame);
                    let _ = decode_server(&frame);
                    if let Ok(header) = MediaHeader::parse(frame.body()) {
                        let _ = (header.fragment(), header.is_key_frame(), header.stream());
                        let media = MediaFrame::from_frame_bytes(frame.bytes.freeze());
                        assert!(media.is_ok());
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = MediaHeader::parse(data);
    let _ = FRAME_HEADER_LEN;
});

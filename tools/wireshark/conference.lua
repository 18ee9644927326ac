-- Wireshark / tshark dissector for the conference wire protocol (docs/PROTOCOL.md):
-- frames of `u32 length | u8 kind | body` over TCP; CONTROL bodies are protobuf
-- (conference.v1.ClientMessage from the client, conference.v1.ServerMessage from the MCU,
-- decoded by Wireshark's protobuf dissector with crates/proto/proto on its search path),
-- MEDIA bodies a 40-byte header (decoded here) and the payload.
--
--   tshark -X lua_script:tools/wireshark/conference.lua \
--     -o 'uat:protobuf_search_paths:"crates/proto/proto","TRUE"' \
--     -o conference.port:6870 -r capture.pcapng -Y conference
--
-- The MCU's port (default 6870) tells the directions apart; set `conference.port` to the
-- one in use (Edit > Preferences > Protocols > CONFERENCE in the GUI).

local proto = Proto("conference", "Classroom conference protocol")

local KIND = { [1] = "CONTROL", [2] = "MEDIA" }
local STREAM = { [1] = "audio", [2] = "main video", [3] = "aux", [4] = "aux 2" }
local FRAG = { [0] = "middle", [1] = "first", [2] = "last", [3] = "whole" }

local f = {
    length = ProtoField.uint32("conference.length", "Length", base.DEC),
    kind = ProtoField.uint8("conference.kind", "Kind", base.DEC, KIND),
    direction = ProtoField.string("conference.direction", "Direction"),
    sender = ProtoField.uint32("conference.media.sender", "Sender user id", base.DEC),
    stream = ProtoField.uint8("conference.media.stream", "Stream type", base.DEC, STREAM),
    media_type = ProtoField.uint16("conference.media.media_type", "m_u16MediaType"),
    codec = ProtoField.uint16("conference.media.codec", "m_u16CodecID"),
    frame_seq = ProtoField.uint16("conference.media.frame_seq", "m_u16FrameSeq", base.HEX),
    fragment = ProtoField.string("conference.media.fragment", "Fragment"),
    key_frame = ProtoField.uint16("conference.media.key_frame", "m_u16KeyFrame"),
    framerate = ProtoField.uint16("conference.media.framerate", "m_u16Framerate"),
    stream_id = ProtoField.uint16("conference.media.stream_id", "m_u16StreamID"),
    w_s = ProtoField.int32("conference.media.w_s", "m_u32W_S"),
    h_c = ProtoField.int32("conference.media.h_c", "m_u32H_C"),
    bitrate = ProtoField.int32("conference.media.bitrate", "m_u32Bitrate"),
    timestamp = ProtoField.uint64("conference.media.timestamp", "m_u64TimeStamp"),
    payload = ProtoField.bytes("conference.media.payload", "Payload"),
}
proto.fields = f
proto.prefs.port = Pref.uint("MCU TCP port", 6870, "The port the MCU listens on")

local protobuf = Dissector.get("protobuf")
local HEADER = 5
local MEDIA_HEADER = 40

local function media(tvb, tree)
    local t = tree:add(proto, tvb(0, math.min(tvb:len(), MEDIA_HEADER)), "Media header")
    if tvb:len() < MEDIA_HEADER then
        t:add_expert_info(PI_MALFORMED, PI_ERROR, "shorter than the 40-byte media header")
        return
    end
    t:add(f.sender, tvb(0, 4))
    t:add(f.stream, tvb(4, 1))
    t:add(f.media_type, tvb(6, 2))
    t:add(f.codec, tvb(8, 2))
    t:add(f.frame_seq, tvb(10, 2))
    t:add(f.fragment, tvb(10, 2), FRAG[tvb(11, 1):uint() % 4] or "?")
    t:add(f.key_frame, tvb(12, 2))
    t:add(f.framerate, tvb(14, 2))
    t:add(f.stream_id, tvb(16, 2))
    t:add(f.w_s, tvb(20, 4))
    t:add(f.h_c, tvb(24, 4))
    t:add(f.bitrate, tvb(28, 4))
    t:add(f.timestamp, tvb(32, 8))
    if tvb:len() > MEDIA_HEADER then
        t:add(f.payload, tvb(MEDIA_HEADER))
    end
end

-- One frame at the start of `tvb`.
local function frame(tvb, pinfo, tree, to_mcu)
    local length = tvb(0, 4):uint()
    local kind = tvb(4, 1):uint()
    local t = tree:add(proto, tvb(0, HEADER + length - 1), "Conference " .. (KIND[kind] or "?"))
    t:add(f.length, tvb(0, 4))
    t:add(f.kind, tvb(4, 1))
    t:add(f.direction, to_mcu and "client -> MCU" or "MCU -> client")
    local body = tvb(HEADER, length - 1):tvb()
    if kind == 1 and protobuf ~= nil and length > 1 then
        pinfo.private["pb_msg_type"] = "message," ..
            (to_mcu and "conference.v1.ClientMessage" or "conference.v1.ServerMessage")
        pcall(Dissector.call, protobuf, body, pinfo, t)
    elseif kind == 2 then
        media(body, t)
    end
    return KIND[kind] or "?"
end

-- TLS shares the port (docs/SECURITY.md): a record's first byte is 0x14..0x17, a frame's is
-- 0 (its length is below 16 MiB). TLS segments go to Wireshark's own TLS dissector.
local tls = Dissector.get("tls")

function proto.dissector(tvb, pinfo, tree)
    local first = tvb(0, 1):uint()
    if first >= 0x14 and first <= 0x17 then
        return tls:call(tvb, pinfo, tree)
    end
    local offset, kinds = 0, {}
    local to_mcu = pinfo.dst_port == proto.prefs.port
    while offset < tvb:len() do
        local left = tvb:len() - offset
        if left < HEADER then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return
        end
        local length = tvb(offset, 4):uint()
        if length == 0 or length > 4 * 1024 * 1024 then
            tree:add_expert_info(PI_MALFORMED, PI_ERROR, "frame length out of range")
            return
        end
        if left < HEADER - 1 + length then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = HEADER - 1 + length - left
            return
        end
        kinds[#kinds + 1] = frame(tvb(offset, HEADER - 1 + length):tvb(), pinfo, tree, to_mcu)
        offset = offset + HEADER - 1 + length
    end
    pinfo.cols.protocol = "CONFERENCE"
    pinfo.cols.info = (to_mcu and "-> MCU " or "<- MCU ") .. table.concat(kinds, " ")
end

local registered = 0
local function register()
    local tcp = DissectorTable.get("tcp.port")
    if registered ~= 0 then
        tcp:remove(registered, proto)
    end
    tcp:add(proto.prefs.port, proto)
    registered = proto.prefs.port
end

function proto.prefs_changed()
    register()
end

register()

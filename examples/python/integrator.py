#!/usr/bin/env python3
"""A third-party integrator's view of libconference_sdk.so: Python's ctypes only.

Loads the library, declares the document's structs and callback types by hand, joins a
room, chats with the C endpoint already there (examples/harness/master.c in "chat" mode)
and sends it binary transparent data, then leaves. Exits 0 when every return code and
every event it waited for were as expected, 1 otherwise.

    integrator.py --lib target/debug/libconference_sdk.so --port 6870 [--room 7]
                  [--user class1 --password class1]

The library path may also come from CONFERENCE_SDK_LIB.
"""

import argparse
import ctypes
import os
import queue
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char, c_char_p, c_int,
                    c_longlong, c_ubyte, c_ulonglong, c_ushort, c_void_p)

TIMEOUT_S = 10.0

# ret_code_e (the values this script meets)
SUCCESS = 0
# conference_state_e
LOGIN_MCU, LOGIN_ROOM, USER_ENTER, USER_LEAVE, ROOM_EXIT = 1, 2, 3, 4, 5
USER_CHAT = 17
STATE_NAMES = {1: "LOGIN_MCU", 2: "LOGIN_ROOM", 3: "USER_ENTER", 4: "USER_LEAVE",
               5: "ROOM_EXIT", 8: "USER_CHAIR", 17: "USER_CHAT", 26: "TRANSPARENT"}


class MediaInfo(Structure):
    _fields_ = [("m_u16MediaType", c_ushort), ("m_u16CodecID", c_ushort),
                ("m_u16FrameSeq", c_ushort), ("m_u16KeyFrame", c_ushort),
                ("m_u16Framerate", c_ushort), ("m_u16StreamID", c_ushort),
                ("m_u32W_S", c_int), ("m_u32H_C", c_int), ("m_u32Bitrate", c_int),
                ("m_u64TimeStamp", c_ulonglong)]


class ChatInfo(Structure):
    _fields_ = [("m_i32SrcID", c_int), ("m_i32DstID", c_int), ("m_i32Color", c_int),
                ("m_strContent", c_char * 128)]


class RoomInfo(Structure):
    _fields_ = [("m_strRoomID", c_char * 64), ("m_strRoomName", c_char * 32),
                ("m_strCreatorID", c_char * 32), ("m_tStartTime", c_longlong),
                ("m_tEndTime", c_longlong), ("m_s32MaxUserCnt", c_int),
                ("m_s32CurUserCnt", c_int)]


class UserInfo(Structure):
    _fields_ = [("m_u8IsMaster", c_ubyte), ("m_u8IsChairMan", c_ubyte),
                ("m_u8BcastVideo", c_ubyte), ("m_u8BcastAudio", c_ubyte),
                ("m_u8GainAux", c_ubyte * 2), ("m_u8SignalStatus", c_ubyte),
                ("m_strID", c_char * 32), ("m_strUserName", c_char * 32),
                ("m_strNickName", c_char * 32), ("m_u8AuthVideo", c_ubyte),
                ("m_u8AuthAudio", c_ubyte), ("m_u8AudioState", c_ubyte)]


class TransparentInfo(Structure):
    _fields_ = [("m_i32SrcID", c_int), ("m_i32DataType", c_int), ("m_i32DataLen", c_int),
                ("m_pData", POINTER(c_char))]


CHAT_CB = CFUNCTYPE(None, POINTER(ChatInfo))
STATE_CB = CFUNCTYPE(None, c_int, c_int, POINTER(UserInfo), c_void_p)
STREAM_CB = CFUNCTYPE(None, POINTER(MediaInfo), POINTER(c_char), c_int, c_int, c_int)


class EventHandler(Structure):
    _fields_ = [("on_conference_chat", CHAT_CB), ("on_conference_state", STATE_CB),
                ("on_conference_stream_data", STREAM_CB)]


# The sizes the vendor document fixes (SPEC §1): a wrong declaration fails here.
EXPECTED_SIZES = {MediaInfo: 32, ChatInfo: 140, RoomInfo: 152, UserInfo: 106}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def log(message):
    print("[python ] " + message, file=sys.stderr, flush=True)


class Endpoint:
    """The library and an event queue filled by its callbacks (copies only: the pointers
    are valid during the call alone)."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.events = queue.Queue()
        self._declare()
        # Kept referenced for as long as the library may call them.
        self.handler = EventHandler(CHAT_CB(self._on_chat), STATE_CB(self._on_state),
                                    STREAM_CB(self._on_stream))
        self.pending = []

    def _declare(self):
        lib = self.lib
        signatures = {
            "init": [c_void_p, POINTER(EventHandler)],
            "uninit": [],
            "connect_MCU": [c_char_p, c_int, c_char_p, c_char_p],
            "disconnect_MCU": [],
            "get_conference_room_count": [POINTER(c_int)],
            "get_conference_room_info": [c_int, POINTER(RoomInfo)],
            "login_conference_room": [c_int],
            "logout_conference_room": [],
            "get_own_user_info": [POINTER(UserInfo)],
            "get_user_count": [POINTER(c_int)],
            "get_user_info": [c_int, POINTER(UserInfo)],
            "send_chat": [POINTER(ChatInfo)],
            "send_transparent_data": [c_int, c_char_p, c_int, c_int],
        }
        for name, argtypes in signatures.items():
            function = getattr(lib, name)
            function.argtypes = argtypes
            function.restype = c_int

    # --- callbacks (library's dispatcher thread) ---------------------------------------
    def _on_chat(self, pchat):
        chat = pchat.contents
        self.events.put(("chat", chat.m_i32SrcID, chat.m_i32DstID, chat.m_i32Color,
                         chat.m_strContent.decode("utf-8")))

    def _on_state(self, result, state, puser, append):
        user = None
        if puser:
            u = puser.contents
            user = (int(u.m_strID), u.m_strUserName.decode("utf-8"))
        extra = None
        if append and state == LOGIN_MCU:
            extra = ctypes.cast(append, POINTER(c_int)).contents.value
        elif append and state == LOGIN_ROOM:
            room = ctypes.cast(append, POINTER(RoomInfo)).contents
            extra = (room.m_strRoomID.decode(), room.m_strRoomName.decode("utf-8"),
                     room.m_s32CurUserCnt)
        elif append and state == USER_CHAT:
            chat = ctypes.cast(append, POINTER(ChatInfo)).contents
            extra = (chat.m_i32SrcID, chat.m_i32DstID, chat.m_i32Color,
                     chat.m_strContent.decode("utf-8"))
        self.events.put(("state", result, state, user, extra))

    def _on_stream(self, pinfo, pdata, length, user_id, media_type):
        self.events.put(("stream", user_id, media_type, length))

    # --- waiting -----------------------------------------------------------------------
    def wait(self, what, predicate):
        """The first event (queued or arriving within the timeout) matching `predicate`."""
        for i, event in enumerate(self.pending):
            if predicate(event):
                return self.pending.pop(i)
        while True:
            try:
                event = self.events.get(timeout=TIMEOUT_S)
            except queue.Empty:
                raise Failure("timed out waiting for " + what + "; queued: " +
                              repr(self.pending))
            log("event " + describe(event))
            if predicate(event):
                return event
            self.pending.append(event)

    def wait_state(self, state, what=None):
        return self.wait(what or STATE_NAMES.get(state, str(state)),
                         lambda e: e[0] == "state" and e[2] == state)

    def call(self, name, *args):
        rc = getattr(self.lib, name)(*args)
        check(rc == SUCCESS, "%s returned %d" % (name, rc))


def describe(event):
    if event[0] == "state":
        return "%s result=%d user=%s %s" % (STATE_NAMES.get(event[2], event[2]), event[1],
                                            event[3], event[4])
    return repr(event)


def find_user(ep, username):
    """The id of `username`, from the room's list: get_user_info by position (join order)."""
    info = UserInfo()
    count = c_int(0)
    ep.call("get_user_count", byref(count))
    for position in range(count.value):
        ep.call("get_user_info", position, byref(info))
        if info.m_strUserName.decode("utf-8") == username:
            return int(info.m_strID)
    raise Failure(username + " is not in the room")


def lesson(ep, args):
    for struct, size in EXPECTED_SIZES.items():
        check(ctypes.sizeof(struct) == size,
              "sizeof(%s) = %d, expected %d" % (struct.__name__, ctypes.sizeof(struct), size))

    ep.call("init", None, byref(ep.handler))
    ep.call("connect_MCU", args.host.encode(), args.port, args.user.encode(),
            args.password.encode())
    event = ep.wait_state(LOGIN_MCU)
    count = c_int(0)
    ep.call("get_conference_room_count", byref(count))
    check(event[1] == SUCCESS and event[4] == count.value, "LOGIN_MCU: " + describe(event))
    room = RoomInfo()
    names = []
    for index in range(count.value):
        ep.call("get_conference_room_info", index, byref(room))
        names.append((room.m_strRoomID.decode(), room.m_strRoomName.decode("utf-8")))
    check(any(rid == str(args.room) for rid, _ in names),
          "room %d not in the room list %r" % (args.room, names))

    ep.call("login_conference_room", args.room)
    event = ep.wait_state(LOGIN_ROOM)
    check(event[1] == SUCCESS and event[3][1] == args.user and event[4][0] == str(args.room),
          "LOGIN_ROOM: " + describe(event))
    own = UserInfo()
    ep.call("get_own_user_info", byref(own))
    own_id = int(own.m_strID)
    users = c_int(0)
    ep.call("get_user_count", byref(users))
    check(users.value == 2, "%d users in the room, expected 2" % users.value)
    peer = find_user(ep, args.peer)
    # The vendor's login flow: a USER_ENTER for everyone in the room, in join order (the
    # list positions), ourselves last.
    for position, expected in enumerate((args.peer, args.user)):
        event = ep.wait_state(USER_ENTER)
        check(event[1] == SUCCESS and event[3][1] == expected,
              "USER_ENTER %d: %s" % (position, describe(event)))
    log("in room %d as #%d with %s #%d" % (args.room, own_id, args.peer, peer))

    chat = ChatInfo(0, 0, 0x00FF00, b"hello from python")
    ep.call("send_chat", byref(chat))
    # To everyone, the sender included: the event, then the chat callback.
    event = ep.wait("my own chat", lambda e: e[0] == "state" and e[2] == USER_CHAT
                    and e[4][3] == "hello from python")
    check(event[3] == (own_id, args.user) and event[4] == (own_id, 0, 0x00FF00,
                                                          "hello from python"),
          "USER_CHAT: " + describe(event))
    event = ep.wait("my own chat (callback)", lambda e: e[0] == "chat" and
                    e[4] == "hello from python")
    check(event[1:4] == (own_id, 0, 0x00FF00), "on_conference_chat: %r" % (event,))

    # The C endpoint answers privately.
    event = ep.wait("the C endpoint's answer", lambda e: e[0] == "state" and
                    e[2] == USER_CHAT and e[4][3] == "hello from C")
    check(event[3] == (peer, args.peer) and event[4] == (peer, own_id, 0x0000FF,
                                                         "hello from C"),
          "USER_CHAT: " + describe(event))
    event = ep.wait("the C endpoint's answer (callback)", lambda e: e[0] == "chat" and
                    e[4] == "hello from C")
    check(event[1:4] == (peer, own_id, 0x0000FF), "on_conference_chat: %r" % (event,))

    ep.call("send_transparent_data", peer, b"bin\0ary", 7, 0)
    ep.call("logout_conference_room")
    event = ep.wait_state(ROOM_EXIT)
    check(event[1] == SUCCESS and event[3] == (own_id, args.user),
          "ROOM_EXIT: " + describe(event))
    # The vendor's logout flow: then a USER_LEAVE for everyone in our list, ourselves last.
    for expected in (args.peer, args.user):
        event = ep.wait_state(USER_LEAVE)
        check(event[1] == SUCCESS and event[3][1] == expected, "USER_LEAVE: " + describe(event))
    ep.call("disconnect_MCU")
    ep.call("uninit")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", default=os.environ.get("CONFERENCE_SDK_LIB"),
                        help="path of libconference_sdk.so (default: $CONFERENCE_SDK_LIB)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--room", type=int, default=7)
    parser.add_argument("--user", default="class1")
    parser.add_argument("--password", default="class1")
    parser.add_argument("--peer", default="teacher", help="user name of the C endpoint")
    args = parser.parse_args()
    if not args.lib:
        parser.error("--lib or CONFERENCE_SDK_LIB is required")
    try:
        lesson(Endpoint(args.lib), args)
    except Exception as failure:  # any surprise (a None payload, a bad decode) is a failure
        print("FAIL: %s: %s" % (type(failure).__name__, failure), file=sys.stderr,
              flush=True)
        # The library's threads may still be running: leave without interpreter shutdown.
        os._exit(1)
    print("PYTHON OK\nPASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

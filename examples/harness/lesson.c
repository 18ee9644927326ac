/*
 * lesson.c: the frames of the lesson and the connect-and-join sequence shared by the
 * endpoints. See lesson.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "lesson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

args_t parse_args(int argc, char **argv, const char *program, int needs_role) {
    args_t a;
    char *end = NULL;
    if (argc < 5 + needs_role) {
        fprintf(stderr, "usage: %s <mode> <host> <port> <room>%s\n", program,
                needs_role ? " <role>" : "");
        exit(2);
    }
    a.mode = argv[1];
    a.host = argv[2];
    a.port = (int)strtol(argv[3], &end, 10);
    if (end == argv[3] || *end != 0) {
        fprintf(stderr, "%s: bad port %s\n", program, argv[3]);
        exit(2);
    }
    a.room = atoi(argv[4]);
    a.role = needs_role ? argv[5] : "";
    return a;
}

/* FrameSeq: the low 8 bits are the fragment flag; the high 8 bits carry a frame counter, to
 * check that the whole field passes unchanged. */
#define SEQ(frame, flag) (unsigned short)(((frame) << 8) | (flag))
#define FIRST 1
#define MIDDLE 0
#define LAST 2
#define WHOLE 3

#define A_VIDEO_INFO(seq, key, ts)                                                         \
    {                                                                                      \
        1, 3, (seq), (key), 25, 7, 1280, 720, 2048, 0xF123456789ABC000ULL + (ts)           \
    }

const frame_t A_VIDEO_KEY[3] = {
    {A_VIDEO_INFO(SEQ(1, FIRST), 1, 0), CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1500, 11},
    {A_VIDEO_INFO(SEQ(1, MIDDLE), 1, 0), CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 60000, 12},
    {A_VIDEO_INFO(SEQ(1, LAST), 1, 0), CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 777, 13},
};
const frame_t A_VIDEO_DELTA = {A_VIDEO_INFO(SEQ(2, WHOLE), 0, 40),
                               CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 4096, 14};
const frame_t A_VIDEO_KEY2 = {A_VIDEO_INFO(SEQ(3, WHOLE), 1, 80),
                              CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 20000, 15};

/* Audio: media type 0, G.722.1 (codec 2: forwarded, never mixed), 16 bits, 20 ms packets,
 * 16 kHz mono, 24 kbit/s. */
#define A_AUDIO_INFO(n)                                                                    \
    {                                                                                      \
        0, 2, SEQ(n, WHOLE), 16, 20, 1, 16000, 1, 24, 5000ULL + 20ULL * (n)                 \
    }

const frame_t A_AUDIO[4] = {
    {A_AUDIO_INFO(0), CONFERENCE_MEDIA_TYPE_AUDIO, 60, 20},
    {A_AUDIO_INFO(1), CONFERENCE_MEDIA_TYPE_AUDIO, 61, 21},
    {A_AUDIO_INFO(2), CONFERENCE_MEDIA_TYPE_AUDIO, 62, 22},
    {A_AUDIO_INFO(3), CONFERENCE_MEDIA_TYPE_AUDIO, 63, 23},
};

const frame_t A_AUX = {{2, 3, SEQ(0, WHOLE), 1, 5, 3, 1920, 1080, 512, 42ULL},
                       CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 5000, 30};
const frame_t B_VIDEO = {{1, 3, SEQ(9, WHOLE), 1, 15, 9, 640, 360, 800, 77ULL},
                         CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 3000, 40};
const frame_t T_VIDEO = {{1, 3, SEQ(4, WHOLE), 1, 30, 2, 1920, 1080, 4000, 123456789ULL},
                         CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 9000, 50};

void long_chat(char out[128]) {
    int i;
    for (i = 0; i < 127; i++) out[i] = (char)('a' + i % 26);
    out[127] = 0;
}

#define T_PCM_INFO(n)                                                                      \
    {                                                                                      \
        0, 0, SEQ(n, WHOLE), 16, 20, 4, 48000, 2, 1536, 90000ULL + 20ULL * (n)              \
    }
#define T_PCM_FRAME(n) {T_PCM_INFO(n), CONFERENCE_MEDIA_TYPE_AUDIO, 3840, 60 + (n)}

const frame_t T_PCM[10] = {T_PCM_FRAME(0), T_PCM_FRAME(1), T_PCM_FRAME(2), T_PCM_FRAME(3),
                           T_PCM_FRAME(4), T_PCM_FRAME(5), T_PCM_FRAME(6), T_PCM_FRAME(7),
                           T_PCM_FRAME(8), T_PCM_FRAME(9)};

user_model_t model_user(int id, const char *username, const char *nickname, int chair,
                        int auth) {
    user_model_t m;
    m.id = id;
    m.username = username;
    m.nickname = nickname;
    m.master = 0;
    m.chair = chair;
    m.bcast_video = 0;
    m.bcast_audio = 0;
    m.aux[0] = 0;
    m.aux[1] = 0;
    m.auth_video = auth;
    m.auth_audio = auth;
    m.audio_state = 0;
    return m;
}

static void check_room(const room_info_t *room, int id, int cur_users) {
    char text[32];
    snprintf(text, sizeof text, "%d", id);
    CHECK(memchr(room->m_strRoomID, 0, sizeof room->m_strRoomID) != NULL);
    CHECK(memchr(room->m_strRoomName, 0, sizeof room->m_strRoomName) != NULL);
    CHECK(memchr(room->m_strCreatorID, 0, sizeof room->m_strCreatorID) != NULL);
    CHECK_STR(room->m_strRoomID, text);
    if (id == OVERDUE_ROOM) CHECK_STR(room->m_strRoomName, OVERDUE_ROOM_NAME);
    if (id == LESSON_ROOM) {
        CHECK_STR(room->m_strRoomName, LESSON_ROOM_NAME);
        CHECK_INT(room->m_tStartTime, LESSON_ROOM_START);
        /* A 32-bit time_t (some 32-bit ARM toolchains) cannot hold it: saturated. */
        CHECK_INT(room->m_tEndTime, sizeof(time_t) >= 8 ? LESSON_ROOM_END : 0x7FFFFFFFLL);
        CHECK_INT(room->m_s32MaxUserCnt, LESSON_ROOM_MAX);
    }
    if (cur_users >= 0) CHECK_INT(room->m_s32CurUserCnt, cur_users);
}

static void connect_events(int expect_rc) {
    rec_t *r = h_expect_state(expect_rc == retCode_Success ? CONFERENCE_STATE_LOGIN_MCU
                                                           : CONFERENCE_STATE_CONNECT_MCU_FAILED,
                              -1);
    CHECK_RC(r->result, expect_rc);
    if (expect_rc == retCode_Success) {
        CHECK(r->has_append);
    } else {
        CHECK(!r->has_append);
    }
    h_free(r);
}

static void failed_login(int room, int expect_rc) {
    rec_t *r;
    CHECK_RC(login_conference_room(room), expect_rc);
    r = h_expect_state(CONFERENCE_STATE_LOGIN_ROOM_FAILED, -1);
    CHECK_RC(r->result, expect_rc);
    CHECK(!r->has_append);
    h_free(r);
}

int lesson_join(const args_t *args, join_t *join) {
    user_info_t own;
    room_info_t room;
    rec_t *r;
    int count = -1, own_id, i;

    /* Before init every call is refused; init twice is refused. */
    CHECK_RC(get_user_count(&count), retCode_InitErr);
    CHECK_RC(connect_MCU(args->host, args->port, join->user, join->password), retCode_InitErr);
    CHECK_RC(init(join->mixer, h_handlers()), retCode_Success);
    CHECK_RC(init(join->mixer, h_handlers()), retCode_InitedErr);
    CHECK_RC(login_conference_room(args->room), retCode_NotLoginErr);
    CHECK_RC(get_conference_room_count(&count), retCode_NotLoginErr);
    CHECK_RC(send_chat(NULL), retCode_ParamErr);

    if (join->try_wrong_password) {
        CHECK_RC(connect_MCU(args->host, args->port, join->user, "wrong password"),
                 retCode_UserPasswordErr);
        connect_events(retCode_UserPasswordErr);
        CHECK_RC(connect_MCU(args->host, args->port, "nobody", "nobody"),
                 retCode_UserPasswordErr);
        connect_events(retCode_UserPasswordErr);
    }
    CHECK_RC(connect_MCU(args->host, args->port, join->user, join->password), retCode_Success);
    r = h_expect_state(CONFERENCE_STATE_LOGIN_MCU, -1);
    CHECK_RC(r->result, retCode_Success);
    CHECK(r->has_append);
    CHECK_RC(get_conference_room_count(&count), retCode_Success);
    CHECK_INT(r->append_int, count);
    h_free(r);
    CHECK_RC(connect_MCU(args->host, args->port, join->user, join->password),
             retCode_ReloginedErr);

    /* The room list (0-based indices). */
    if (join->check_config) CHECK_INT(count, ROOMS_ON_MCU);
    for (i = 0; i < count; i++) {
        CHECK_RC(get_conference_room_info(i, &room), retCode_Success);
        if (atoi(room.m_strRoomID) == args->room)
            check_room(&room, args->room, join->users_in_room_before);
        if (join->check_config && i == 1) check_room(&room, OVERDUE_ROOM, 0);
    }
    CHECK_RC(get_conference_room_info(count, &room), retCode_ParamErr);
    CHECK_RC(get_conference_room_info(-1, &room), retCode_ParamErr);

    /* Connected, not in a room: own id and name known, room calls refused. */
    CHECK_RC(get_own_user_info(&own), retCode_Success);
    own_id = h_uid(&own);
    CHECK_STR(own.m_strUserName, join->user);
    CHECK_RC(get_user_count(&count), retCode_NotLoginErr);
    CHECK_RC(apply_for_talk(1), retCode_NotLoginErr);

    if (join->try_bad_rooms) {
        failed_login(NO_SUCH_ROOM, retCode_RoomUnexist);
        failed_login(OVERDUE_ROOM, retCode_RoomOverdue);
    }
    CHECK_RC(login_conference_room(args->room), retCode_Success);
    r = h_expect_state(CONFERENCE_STATE_LOGIN_ROOM, own_id);
    CHECK_RC(r->result, retCode_Success);
    CHECK_RC(r->cb_rc, retCode_Success);
    CHECK_STR(r->user.m_strUserName, join->user);
    CHECK(r->has_append);
    check_room(&r->room, args->room,
               join->users_in_room_before < 0 ? -1 : join->users_in_room_before + 1);
    join->joined = r->room;
    h_free(r);
    CHECK_RC(login_conference_room(args->room), retCode_ReloginedErr);
    CHECK_RC(get_user_count(&count), retCode_Success);
    if (join->users_in_room_before >= 0) CHECK_INT(count, join->users_in_room_before + 1);
    /* The vendor's login flow: a USER_ENTER for everyone already there, in join order,
     * ourselves last (we joined last); the callbacks compared each with the API. */
    {
        int told = h_expect_roster(own_id);
        if (join->users_in_room_before >= 0) CHECK_INT(told, join->users_in_room_before + 1);
    }
    CHECK_RC(get_user_info(own_id, &own), retCode_Success);
    CHECK_INT(h_uid(&own), own_id);
    CHECK_RC(get_user_info(NO_SUCH_USER, &own), retCode_NotFindUserErr);
    CHECK_RC(get_user_info(-1, &own), retCode_ParamErr);
    return own_id;
}

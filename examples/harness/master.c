/*
 * master.c: the master endpoint (the teacher's recorder, account "teacher", chair).
 *
 *   master lesson <host> <port> <room>   the whole lesson with listener A (class1) and B (class2)
 *   master short  <host> <port> <room>   the short scenario with listener A (valgrind run)
 *   master chat   <host> <port> <room>   chat with one peer (the Python integrator)
 *   master stop   <host> <port> <room>   alone in the room while the MCU stops
 *   master demo   <host> <port> <room>   the demo lesson, printing a timeline
 *
 * Prints "READY" once it is the master of the room; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "lesson.h"

/* The teacher's view: the chair (and soon master) may pull everyone's streams. */
static user_model_t T, A, B;

static void join_as_teacher(const args_t *args) {
    join_t join;
    char own[16];
    int id;
    memset(&join, 0, sizeof join);
    join.user = TEACHER;
    join.password = TEACHER;
    join.users_in_room_before = 0;
    join.check_config = 1;
    id = lesson_join(args, &join);
    snprintf(own, sizeof own, "%d", id);
    CHECK_STR(join.joined.m_strCreatorID, own);
    T = model_user(id, TEACHER, TEACHER_NICK, 1, 2);
    CHECK_CACHED_USER(&T);

    h_step("become the master");
    CHECK_RC(apply_for_master(1), retCode_Success);
    T.master = 1;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
    CHECK_CACHED_USER(&T);
    printf("READY\n");
    fflush(stdout);
}

/* The room's entry in the room list follows the number of users in it. */
static void check_listed_users(int users) {
    room_info_t room;
    CHECK_RC(get_conference_room_info(0, &room), retCode_Success);
    CHECK_INT(atoi(room.m_strRoomID), LESSON_ROOM);
    CHECK_INT(room.m_s32CurUserCnt, users);
}

static void wait_enter(user_model_t *m, const char *name, const char *nick, int users) {
    rec_t *r = h_expect_state(CONFERENCE_STATE_USER_ENTER, 0);
    int count = 0;
    CHECK_RC(r->result, retCode_Success);
    CHECK(r->has_user);
    CHECK(!r->has_append);
    *m = model_user(h_uid(&r->user), name, nick, 0, 2);
    CHECK_USER(&r->user, m);
    h_free(r);
    CHECK_RC(get_user_count(&count), retCode_Success);
    CHECK_INT(count, users);
    CHECK_CACHED_USER(m);
}

static void lesson(void) {
    static unsigned char bin[300];
    static unsigned char big[65537];
    unsigned long kicked, looked, left;
    int i, count = 0;
    rec_t *r;

    h_step("presence");
    wait_enter(&A, CLASS1, CLASS1, 2);
    wait_enter(&B, CLASS2, CLASS2_NICK, 3);
    check_listed_users(3);
    CHECK_INT(h_find_user(CLASS1), A.id);
    CHECK_INT(h_find_user(CLASS2), B.id);
    h_await(B.id, "joined");

    h_step("master handover");
    CHECK_RC(apply_for_master(0), retCode_Success);
    T.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
    CHECK_RC(apply_for_master(0), retCode_StateErr);
    A.master = 1; /* the room had no master: class1 may take the role */
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
    h_await(B.id, "no-master-for-me");
    /* The chair takes the role back: the old master hears it first. */
    CHECK_RC(apply_for_master(1), retCode_Success);
    {
        unsigned long lost, taken;
        A.master = 0;
        lost = USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
        T.master = 1;
        taken = USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
        CHECK(lost < taken);
    }
    CHECK_CACHED_USER(&T);

    h_step("hand raising");
    A.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &A);
    CHECK_RC(ctrl_user_talk_apply(B.id, 1), retCode_StateErr); /* no hand raised */
    CHECK_RC(ctrl_user_talk_apply(NO_SUCH_USER, 1), retCode_NotFindUserErr);
    CHECK_RC(ctrl_user_talk_apply(A.id, 2), retCode_ParamErr);
    h_await(B.id, "talk-refused");
    CHECK_RC(ctrl_user_talk_apply(A.id, 1), retCode_Success);
    A.audio_state = 2;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &A);
    CHECK_CACHED_USER(&A);
    /* class2 raises, lowers and raises a hand again; the teacher refuses. */
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    CHECK_RC(ctrl_user_talk_apply(B.id, 0), retCode_Success);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &B);
    CHECK_RC(ctrl_user_talk_apply(B.id, 0), retCode_StateErr);

    h_step("chat");
    {
        conference_chat_info_t chat;
        memset(&chat, 0, sizeof chat);
        chat.m_i32SrcID = 12345; /* ignored: the MCU fills the sender */
        chat.m_i32DstID = 0;
        chat.m_i32Color = 0xFF8800;
        strcpy(chat.m_strContent, "Good morning, class! 早上好");
        CHECK_RC(send_chat(&chat), retCode_Success);
        EXPECT_CHAT(0, 0xFF8800, "Good morning, class! 早上好", &T);
        chat.m_i32DstID = NO_SUCH_USER;
        CHECK_RC(send_chat(&chat), retCode_NotFindUserErr);
    }
    EXPECT_CHAT(T.id, 0x00AA00, "class1 is ready", &A);

    h_step("transparent data");
    for (i = 0; i < (int)sizeof bin; i++) bin[i] = (unsigned char)(i % 3 == 0 ? 0 : i);
    CHECK_RC(send_transparent_data(A.id, (const char *)bin, (int)sizeof bin, 0), retCode_Success);
    CHECK_RC(send_transparent_data(0, "hello everyone", 14, 1), retCode_Success);
    h_fill(big, (int)sizeof big, 7);
    CHECK_RC(send_transparent_data(B.id, (const char *)big, 65536, 0), retCode_Success);
    CHECK_RC(send_transparent_data(B.id, (const char *)big, 65537, 0), retCode_ParamErr);
    CHECK_RC(send_transparent_data(B.id, "x", 1, 2), retCode_ParamErr);
    CHECK_RC(send_transparent_data(B.id, "x", -1, 0), retCode_ParamErr);
    CHECK_RC(send_transparent_data(NO_SUCH_USER, "x", 1, 0), retCode_NotFindUserErr);
    CHECK_RC(send_transparent_data(A.id, "", 0, 1), retCode_Success);

    h_step("aux slots");
    A.aux[0] = 1;
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, A.id);
    CHECK_USER(&r->user, &A);
    CHECK_INT(r->aux.m_i32UserID, A.id);
    CHECK_INT(r->aux.m_i32ResponseState, 1);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    h_free(r);
    B.aux[1] = 1;
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, B.id);
    CHECK_USER(&r->user, &B);
    CHECK_INT(r->aux.m_i32UserID, B.id);
    CHECK_INT(r->aux.m_i32ResponseState, 1);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);
    h_free(r);
    {
        /* No slot held: aux media is refused locally. */
        unsigned char px[16] = {0};
        CHECK_RC(send_stream(&A_AUX.info, (const char *)px, 16, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR),
                 retCode_AccessErr);
    }
    CHECK_RC(apply_for_aux(1), retCode_OutOfResources);
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, T.id);
    CHECK_RC(r->result, retCode_Success);
    CHECK_USER(&r->user, &T);
    CHECK_INT(r->aux.m_i32UserID, T.id);
    CHECK_INT(r->aux.m_i32ResponseState, 0);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    h_free(r);
    h_signal(0, "aux-full");
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1), retCode_Success);
    r = h_expect_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    CHECK_F(r, A.id, A_AUX);
    h_free(r);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 0), retCode_Success);
    h_signal(A.id, "aux-seen");
    A.aux[0] = 0;
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, A.id);
    CHECK_USER(&r->user, &A);
    CHECK_INT(r->aux.m_i32ResponseState, 0);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    h_free(r);
    B.aux[1] = 0;
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, B.id);
    CHECK_USER(&r->user, &B);
    CHECK_INT(r->aux.m_i32ResponseState, 0);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);
    h_free(r);

    h_step("grants");
    h_await(B.id, "grant-me");
    CHECK_RC(auth_video(A.id, B.id, 2), retCode_ParamErr);
    CHECK_RC(auth_video(A.id, A.id, 1), retCode_ParamErr);
    CHECK_RC(auth_video(A.id, B.id, 1), retCode_Success);
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A);
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A); /* class1's own auth_audio to class2 */

    h_step("video and audio fan-out");
    h_await(B.id, "media-seen");
    CHECK_RC(check_user_video(A.id, 1), retCode_Success);
    CHECK_RC(check_user_audio(A.id, 1), retCode_Success);
    CHECK_RC(check_user_video(T.id, 1), retCode_ParamErr);
    /* A new viewer first gets the latest complete key frame (three fragments), then waits
     * for the next key frame: the delta frame between them is never delivered. */
    for (i = 0; i < 3; i++) {
        r = h_expect_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR);
        CHECK_F(r, A.id, A_VIDEO_KEY[i]);
        h_free(r);
    }
    r = h_expect_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR);
    CHECK_F(r, A.id, A_VIDEO_KEY2);
    h_free(r);
    r = h_expect_stream(A.id, CONFERENCE_MEDIA_TYPE_AUDIO);
    CHECK_F(r, A.id, A_AUDIO[3]);
    h_free(r);

    h_step("broadcast");
    CHECK_RC(bcast_user_video(B.id, 1), retCode_Success);
    B.bcast_video = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    CHECK_RC(bcast_user_audio(B.id, 1), retCode_Success);
    B.bcast_audio = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    CHECK_CACHED_USER(&B);
    h_await(A.id, "bcast-seen");
    CHECK_RC(bcast_user_video(B.id, 0), retCode_Success);
    B.bcast_video = 0;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    CHECK_RC(bcast_user_audio(B.id, 0), retCode_Success);
    B.bcast_audio = 0;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);

    h_step("interactive user");
    CHECK_RC(set_interact(T.id), retCode_StateErr);
    CHECK_RC(set_interact(NO_SUCH_USER), retCode_NotFindUserErr);
    CHECK_RC(set_interact(A.id), retCode_Success);
    USER_EVENT(CONFERENCE_STATE_UPDATE_INTERACT, &A);
    r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1);
    CHECK_USER(&r->user, &T);
    h_free(r);
    SEND(T_VIDEO);

    h_step("invitations");
    h_await(B.id, "invite-me");
    CHECK_RC(invite(B.id, INVITE_TYPE_AUDIO, 1), retCode_Success);
    CHECK_RC(invite(B.id, INVITE_TYPE_AUDIO, 1), retCode_StateErr);
    CHECK_RC(invite(B.id, (invite_type_e)5, 1), retCode_ParamErr);
    CHECK_RC(invite(T.id, INVITE_TYPE_AUDIO, 1), retCode_ParamErr);
    USER_EVENT(CONFERENCE_STATE_ALLOW_INVITE, &B);
    r = h_expect_looked(B.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1);
    CHECK_USER(&r->user, &T);
    h_free(r);
    CHECK_RC(invite(A.id, INVITE_TYPE_AUDIO, 1), retCode_Success);
    USER_EVENT(CONFERENCE_STATE_REJECT_INVITE, &A);
    CHECK_RC(ctrl_user_invite(A.id, 1), retCode_StateErr); /* nothing pending from class1 */
    CHECK_RC(invite(B.id, INVITE_TYPE_VIDEO, 1), retCode_Success);
    CHECK_RC(invite(B.id, INVITE_TYPE_VIDEO, 0), retCode_Success);
    CHECK_RC(invite(B.id, INVITE_TYPE_VIDEO, 0), retCode_StateErr);
    h_await(B.id, "invites-done");

    h_step("kick");
    /* class2 raised a hand and took aux slot 0 before "invites-done". */
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.aux[0] = 1;
    r = h_expect_state(CONFERENCE_STATE_USER_AUX, B.id);
    CHECK_USER(&r->user, &B);
    CHECK_INT(r->aux.m_i32ResponseState, 1);
    CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    h_free(r);
    CHECK_RC(kickout_conference_room(T.id), retCode_AccessErr);
    CHECK_RC(kickout_conference_room(NO_SUCH_USER), retCode_NotFindUserErr);
    CHECK_RC(kickout_conference_room(B.id), retCode_Success);
    {
        /* USER_KICKED, then the release events in the documented order, then USER_LEAVE. */
        unsigned long talk, aux;
        user_model_t gone = B;
        gone.audio_state = -1;
        gone.aux[0] = -1;
        kicked = USER_EVENT(CONFERENCE_STATE_USER_KICKED, &gone);
        gone.audio_state = 0;
        gone.aux[0] = 1;
        talk = USER_EVENT(CONFERENCE_STATE_USER_TALK, &gone);
        gone.aux[0] = 0;
        r = h_expect_state(CONFERENCE_STATE_USER_AUX, B.id);
        CHECK_USER(&r->user, &gone);
        CHECK_INT(r->aux.m_i32ResponseState, 0);
        CHECK_INT(r->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
        aux = r->seq;
        h_free(r);
        /* class2 was the only one listening to the teacher's audio. */
        r = h_expect_looked(B.id, CONFERENCE_MEDIA_TYPE_AUDIO, 0);
        CHECK_USER(&r->user, &T);
        looked = r->seq;
        h_free(r);
        left = USER_EVENT(CONFERENCE_STATE_USER_LEAVE, &gone);
        CHECK(kicked < talk && talk < aux && aux < looked && looked < left);
    }
    CHECK_RC(get_user_count(&count), retCode_Success);
    CHECK_INT(count, 2);
    check_listed_users(2);
    {
        user_info_t gone;
        CHECK_RC(get_user_info(B.id, &gone), retCode_NotFindUserErr);
    }
    h_signal(A.id, "you-may-leave");

    h_step("class1 disconnects");
    {
        unsigned long interact, talk, leave;
        r = h_expect_state(CONFERENCE_STATE_UPDATE_INTERACT, -1);
        CHECK_RC(r->result, retCode_Success);
        CHECK(!r->has_append);
        interact = r->seq;
        h_free(r);
        A.audio_state = 0;
        talk = USER_EVENT(CONFERENCE_STATE_USER_TALK, &A);
        r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 0);
        looked = r->seq;
        h_free(r);
        leave = USER_EVENT(CONFERENCE_STATE_USER_LEAVE, &A);
        CHECK(interact < talk && talk < looked && looked < leave);
    }
    CHECK_RC(get_user_count(&count), retCode_Success);
    CHECK_INT(count, 1);
    check_listed_users(1);

    h_step("end of the lesson");
    CHECK_RC(apply_for_master(0), retCode_Success);
    T.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
    CHECK_RC(apply_for_master(0), retCode_StateErr);
    CHECK_RC(logout_conference_room(), retCode_Success);
    h_expect_room_exit(retCode_Success, T.id);
    CHECK_RC(logout_conference_room(), retCode_NotLoginErr);
    CHECK_RC(disconnect_MCU(), retCode_Success);
    CHECK_RC(uninit(), retCode_Success);
    CHECK_RC(uninit(), retCode_InitErr);
    CHECK_RC(get_user_count(&count), retCode_InitErr);
    h_expect_nothing_left("after uninit");
}

/* Valgrind partner: chat, transparent data and media both ways with listener A. */
static void short_scenario(void) {
    rec_t *r;
    int i;
    h_step("short: presence");
    wait_enter(&A, CLASS1, CLASS1, 2);
    EXPECT_CHAT(0, 0x123456, "hello from class1", &A);
    h_step("short: reply");
    {
        conference_chat_info_t chat;
        memset(&chat, 0, sizeof chat);
        chat.m_i32DstID = A.id;
        chat.m_i32Color = 0x654321;
        strcpy(chat.m_strContent, "hello class1");
        CHECK_RC(send_chat(&chat), retCode_Success);
        EXPECT_CHAT(A.id, 0x654321, "hello class1", &T);
    }
    CHECK_RC(send_transparent_data(A.id, "a\0b\0c", 5, 0), retCode_Success);
    h_step("short: media");
    CHECK_RC(bcast_user_video(T.id, 1), retCode_Success);
    T.bcast_video = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &T);
    CHECK_RC(bcast_user_audio(T.id, 1), retCode_Success);
    T.bcast_audio = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &T);
    r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1);
    h_free(r);
    r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1);
    h_free(r);
    /* (The lesson's frame definitions, sent by the teacher here.) */
    for (i = 0; i < 3; i++) SEND(A_VIDEO_KEY[i]);
    SEND(A_VIDEO_DELTA);
    for (i = 0; i < 10; i++) SEND(T_PCM[i]);
    CHECK_RC(check_user_video(A.id, 1), retCode_Success);
    r = h_expect_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR);
    CHECK_F(r, A.id, T_VIDEO);
    h_free(r);
    h_step("short: class1 leaves");
    {
        unsigned long video, audio, leave;
        r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 0);
        video = r->seq;
        h_free(r);
        r = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_AUDIO, 0);
        audio = r->seq;
        h_free(r);
        leave = USER_EVENT(CONFERENCE_STATE_USER_LEAVE, &A);
        CHECK(video < leave && audio < leave);
    }
    CHECK_RC(disconnect_MCU(), retCode_Success);
    h_expect_room_exit(retCode_Success, T.id);
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
}

/* Chat with one peer (the Python integrator): wait for its greeting, answer privately, wait
 * until it leaves. */
static void chat_scenario(void) {
    rec_t *r;
    user_model_t peer;
    conference_chat_info_t chat;
    h_step("chat: waiting for a peer");
    r = h_expect_state(CONFERENCE_STATE_USER_ENTER, 0);
    CHECK_RC(r->result, retCode_Success);
    peer = model_user(h_uid(&r->user), NULL, NULL, 0, 2);
    h_free(r);
    EXPECT_CHAT(0, 0x00FF00, "hello from python", &peer);
    /* When the peer leaves (it waits for our answer first), the callback itself calls
     * uninit(): it returns Success there, and afterwards the library is uninitialised. */
    h_uninit_in_callback(CONFERENCE_STATE_USER_LEAVE);
    memset(&chat, 0, sizeof chat);
    chat.m_i32DstID = peer.id;
    chat.m_i32Color = 0x0000FF;
    strcpy(chat.m_strContent, "hello from C");
    CHECK_RC(send_chat(&chat), retCode_Success);
    EXPECT_CHAT(peer.id, 0x0000FF, "hello from C", &T);
    EXPECT_TRANSPARENT(0, "bin\0ary", 7, &peer);
    r = h_expect_state(CONFERENCE_STATE_USER_LEAVE, peer.id);
    CHECK_RC(r->uninit_rc, retCode_Success);
    h_free(r);
    CHECK_RC(disconnect_MCU(), retCode_InitErr);
    CHECK_RC(uninit(), retCode_InitErr);
    CHECK_RC(init(NULL, h_handlers()), retCode_Success); /* and init works again */
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
    printf("CHAT OK\n");
}

/* The MCU stops under us (the test sends it SIGTERM after READY): ROOM_EXIT and USER_CLOSE
 * say why, and the library stays usable. */
static void stop_scenario(const args_t *args) {
    rec_t *r;
    int count = 0;
    h_step("stop: waiting for the MCU to stop");
    h_expect_room_exit(retCode_ServerStoped, T.id);
    r = h_expect_state(CONFERENCE_STATE_USER_CLOSE, -1);
    CHECK_RC(r->result, retCode_ServerStoped);
    CHECK(!r->has_append);
    h_free(r);
    CHECK_RC(get_user_count(&count), retCode_NotLoginErr);
    CHECK_RC(apply_for_talk(1), retCode_NotLoginErr);
    h_step("stop: nobody listens any more");
    CHECK_RC(connect_MCU(args->host, args->port, TEACHER, TEACHER), retCode_SockCnntErr);
    r = h_expect_state(CONFERENCE_STATE_CONNECT_MCU_FAILED, -1);
    CHECK_RC(r->result, retCode_SockCnntErr);
    h_free(r);
    CHECK_RC(disconnect_MCU(), retCode_NotLoginErr);
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
}

int main(int argc, char **argv) {
    args_t args = parse_args(argc, argv, "master", 0);
    int demo = strcmp(args.mode, "demo") == 0;
    h_start(TEACHER, demo);
    if (demo) {
        demo_teacher(&args);
    } else {
        join_as_teacher(&args);
        if (strcmp(args.mode, "lesson") == 0)
            lesson();
        else if (strcmp(args.mode, "short") == 0)
            short_scenario();
        else if (strcmp(args.mode, "chat") == 0)
            chat_scenario();
        else if (strcmp(args.mode, "stop") == 0)
            stop_scenario(&args);
        else
            FAIL("unknown mode %s", args.mode);
    }
    h_log("user list from events equal to the API at %ld callbacks", h_roster_checks());
    h_release();
    printf("PASS\n");
    return 0;
}

/*
 * listener.c: a listener endpoint (a listening classroom's recorder).
 *
 *   listener lesson <host> <port> <room> A   class1 in the whole lesson
 *   listener lesson <host> <port> <room> B   class2 in the whole lesson
 *   listener short  <host> <port> <room> A   class1 in the short scenario (run under valgrind)
 *   listener demo   <host> <port> <room> A|B the demo lesson, printing a timeline
 *
 * Prints "READY" once in the room; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "lesson.h"

/* This listener's view of the teacher, of class1 and of class2. */
static user_model_t T, A, B;

static void find_teacher(const join_t *join) {
    char id[16];
    T = model_user(h_find_user(TEACHER), TEACHER, TEACHER_NICK, 1, 0);
    CHECK(T.id > 0);
    T.master = 1;
    snprintf(id, sizeof id, "%d", T.id);
    CHECK_STR(join->joined.m_strCreatorID, id);
    CHECK_CACHED_USER(&T);
}

static void join_as(const args_t *args, const char *user, int before, int bad_attempts,
                    const audio_mixer_props_t *mixer) {
    join_t join;
    int id;
    memset(&join, 0, sizeof join);
    join.mixer = mixer;
    join.user = user;
    join.password = user;
    join.users_in_room_before = before;
    join.try_wrong_password = bad_attempts;
    join.try_bad_rooms = bad_attempts;
    join.check_config = 1;
    id = lesson_join(args, &join);
    find_teacher(&join);
    if (strcmp(user, CLASS1) == 0) {
        A = model_user(id, CLASS1, CLASS1, 0, 2);
        CHECK_CACHED_USER(&A);
    } else {
        B = model_user(id, CLASS2, CLASS2_NICK, 0, 2);
        A = model_user(h_find_user(CLASS1), CLASS1, CLASS1, 0, 0);
        CHECK_CACHED_USER(&A);
        CHECK_CACHED_USER(&B);
    }
}

static void ready(void) {
    printf("READY\n");
    fflush(stdout);
}

static void check_aux(const user_model_t *m, int response, int media_type) {
    rec_t *r = h_expect_state(CONFERENCE_STATE_USER_AUX, m->id);
    CHECK_RC(r->result, retCode_Success);
    CHECK_USER(&r->user, m);
    CHECK(r->has_append);
    CHECK_INT(r->aux.m_i32UserID, m->id);
    CHECK_INT(r->aux.m_i32ResponseState, response);
    CHECK_INT(r->aux.m_eMediaType, media_type);
    h_free(r);
}

static void expect_frame(int sender, const frame_t *f) {
    rec_t *r = h_expect_stream(sender, f->type);
    CHECK_F(r, sender, *f);
    h_free(r);
}

static void expect_looked(int viewer, int media_type, int ctrl, const user_model_t *self) {
    rec_t *r = h_expect_looked(viewer, media_type, ctrl);
    CHECK_USER(&r->user, self);
    h_free(r);
}

/* ------------------------------------------------------------------------------------- */
/* class1: raises a hand, talks, shares courseware, sends video and audio, is interactive  */

static void lesson_a(const args_t *args) {
    static unsigned char bin[300];
    conference_chat_info_t chat;
    char long_text[128];
    user_info_t own;
    rec_t *r;
    int i, count = 0;

    join_as(args, CLASS1, 1, 0, NULL);
    ready();

    h_step("presence");
    r = h_expect_state(CONFERENCE_STATE_USER_ENTER, 0);
    CHECK_RC(r->result, retCode_Success);
    B = model_user(h_uid(&r->user), CLASS2, CLASS2_NICK, 0, 0);
    CHECK_USER(&r->user, &B);
    h_free(r);
    CHECK_RC(get_user_count(&count), retCode_Success);
    CHECK_INT(count, 3);
    CHECK_CACHED_USER(&B);
    /* A listener may not pull a listener's video, kick, or broadcast. */
    CHECK_RC(recv_stream(B.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_AccessErr);
    CHECK_RC(kickout_conference_room(B.id), retCode_AccessErr);
    CHECK_RC(bcast_user_video(A.id, 1), retCode_AccessErr);
    h_await(B.id, "joined");

    h_step("master handover");
    T.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
    CHECK_RC(apply_for_master(1), retCode_Success);
    A.master = 1;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
    /* As the master, class1 may pull everyone's streams (the views came with the answer). */
    T.auth_video = T.auth_audio = B.auth_video = B.auth_audio = 2;
    CHECK_CACHED_USER(&T);
    CHECK_CACHED_USER(&B);
    CHECK_RC(kickout_conference_room(T.id), retCode_AccessErr); /* never the chair */
    h_signal(B.id, "master-checked");
    /* The chair takes the role back. */
    A.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
    T.master = 1;
    T.auth_video = T.auth_audio = B.auth_video = B.auth_audio = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);

    h_step("hand raising");
    CHECK_RC(apply_for_talk(1), retCode_Success);
    /* The views of a listener again (the MCU's update came before this answer). class2
     * raises its hand as soon as it sees class1 talking: its hand is not checked here. */
    CHECK_CACHED_USER(&T);
    {
        user_model_t b = B;
        b.audio_state = -1;
        CHECK_CACHED_USER(&b);
    }
    A.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &A);
    CHECK_RC(apply_for_talk(1), retCode_StateErr);
    A.audio_state = 2;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &A);
    CHECK_RC(get_own_user_info(&own), retCode_Success);
    CHECK_USER(&own, &A);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &B);

    h_step("chat");
    EXPECT_CHAT(0, 0xFF8800, "Good morning, class! 早上好", &T);
    memset(&chat, 0, sizeof chat);
    chat.m_i32SrcID = 999; /* a spoofed sender: the MCU puts the real one */
    chat.m_i32DstID = T.id;
    chat.m_i32Color = 0x00AA00;
    strcpy(chat.m_strContent, "class1 is ready");
    CHECK_RC(send_chat(&chat), retCode_Success);
    EXPECT_CHAT(T.id, 0x00AA00, "class1 is ready", &A);
    long_chat(long_text);
    EXPECT_CHAT(A.id, 0x0000CC, long_text, &B);

    h_step("transparent data");
    for (i = 0; i < (int)sizeof bin; i++) bin[i] = (unsigned char)(i % 3 == 0 ? 0 : i);
    EXPECT_TRANSPARENT(0, bin, (int)sizeof bin, &T);
    EXPECT_TRANSPARENT(1, "hello everyone", 14, &T);
    EXPECT_TRANSPARENT(1, "", 0, &T);

    h_step("aux slots");
    CHECK_RC(apply_for_aux(1), retCode_Success);
    A.aux[0] = 1;
    check_aux(&A, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    B.aux[1] = 1;
    check_aux(&B, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);
    h_await(T.id, "aux-full");
    /* The teacher's refused apply_for_aux reached the teacher alone. */
    CHECK_INT(h_count_state(CONFERENCE_STATE_USER_AUX, T.id), 0);
    expect_looked(T.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1, &A);
    expect_looked(B.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1, &A);
    SEND(A_AUX);
    h_await(T.id, "aux-seen");
    h_await(B.id, "aux-seen");
    r = h_expect_looked(0, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 0);
    CHECK(r->looked.m_i32ViewerID == T.id || r->looked.m_i32ViewerID == B.id);
    CHECK_USER(&r->user, &A);
    h_free(r);
    CHECK_RC(apply_for_aux(0), retCode_Success);
    A.aux[0] = 0;
    check_aux(&A, 0, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    CHECK_RC(apply_for_aux(0), retCode_StateErr);
    B.aux[1] = 0;
    check_aux(&B, 0, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);

    h_step("grants");
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A); /* the teacher let class2 see class1 */
    CHECK_RC(auth_audio(T.id, B.id, 1), retCode_AccessErr);
    CHECK_RC(auth_audio(A.id, B.id, 1), retCode_Success);
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A);
    expect_looked(B.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1, &A);
    expect_looked(B.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1, &A);

    h_step("video and audio fan-out");
    for (i = 0; i < 3; i++) SEND(A_VIDEO_KEY[i]);
    SEND(A_VIDEO_DELTA);
    for (i = 0; i < 3; i++) SEND(A_AUDIO[i]);
    /* The teacher starts looking: a new key frame for it, and more audio. */
    expect_looked(T.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1, &A);
    SEND(A_VIDEO_KEY2);
    expect_looked(T.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1, &A);
    SEND(A_AUDIO[3]);

    h_step("broadcast");
    B.bcast_video = 1;
    B.auth_video = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    B.bcast_audio = 1;
    B.auth_audio = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    CHECK_RC(recv_stream(B.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
    expect_frame(B.id, &B_VIDEO);
    CHECK_RC(bcast_user_video(B.id, 0), retCode_AccessErr);
    h_signal(T.id, "bcast-seen");
    B.bcast_video = 0;
    B.auth_video = 0;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    B.bcast_audio = 0;
    B.auth_audio = 0;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    CHECK_RC(recv_stream(B.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_AccessErr);

    h_step("interactive user");
    USER_EVENT(CONFERENCE_STATE_UPDATE_INTERACT, &A);
    CHECK_RC(recv_stream(T.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
    /* Paired with the master: both of the teacher's streams are allowed now. */
    T.auth_video = 2;
    T.auth_audio = 2;
    CHECK_CACHED_USER(&T);
    expect_frame(T.id, &T_VIDEO);

    h_step("invitations");
    CHECK_RC(invite(B.id, INVITE_TYPE_VIDEO, 1), retCode_Success);
    USER_EVENT(CONFERENCE_STATE_REJECT_JOIN, &B);
    CHECK_RC(recv_stream(B.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_AccessErr);
    CHECK_RC(invite(B.id, INVITE_TYPE_AUDIO, 1), retCode_Success);
    B.auth_audio = 2;
    USER_EVENT(CONFERENCE_STATE_ALLOW_JOIN, &B);
    CHECK_RC(recv_stream(B.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);
    r = h_expect_invite(CONFERENCE_STATE_RECV_INVITE, T.id, INVITE_TYPE_AUDIO);
    {
        user_model_t pending = T;
        pending.auth_audio = -1; /* allowed already (interactive pair) and pending */
        CHECK_USER(&r->user, &pending);
    }
    h_free(r);
    CHECK_RC(ctrl_user_invite(T.id, 0), retCode_Success);

    h_step("class2 is kicked");
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.aux[0] = 1;
    check_aux(&B, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    {
        unsigned long kicked, talk, aux, left;
        rec_t *x;
        user_model_t gone = B;
        gone.auth_video = gone.auth_audio = -1;
        kicked = USER_EVENT(CONFERENCE_STATE_USER_KICKED, &gone);
        gone.audio_state = 0; /* released: the hand, then the aux slot */
        talk = USER_EVENT(CONFERENCE_STATE_USER_TALK, &gone);
        gone.aux[0] = 0;
        x = h_expect_state(CONFERENCE_STATE_USER_AUX, B.id);
        CHECK_USER(&x->user, &gone);
        CHECK_INT(x->aux.m_i32ResponseState, 0);
        CHECK_INT(x->aux.m_eMediaType, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
        aux = x->seq;
        h_free(x);
        left = USER_EVENT(CONFERENCE_STATE_USER_LEAVE, &gone);
        CHECK(kicked < talk && talk < aux && aux < left);
    }
    CHECK_RC(get_user_count(&count), retCode_Success);
    CHECK_INT(count, 2);
    CHECK_RC(get_user_info(B.id, &own), retCode_NotFindUserErr);

    h_step("leave by disconnecting");
    h_await(T.id, "you-may-leave");
    /* Straight out of the room: disconnect_MCU leaves it; ROOM_EXIT (retCode_Success) and
     * the USER_LEAVEs empty the list, and no USER_CLOSE follows (the final check would see
     * it). */
    CHECK_RC(disconnect_MCU(), retCode_Success);
    h_expect_room_exit(retCode_Success, A.id);
    CHECK_RC(get_user_count(&count), retCode_NotLoginErr);
    CHECK_RC(logout_conference_room(), retCode_NotLoginErr);
    CHECK_RC(get_own_user_info(&own), retCode_NotLoginErr);
    CHECK_RC(disconnect_MCU(), retCode_NotLoginErr);
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
}

/* ------------------------------------------------------------------------------------- */
/* class2: refused things, the second aux slot, grants, broadcast, invitations, kicked      */

static void lesson_b(const args_t *args) {
    static unsigned char big[65536];
    conference_chat_info_t chat;
    char long_text[128];
    unsigned char px[16] = {0};
    user_info_t own;
    rec_t *r;
    int i, count = 0;

    join_as(args, CLASS2, 2, 1, NULL);
    /* The others start the lesson once class2 has checked the room as it found it. */
    h_signal(0, "joined");
    ready();

    h_step("master handover");
    T.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);
    A.master = 1;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
    h_await(A.id, "master-checked");
    CHECK_RC(apply_for_master(1), retCode_StateErr); /* taken, and class2 is not the chair */
    h_signal(T.id, "no-master-for-me");
    A.master = 0;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &A);
    T.master = 1;
    USER_EVENT(CONFERENCE_STATE_USER_CHAIR, &T);

    h_step("hand raising");
    A.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &A);
    CHECK_RC(ctrl_user_talk_apply(A.id, 1), retCode_AccessErr);
    CHECK_RC(apply_for_talk(0), retCode_StateErr); /* no hand to lower */
    h_signal(T.id, "talk-refused");
    A.audio_state = 2;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &A);
    /* Raise, lower, raise again: the teacher refuses. */
    CHECK_RC(apply_for_talk(1), retCode_Success);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    CHECK_RC(apply_for_talk(0), retCode_Success);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    CHECK_RC(apply_for_talk(1), retCode_Success);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    B.audio_state = 0;
    USER_EVENT(CONFERENCE_STATE_USER_TALK, &B);

    h_step("chat");
    EXPECT_CHAT(0, 0xFF8800, "Good morning, class! 早上好", &T);
    memset(&chat, 0, sizeof chat);
    chat.m_i32DstID = A.id;
    chat.m_i32Color = 0x0000CC;
    long_chat(long_text);
    memcpy(chat.m_strContent, long_text, sizeof chat.m_strContent);
    CHECK_RC(send_chat(&chat), retCode_Success);
    EXPECT_CHAT(A.id, 0x0000CC, long_text, &B);
    memset(chat.m_strContent, 'x', sizeof chat.m_strContent); /* no NUL inside */
    CHECK_RC(send_chat(&chat), retCode_ParamErr);

    h_step("transparent data");
    EXPECT_TRANSPARENT(1, "hello everyone", 14, &T);
    h_fill(big, (int)sizeof big, 7);
    EXPECT_TRANSPARENT(0, big, (int)sizeof big, &T);

    h_step("aux slots");
    A.aux[0] = 1;
    check_aux(&A, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    CHECK_RC(apply_for_aux(1), retCode_Success);
    B.aux[1] = 1;
    check_aux(&B, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);
    /* Slot 0 is class1's: not ours to send on. */
    CHECK_RC(send_stream(&A_AUX.info, (const char *)px, 16, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR),
             retCode_AccessErr);
    h_await(T.id, "aux-full");
    CHECK_INT(h_count_state(CONFERENCE_STATE_USER_AUX, T.id), 0);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1), retCode_Success);
    expect_frame(A.id, &A_AUX);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 0), retCode_Success);
    h_signal(A.id, "aux-seen");
    A.aux[0] = 0;
    check_aux(&A, 0, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    CHECK_RC(apply_for_aux(0), retCode_Success);
    B.aux[1] = 0;
    check_aux(&B, 0, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2);
    CHECK_RC(apply_for_aux(0), retCode_StateErr);

    h_step("grants");
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_AccessErr);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_AccessErr);
    CHECK_RC(auth_video(A.id, B.id, 1), retCode_AccessErr);
    CHECK_RC(check_user_video(A.id, 1), retCode_AccessErr);
    h_signal(T.id, "grant-me");
    A.auth_video = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A);
    A.auth_audio = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &A);
    CHECK_CACHED_USER(&A);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
    CHECK_RC(recv_stream(A.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);

    h_step("video and audio fan-out");
    for (i = 0; i < 3; i++) expect_frame(A.id, &A_VIDEO_KEY[i]);
    expect_frame(A.id, &A_VIDEO_DELTA);
    for (i = 0; i < 3; i++) expect_frame(A.id, &A_AUDIO[i]);
    h_signal(T.id, "media-seen");
    expect_frame(A.id, &A_VIDEO_KEY2);
    expect_frame(A.id, &A_AUDIO[3]);

    h_step("broadcast");
    B.bcast_video = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    B.bcast_audio = 1;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
    expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1, &B);
    SEND(B_VIDEO);
    {
        unsigned long video_off, looked, audio_off;
        rec_t *l;
        B.bcast_video = 0;
        video_off = USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
        /* class1 lost the right to watch: its subscription ended with the broadcast, and it
         * was the last viewer. */
        l = h_expect_looked(A.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 0);
        CHECK_USER(&l->user, &B);
        looked = l->seq;
        h_free(l);
        B.bcast_audio = 0;
        audio_off = USER_EVENT(CONFERENCE_STATE_USER_BCAST, &B);
        /* The MCU may report the ended subscription before or after USER_BCAST itself. */
        CHECK(looked < audio_off && video_off < audio_off);
    }

    h_step("interactive user");
    CHECK_RC(set_interact(B.id), retCode_AccessErr);
    USER_EVENT(CONFERENCE_STATE_UPDATE_INTERACT, &A);

    h_step("invitations");
    CHECK_RC(recv_stream(T.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_AccessErr);
    CHECK_RC(ctrl_user_invite(T.id, 1), retCode_StateErr);
    h_signal(T.id, "invite-me");
    r = h_expect_invite(CONFERENCE_STATE_RECV_INVITE, T.id, INVITE_TYPE_AUDIO);
    T.auth_audio = 1; /* pending */
    CHECK_USER(&r->user, &T);
    h_free(r);
    CHECK_RC(ctrl_user_invite(T.id, 1), retCode_Success);
    T.auth_audio = 2;
    CHECK_CACHED_USER(&T);
    CHECK_RC(ctrl_user_invite(T.id, 1), retCode_StateErr);
    CHECK_RC(recv_stream(T.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);
    r = h_expect_invite(CONFERENCE_STATE_RECV_JOIN, A.id, INVITE_TYPE_VIDEO);
    {
        user_model_t asking = A;
        asking.auth_video = -1; /* granted already, and pending */
        CHECK_USER(&r->user, &asking);
    }
    h_free(r);
    CHECK_RC(ctrl_user_invite(A.id, 0), retCode_Success);
    r = h_expect_invite(CONFERENCE_STATE_RECV_JOIN, A.id, INVITE_TYPE_AUDIO);
    {
        user_model_t asking = A;
        asking.auth_audio = -1;
        CHECK_USER(&r->user, &asking);
    }
    h_free(r);
    CHECK_RC(ctrl_user_invite(A.id, 1), retCode_Success);
    expect_looked(A.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1, &B);
    /* An invitation the teacher withdraws at once. */
    r = h_expect_invite(CONFERENCE_STATE_RECV_INVITE, T.id, INVITE_TYPE_VIDEO);
    T.auth_video = 1;
    CHECK_USER(&r->user, &T);
    h_free(r);
    T.auth_video = 0;
    USER_EVENT(CONFERENCE_STATE_REJECT_INVITE, &T);
    CHECK_RC(kickout_conference_room(A.id), retCode_AccessErr);
    /* Holding a raised hand and an aux slot when kicked: the others see them released. */
    CHECK_RC(apply_for_talk(1), retCode_Success);
    B.audio_state = 1;
    USER_EVENT(CONFERENCE_STATE_USER_REQTALK, &B);
    CHECK_RC(apply_for_aux(1), retCode_Success);
    B.aux[0] = 1;
    check_aux(&B, 1, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
    h_signal(T.id, "invites-done");

    h_step("kicked");
    /* USER_KICKED about ourselves, then ROOM_EXIT (retCode_KickOut), then the list empties. */
    {
        unsigned long kicked, exit_seq;
        r = h_expect_state(CONFERENCE_STATE_USER_KICKED, B.id);
        CHECK_RC(r->result, retCode_Success);
        kicked = r->seq;
        h_free(r);
        exit_seq = h_expect_room_exit(retCode_KickOut, B.id);
        CHECK(kicked < exit_seq);
    }
    CHECK_RC(get_user_count(&count), retCode_NotLoginErr);
    CHECK_RC(apply_for_talk(1), retCode_NotLoginErr);
    memset(&chat, 0, sizeof chat);
    CHECK_RC(send_chat(&chat), retCode_NotLoginErr);
    CHECK_RC(get_own_user_info(&own), retCode_Success); /* still connected */
    CHECK_INT(h_uid(&own), B.id);
    CHECK_RC(disconnect_MCU(), retCode_Success);
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
}

/* ------------------------------------------------------------------------------------- */
/* class1 in the short scenario (run under valgrind)                                        */

static void short_a(const args_t *args) {
    conference_chat_info_t chat;
    h_mixer_stats_t mix;
    unsigned long exit_seq;
    rec_t *r;
    int i, waited;
    /* With the mixer: its thread and the mixed track run under valgrind too. */
    join_as(args, CLASS1, 1, 0, h_mixer(48000, 2, 16));
    ready();
    h_step("short: chat");
    memset(&chat, 0, sizeof chat);
    chat.m_i32Color = 0x123456;
    strcpy(chat.m_strContent, "hello from class1");
    CHECK_RC(send_chat(&chat), retCode_Success);
    EXPECT_CHAT(0, 0x123456, "hello from class1", &A);
    EXPECT_CHAT(A.id, 0x654321, "hello class1", &T);
    EXPECT_TRANSPARENT(0, "a\0b\0c", 5, &T);
    h_step("short: media");
    T.bcast_video = 1;
    T.auth_video = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &T);
    T.bcast_audio = 1;
    T.auth_audio = 2;
    USER_EVENT(CONFERENCE_STATE_USER_BCAST, &T);
    CHECK_RC(recv_stream(T.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
    CHECK_RC(recv_stream(T.id, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);
    /* The teacher sends the lesson's fragmented key frame, a delta frame and raw PCM. */
    for (i = 0; i < 3; i++) expect_frame(T.id, &A_VIDEO_KEY[i]);
    expect_frame(T.id, &A_VIDEO_DELTA);
    for (i = 0; i < 10; i++) expect_frame(T.id, &T_PCM[i]);
    r = h_expect_looked(T.id, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1);
    CHECK_USER(&r->user, &A);
    h_free(r);
    SEND(T_VIDEO);
    h_step("short: the teacher's audio in the mix");
    for (waited = 0;; waited += 10) {
        h_mixer_stats(&mix);
        if (mix.loud > 0) break;
        if (waited > h_timeout_ms()) FAIL("no mixed frame carries the teacher's audio");
        {
            struct timespec t = {0, 10000000L};
            nanosleep(&t, NULL);
        }
    }
    h_step("short: leave");
    CHECK_RC(logout_conference_room(), retCode_Success);
    exit_seq = h_expect_room_exit(retCode_Success, A.id);
    CHECK_RC(disconnect_MCU(), retCode_Success);
    CHECK_RC(uninit(), retCode_Success);
    h_expect_nothing_left("after uninit");
    h_mixer_stats(&mix);
    if (mix.bad > 0) FAIL("%d bad mixed frames; first: %s", mix.bad, mix.first_problem);
    CHECK(mix.frames > 0);
    CHECK(mix.last_seq < exit_seq); /* no mixed frame after ROOM_EXIT */
    h_log("mixed track: %d frames, %d with sound", mix.frames, mix.loud);
}

int main(int argc, char **argv) {
    args_t args = parse_args(argc, argv, "listener", 1);
    int demo = strcmp(args.mode, "demo") == 0;
    int a = strcmp(args.role, "A") == 0;
    if (!a && strcmp(args.role, "B") != 0) {
        fprintf(stderr, "listener: role must be A or B\n");
        return 2;
    }
    h_start(a ? CLASS1 : CLASS2, demo);
    if (demo)
        demo_listener(&args, a ? CLASS1 : CLASS2);
    else if (strcmp(args.mode, "lesson") == 0 && a)
        lesson_a(&args);
    else if (strcmp(args.mode, "lesson") == 0)
        lesson_b(&args);
    else if (strcmp(args.mode, "short") == 0 && a)
        short_a(&args);
    else
        FAIL("unknown mode %s for role %s", args.mode, args.role);
    h_log("user list from events equal to the API at %ld callbacks", h_roster_checks());
    h_release();
    printf("PASS\n");
    return 0;
}

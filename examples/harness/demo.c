/*
 * demo.c: the demo lesson among the teacher (master), class1 and class2, in the MCU's
 * built-in demo room. The endpoints may start in any order; they synchronise through the
 * conference only (events, chat, transparent "sync:" messages). Every return code is still
 * checked: the demo fails loudly rather than printing a wrong story.
 */
#define _POSIX_C_SOURCE 200809L

#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LECTURE_TICKS 50 /* 20 ms audio packets: one second of lecture */
#define ANSWER_TICKS 25
#define WORKSHEET_PAGES 5

static void sleep_ms(int ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

static unsigned long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (unsigned long long)t.tv_sec * 1000ULL + (unsigned long long)t.tv_nsec / 1000000ULL;
}

/* `ticks` x 20 ms of camera and microphone: Opus audio every tick, H.264 video every other
 * tick (25 fps), a key frame every 10 video frames, sent in three fragments. */
static void send_av(int ticks, unsigned seed) {
    int tick, f;
    for (tick = 0; tick < ticks; tick++) {
        media_info_t audio = {0, 1, 3, 16, 20, 1, 48000, 2, 64, 0};
        audio.m_u64TimeStamp = now_ms();
        SEND_FRAME(&audio, 160, seed + (unsigned)tick, CONFERENCE_MEDIA_TYPE_AUDIO);
        if (tick % 2 == 0) {
            media_info_t video = {1, 3, 3, 0, 25, 0, 1280, 720, 2000, 0};
            int frame = tick / 2;
            video.m_u64TimeStamp = now_ms();
            if (frame % 10 == 0) {
                static const unsigned short flags[3] = {1, 0, 2};
                video.m_u16KeyFrame = 1;
                for (f = 0; f < 3; f++) {
                    video.m_u16FrameSeq = flags[f];
                    SEND_FRAME(&video, 10000, seed + (unsigned)(100 + frame * 3 + f),
                               CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR);
                }
            } else {
                SEND_FRAME(&video, 4000, seed + (unsigned)(100 + frame * 3),
                           CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR);
            }
        }
        sleep_ms(20);
    }
}

/* Media frames sent by send_av(ticks): (audio, video messages). */
static int av_audio(int ticks) { return ticks; }
static int av_video(int ticks) {
    int frames = (ticks + 1) / 2;
    return frames + 2 * ((frames + 9) / 10); /* key frames are three messages */
}

/* Waits (bounded) until `n` frames of (user, type) arrived. */
static void wait_frames(int user, int type, int n) {
    int waited = 0;
    while (h_frames_received(user, type) < n) {
        if (waited >= h_timeout_ms())
            FAIL("only %d of %d %s frames from #%d arrived", h_frames_received(user, type), n,
                 h_media_name(type), user);
        sleep_ms(10);
        waited += 10;
    }
}

static int match_presence(const rec_t *r, const void *ctx) {
    (void)ctx;
    return r->kind == REC_STATE && (r->state == CONFERENCE_STATE_USER_ENTER ||
                                    r->state == CONFERENCE_STATE_USER_CHAIR ||
                                    r->state == CONFERENCE_STATE_USER_BCAST ||
                                    r->state == CONFERENCE_STATE_USER_TALK ||
                                    r->state == CONFERENCE_STATE_USER_AUX);
}

/* Waits until `username` is in the room and `ok` holds for its cached record. */
static int wait_user(const char *username, int (*ok)(const user_info_t *)) {
    for (;;) {
        int id = h_find_user(username);
        user_info_t u;
        rec_t *r;
        if (id > 0 && get_user_info(id, &u) == retCode_Success && (ok == NULL || ok(&u)))
            return id;
        r = h_wait_for(match_presence, NULL, h_timeout_ms());
        if (r == NULL) FAIL("timed out waiting for %s", username);
        h_free(r);
    }
}

static int is_master(const user_info_t *u) { return u->m_u8IsMaster == 1; }
static int is_broadcast(const user_info_t *u) {
    return u->m_u8BcastVideo == 1 && u->m_u8BcastAudio == 1;
}
static int is_talking(const user_info_t *u) { return u->m_u8AudioState == 2; }
static int has_aux(const user_info_t *u) { return u->m_u8GainAux[0] == 1; }
static int has_no_aux(const user_info_t *u) { return u->m_u8GainAux[0] == 0; }

static void chat(int dst, int color, const char *text) {
    conference_chat_info_t c;
    memset(&c, 0, sizeof c);
    c.m_i32DstID = dst;
    c.m_i32Color = color;
    snprintf(c.m_strContent, sizeof c.m_strContent, "%s", text);
    CHECK_RC(send_chat(&c), retCode_Success);
}

static void wait_chat(int src, const char *text) { h_free(h_expect_chat_cb(src, text)); }

static int demo_join(const args_t *args, const char *user) {
    join_t join;
    memset(&join, 0, sizeof join);
    join.user = user;
    join.password = user; /* the built-in demo: password = user name */
    join.users_in_room_before = -1;
    {
        int me = lesson_join(args, &join);
        h_log_roster("class list after joining");
        return me;
    }
}

/* Leaves the room, prints the media counters, disconnects. */
static void finish(int me) {
    h_log_roster("class list when leaving");
    CHECK_RC(logout_conference_room(), retCode_Success);
    h_expect_room_exit(retCode_Success, me);
    h_log_roster("class list after ROOM_EXIT");
    h_print_stream_counts();
    CHECK_RC(disconnect_MCU(), retCode_Success);
    CHECK_RC(uninit(), retCode_Success);
}

void demo_teacher(const args_t *args) {
    int me, c1, c2, n = 0;
    me = demo_join(args, TEACHER);
    CHECK_RC(apply_for_master(1), retCode_Success);
    h_free(h_expect_state(CONFERENCE_STATE_USER_CHAIR, me));
    c1 = wait_user(CLASS1, NULL);
    c2 = wait_user(CLASS2, NULL);
    CHECK_RC(get_user_count(&n), retCode_Success);
    h_log("-- everyone is here (%d users): the lesson starts", n);
    h_log_roster("class list");

    chat(0, 0x0000FF, "Good morning, class! Today: adding fractions.");
    CHECK_RC(bcast_user_video(me, 1), retCode_Success);
    CHECK_RC(bcast_user_audio(me, 1), retCode_Success);
    h_await(c1, "watching");
    h_await(c2, "watching");
    h_log("-- lecturing: 1 s of video and audio to the class");
    send_av(LECTURE_TICKS, 1000);
    h_signal(0, "lecture-done");

    h_free(h_expect_state(CONFERENCE_STATE_USER_REQTALK, c1));
    CHECK_RC(ctrl_user_talk_apply(c1, 1), retCode_Success);
    CHECK_RC(set_interact(c1), retCode_Success);
    CHECK_RC(bcast_user_video(c1, 1), retCode_Success);
    CHECK_RC(bcast_user_audio(c1, 1), retCode_Success);
    CHECK_RC(check_user_video(c1, 1), retCode_Success);
    CHECK_RC(check_user_audio(c1, 1), retCode_Success);
    h_await(c2, "watching-class1");
    h_signal(c1, "answer");
    wait_chat(c1, "Is it 3/4? 1/2 is 2/4, plus 1/4.");
    wait_frames(c1, CONFERENCE_MEDIA_TYPE_AUDIO, av_audio(ANSWER_TICKS));
    wait_frames(c1, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, av_video(ANSWER_TICKS));
    CHECK_RC(ctrl_user_talk_apply(c1, 0), retCode_Success);
    chat(0, 0x0000FF, "Correct! Well done, class1.");

    wait_chat(c2, "May I share my worksheet?");
    chat(c2, 0x0000FF, "Yes, go ahead.");
    wait_user(CLASS2, has_aux);
    CHECK_RC(recv_stream(c2, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1), retCode_Success);
    h_await(c1, "aux-watching");
    h_signal(c2, "show");
    wait_frames(c2, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, WORKSHEET_PAGES);
    chat(0, 0x0000FF, "Thanks, class2.");
    wait_user(CLASS2, has_no_aux);

    CHECK_RC(send_transparent_data(0, "whiteboard: page 3", 18, 1), retCode_Success);
    chat(0, 0x0000FF, "Class dismissed. See you tomorrow!");
    h_free(h_expect_state(CONFERENCE_STATE_USER_LEAVE, c1));
    h_free(h_expect_state(CONFERENCE_STATE_USER_LEAVE, c2));
    CHECK_RC(apply_for_master(0), retCode_Success);
    h_free(h_expect_state(CONFERENCE_STATE_USER_CHAIR, me));
    finish(me);
}

void demo_listener(const args_t *args, const char *user) {
    int first = strcmp(user, CLASS1) == 0;
    int me, teacher, other;
    me = demo_join(args, user);
    teacher = wait_user(TEACHER, is_master);
    wait_user(TEACHER, is_broadcast);
    CHECK_RC(recv_stream(teacher, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
    CHECK_RC(recv_stream(teacher, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);
    h_signal(teacher, "watching");
    h_await(teacher, "lecture-done");
    wait_frames(teacher, CONFERENCE_MEDIA_TYPE_AUDIO, av_audio(LECTURE_TICKS));
    wait_frames(teacher, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, av_video(LECTURE_TICKS));

    if (first) {
        other = wait_user(CLASS2, NULL);
        CHECK_RC(apply_for_talk(1), retCode_Success);
        wait_user(user, is_talking);
        h_await(teacher, "answer");
        chat(0, 0x008000, "Is it 3/4? 1/2 is 2/4, plus 1/4.");
        send_av(ANSWER_TICKS, 2000);
        wait_chat(teacher, "Correct! Well done, class1.");
        wait_user(CLASS2, has_aux);
        CHECK_RC(recv_stream(other, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 1), retCode_Success);
        h_signal(teacher, "aux-watching");
        wait_frames(other, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, WORKSHEET_PAGES);
    } else {
        int page;
        other = wait_user(CLASS1, is_broadcast);
        CHECK_RC(recv_stream(other, CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 1), retCode_Success);
        CHECK_RC(recv_stream(other, CONFERENCE_MEDIA_TYPE_AUDIO, 1), retCode_Success);
        h_signal(teacher, "watching-class1");
        wait_frames(other, CONFERENCE_MEDIA_TYPE_AUDIO, av_audio(ANSWER_TICKS));
        wait_chat(teacher, "Correct! Well done, class1.");
        chat(teacher, 0x800080, "May I share my worksheet?");
        wait_chat(teacher, "Yes, go ahead.");
        CHECK_RC(apply_for_aux(1), retCode_Success);
        h_await(teacher, "show");
        for (page = 0; page < WORKSHEET_PAGES; page++) {
            media_info_t info = {2, 3, 3, 1, 5, 0, 1920, 1080, 500, 0};
            info.m_u64TimeStamp = now_ms();
            SEND_FRAME(&info, 20000, 3000u + (unsigned)page, CONFERENCE_MEDIA_TYPE_VIDEO_MINOR);
            sleep_ms(50);
        }
        wait_chat(teacher, "Thanks, class2.");
        CHECK_RC(apply_for_aux(0), retCode_Success);
    }
    wait_chat(teacher, "Class dismissed. See you tomorrow!");
    finish(me);
}

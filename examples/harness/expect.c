/*
 * expect.c: waiting for the events of the lesson: predicates over queued records, the checks
 * of common events (user events, chat, transparent data, LOOKED, invitations) and the
 * barriers through transparent data.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct state_match {
    int state;
    int user_id;
};

static int match_state(const rec_t *r, const void *ctx) {
    const struct state_match *m = ctx;
    if (r->kind != REC_STATE || r->state != m->state) return 0;
    if (m->user_id == -1) return !r->has_user;
    if (m->user_id == 0) return 1;
    return r->has_user && atoi(r->user.m_strID) == m->user_id;
}

rec_t *h_expect_state(int state, int user_id) {
    struct state_match m;
    char what[128];
    m.state = state;
    m.user_id = user_id;
    snprintf(what, sizeof what, "%s about user #%d", h_state_name(state), user_id);
    return h_wait(match_state, &m, what);
}

int h_count_state(int state, int user_id) {
    struct state_match m;
    m.state = state;
    m.user_id = user_id;
    return h_count(match_state, &m);
}

struct looked_match {
    int viewer;
    int media_type;
    int ctrl;
};

static int match_looked(const rec_t *r, const void *ctx) {
    const struct looked_match *m = ctx;
    return r->kind == REC_STATE && r->state == CONFERENCE_STATE_LOOKED && r->has_append &&
           (m->viewer == 0 || r->looked.m_i32ViewerID == m->viewer) &&
           (int)r->looked.m_eMediaType == m->media_type && r->looked.m_i32Ctrl == m->ctrl;
}

rec_t *h_expect_looked(int viewer, int media_type, int ctrl) {
    struct looked_match m;
    char what[128];
    rec_t *r;
    m.viewer = viewer;
    m.media_type = media_type;
    m.ctrl = ctrl;
    snprintf(what, sizeof what, "LOOKED by #%d at my %s, ctrl %d", viewer,
             h_media_name(media_type), ctrl);
    r = h_wait(match_looked, &m, what);
    CHECK_INT(r->result, retCode_Success);
    CHECK(r->has_user);
    CHECK_RC(r->cb_rc, retCode_Success);
    return r;
}

struct invite_match {
    int state;
    int user_id;
    int type;
};

static int match_invite(const rec_t *r, const void *ctx) {
    const struct invite_match *m = ctx;
    return r->kind == REC_STATE && r->state == m->state && r->has_user &&
           atoi(r->user.m_strID) == m->user_id && r->has_append && r->append_int == m->type;
}

rec_t *h_expect_invite(int state, int user_id, int invite_type) {
    struct invite_match m;
    char what[128];
    rec_t *r;
    m.state = state;
    m.user_id = user_id;
    m.type = invite_type;
    snprintf(what, sizeof what, "%s from #%d, type %d", h_state_name(state), user_id,
             invite_type);
    r = h_wait(match_invite, &m, what);
    CHECK_INT(r->result, retCode_Success);
    return r;
}

struct chat_match {
    int src;
    const char *content;
};

static int match_chat_cb(const rec_t *r, const void *ctx) {
    const struct chat_match *m = ctx;
    return r->kind == REC_CHAT && r->has_append && r->chat.m_i32SrcID == m->src &&
           strcmp(r->chat.m_strContent, m->content) == 0;
}

rec_t *h_expect_chat_cb(int src, const char *content) {
    struct chat_match m;
    char what[256];
    m.src = src;
    m.content = content;
    snprintf(what, sizeof what, "on_conference_chat from #%d \"%s\"", src, content);
    return h_wait(match_chat_cb, &m, what);
}

static int match_transparent_text(const rec_t *r, const void *ctx) {
    const struct chat_match *m = ctx;
    size_t len = strlen(m->content);
    return r->kind == REC_STATE && r->state == CONFERENCE_STATE_TRANSPARENT && r->has_append &&
           r->td.m_i32SrcID == m->src && r->data != NULL && r->data_len == (int)len &&
           memcmp(r->data, m->content, len) == 0;
}

rec_t *h_expect_transparent_text(int src, const char *text) {
    struct chat_match m;
    char what[256];
    m.src = src;
    m.content = text;
    snprintf(what, sizeof what, "TRANSPARENT from #%d \"%s\"", src, text);
    return h_wait(match_transparent_text, &m, what);
}

struct stream_match {
    int user_id;
    int media_type;
};

static int match_stream(const rec_t *r, const void *ctx) {
    const struct stream_match *m = ctx;
    return r->kind == REC_STREAM && r->stream_user == m->user_id &&
           r->stream_type == m->media_type;
}

rec_t *h_expect_stream(int user_id, int media_type) {
    struct stream_match m;
    char what[128];
    m.user_id = user_id;
    m.media_type = media_type;
    snprintf(what, sizeof what, "a %s frame from #%d", h_media_name(media_type), user_id);
    return h_wait(match_stream, &m, what);
}

void h_signal(int dst, const char *tag) {
    char text[128];
    int n = snprintf(text, sizeof text, "sync:%s", tag);
    CHECK_RC(send_transparent_data(dst, text, n, 1), retCode_Success);
}

void h_await(int src, const char *tag) {
    char text[128];
    rec_t *r;
    snprintf(text, sizeof text, "sync:%s", tag);
    r = h_expect_transparent_text(src, text);
    CHECK_INT(r->result, retCode_Success);
    CHECK_INT(r->td.m_i32DataType, 1);
    CHECK(r->td_nul);
    CHECK(r->has_user);
    CHECK_INT(h_uid(&r->user), src);
    h_free(r);
}

unsigned long h_user_event(int state, const user_model_t *m, const char *file, int line) {
    rec_t *r = h_expect_state(state, m->id);
    unsigned long seq = r->seq;
    if (r->result != retCode_Success)
        h_fail(file, line, "%s: result %s", h_state_name(state), h_rc_name(r->result));
    if (r->cb_rc != retCode_Success)
        h_fail(file, line, "%s: get_own_user_info in the callback: %s", h_state_name(state),
               h_rc_name(r->cb_rc));
    if (r->has_append) h_fail(file, line, "%s: append_data is not NULL", h_state_name(state));
    h_check_user(&r->user, m, h_state_name(state), file, line);
    h_free(r);
    return seq;
}

static int match_chat_state(const rec_t *r, const void *ctx) {
    const struct chat_match *m = ctx;
    return r->kind == REC_STATE && r->state == CONFERENCE_STATE_USER_CHAT && r->has_append &&
           r->chat.m_i32SrcID == m->src && strcmp(r->chat.m_strContent, m->content) == 0;
}

void h_expect_chat(int dst, int color, const char *content, const user_model_t *sender,
                   const char *file, int line) {
    struct chat_match m;
    char what[256];
    rec_t *st, *cb;
    m.src = sender->id;
    m.content = content;
    snprintf(what, sizeof what, "USER_CHAT from #%d \"%s\"", sender->id, content);
    st = h_wait(match_chat_state, &m, what);
    cb = h_expect_chat_cb(sender->id, content);
    if (st->result != retCode_Success || !st->has_user || st->cb_rc != retCode_Success)
        h_fail(file, line, "USER_CHAT: result %s, user %s", h_rc_name(st->result),
               st->has_user ? "set" : "NULL");
    h_check_user(&st->user, sender, "USER_CHAT sender", file, line);
    if (st->chat.m_i32DstID != dst || st->chat.m_i32Color != color)
        h_fail(file, line, "USER_CHAT: dst %d color 0x%x, expected dst %d color 0x%x",
               st->chat.m_i32DstID, (unsigned)st->chat.m_i32Color, dst, (unsigned)color);
    if (cb->chat.m_i32DstID != dst || cb->chat.m_i32Color != color)
        h_fail(file, line, "on_conference_chat: dst %d color 0x%x, expected dst %d color 0x%x",
               cb->chat.m_i32DstID, (unsigned)cb->chat.m_i32Color, dst, (unsigned)color);
    /* One event, two callbacks: on_conference_state first, then on_conference_chat. */
    if (cb->seq != st->seq + 1)
        h_fail(file, line, "on_conference_chat (#%lu) does not follow USER_CHAT (#%lu)", cb->seq,
               st->seq);
    h_free(st);
    h_free(cb);
}

struct bytes_match {
    int src;
    const unsigned char *data;
    int len;
};

static int match_transparent(const rec_t *r, const void *ctx) {
    const struct bytes_match *m = ctx;
    return r->kind == REC_STATE && r->state == CONFERENCE_STATE_TRANSPARENT && r->has_append &&
           r->td.m_i32SrcID == m->src && r->data != NULL && r->data_len == m->len &&
           (m->len == 0 || memcmp(r->data, m->data, (size_t)m->len) == 0);
}

void h_expect_transparent(int type, const void *data, int len, const user_model_t *sender,
                          const char *file, int line) {
    struct bytes_match m;
    char what[128];
    rec_t *r;
    m.src = sender->id;
    m.data = data;
    m.len = len;
    snprintf(what, sizeof what, "TRANSPARENT from #%d with %d exact bytes", sender->id, len);
    r = h_wait(match_transparent, &m, what);
    if (r->result != retCode_Success || !r->has_user || r->cb_rc != retCode_Success)
        h_fail(file, line, "TRANSPARENT: result %s, user %s", h_rc_name(r->result),
               r->has_user ? "set" : "NULL");
    h_check_user(&r->user, sender, "TRANSPARENT sender", file, line);
    if (r->td.m_i32DataType != type || r->td.m_i32DataLen != len)
        h_fail(file, line, "TRANSPARENT: type %d len %d, expected type %d len %d",
               r->td.m_i32DataType, r->td.m_i32DataLen, type, len);
    if (!r->td_nul) h_fail(file, line, "TRANSPARENT: no NUL byte after the data");
    h_free(r);
}

int h_expect_roster(int own_id) {
    int n = 0;
    unsigned long last = 0;
    for (;;) {
        rec_t *r = h_expect_state(CONFERENCE_STATE_USER_ENTER, 0);
        int id = h_uid(&r->user);
        CHECK_INT(r->result, retCode_Success);
        CHECK(!r->has_append);
        /* Each one right after the previous: nothing of the room comes in between. */
        if (last != 0) CHECK_INT(r->seq, last + 1);
        last = r->seq;
        h_free(r);
        n++;
        if (id == own_id) return n;
    }
}

unsigned long h_expect_room_exit(int reason, int own_id) {
    rec_t *exit = h_expect_state(CONFERENCE_STATE_ROOM_EXIT, own_id);
    unsigned long seq = exit->seq, exit_seq = exit->seq;
    int before[H_ROSTER_MAX];
    int n = exit->roster_before_n, i, own_seen = 0;
    CHECK_RC(exit->result, reason);
    memcpy(before, exit->roster_before, sizeof before);
    h_free(exit);
    /* The others in join order, then the own user. */
    for (i = 0; i <= n; i++) {
        int id;
        rec_t *r;
        if (i == n) {
            if (!own_seen) FAIL("the own user #%d was not in the list at ROOM_EXIT", own_id);
            id = own_id;
        } else if (before[i] == own_id) {
            own_seen = 1;
            continue;
        } else {
            id = before[i];
        }
        r = h_expect_state(CONFERENCE_STATE_USER_LEAVE, id);
        CHECK_INT(r->result, retCode_Success);
        CHECK_INT(r->seq, seq + 1);
        seq = r->seq;
        h_free(r);
    }
    return exit_seq;
}

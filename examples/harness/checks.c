/*
 * checks.c: users (ids, probing, the model comparison) and media frames (payload pattern,
 * sending, byte-exact comparison).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "text.h"

/* ---------------------------------------------------------------------------------------- */
/* users                                                                                     */

static int nul_inside(const char *s, size_t n) { return memchr(s, 0, n) != NULL; }

int h_uid(const user_info_t *u) {
    char *end = NULL;
    long v;
    if (!nul_inside(u->m_strID, sizeof u->m_strID)) FAIL("m_strID is not NUL-terminated");
    v = strtol(u->m_strID, &end, 10);
    if (end == u->m_strID || *end != 0 || v <= 0 || v > 0x7fffffffL)
        FAIL("m_strID \"%s\" is not a positive decimal id", u->m_strID);
    return (int)v;
}

/* The id of `username` in the room, 0 when absent: walks the list by position
 * (get_user_info(position), 0 <= position < count, as the vendor header allows). */
int h_find_user(const char *username) {
    int count = 0, position;
    if ((int)get_user_count(&count) != retCode_Success) return 0;
    for (position = 0; position < count; position++) {
        user_info_t u, by_id;
        int id;
        CHECK_RC(get_user_info(position, &u), retCode_Success);
        h_remember_name(&u);
        if (strcmp(u.m_strUserName, username) != 0) continue;
        id = h_uid(&u);
        CHECK_RC(get_user_info(id, &by_id), retCode_Success);
        CHECK_INT(h_uid(&by_id), id);
        return id;
    }
    return 0;
}

#define CHECK_FIELD(name, actual, expected)                                                \
    do {                                                                                   \
        if ((expected) >= 0 && (int)(actual) != (expected))                                \
            h_fail(file, line, "%s: %s is %d, expected %d (user %s)", expr, name,          \
                   (int)(actual), (int)(expected), u->m_strUserName);                      \
    } while (0)

void h_check_user(const user_info_t *u, const user_model_t *m, const char *expr,
                  const char *file, int line) {
    if (!nul_inside(u->m_strUserName, sizeof u->m_strUserName) ||
        !nul_inside(u->m_strNickName, sizeof u->m_strNickName))
        h_fail(file, line, "%s: a name is not NUL-terminated", expr);
    if (m->id > 0 && h_uid(u) != m->id)
        h_fail(file, line, "%s: user id %s, expected %d", expr, u->m_strID, m->id);
    if (m->username != NULL && strcmp(u->m_strUserName, m->username) != 0)
        h_fail(file, line, "%s: user name \"%s\", expected \"%s\"", expr, u->m_strUserName,
               m->username);
    if (m->nickname != NULL && strcmp(u->m_strNickName, m->nickname) != 0)
        h_fail(file, line, "%s: nickname \"%s\", expected \"%s\"", expr, u->m_strNickName,
               m->nickname);
    CHECK_FIELD("m_u8IsMaster", u->m_u8IsMaster, m->master);
    CHECK_FIELD("m_u8IsChairMan", u->m_u8IsChairMan, m->chair);
    CHECK_FIELD("m_u8BcastVideo", u->m_u8BcastVideo, m->bcast_video);
    CHECK_FIELD("m_u8BcastAudio", u->m_u8BcastAudio, m->bcast_audio);
    CHECK_FIELD("m_u8GainAux[0]", u->m_u8GainAux[0], m->aux[0]);
    CHECK_FIELD("m_u8GainAux[1]", u->m_u8GainAux[1], m->aux[1]);
    CHECK_FIELD("m_u8AuthVideo", u->m_u8AuthVideo, m->auth_video);
    CHECK_FIELD("m_u8AuthAudio", u->m_u8AuthAudio, m->auth_audio);
    CHECK_FIELD("m_u8AudioState", u->m_u8AudioState, m->audio_state);
    if (u->m_u8SignalStatus > 5)
        h_fail(file, line, "%s: m_u8SignalStatus %d out of 0..5", expr, u->m_u8SignalStatus);
}

/* ---------------------------------------------------------------------------------------- */
/* media                                                                                     */

void h_fill(unsigned char *buf, int len, unsigned seed) {
    int i;
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char)((unsigned)i * 7u + seed * 131u + ((unsigned)i >> 11));
}

void h_send_frame(const media_info_t *info, int len, unsigned seed, int media_type,
                  const char *file, int line) {
    unsigned char *buf = malloc((size_t)len);
    int rc;
    if (buf == NULL) h_fail(file, line, "out of memory");
    h_fill(buf, len, seed);
    rc = (int)send_stream(info, (const char *)buf, len, (conference_media_type_e)media_type);
    free(buf);
    if (rc != retCode_Success)
        h_fail(file, line, "send_stream(%s, %d bytes) returned %s (%d)",
               h_media_name(media_type), len, h_rc_name(rc), rc);
}

#define CHECK_MEDIA_FIELD(f)                                                               \
    do {                                                                                   \
        if ((long long)r->media.f != (long long)sent->f)                                   \
            h_fail(file, line, "frame seed %u: %s is %lld, sent %lld", seed, #f,           \
                   (long long)r->media.f, (long long)sent->f);                             \
    } while (0)

void h_check_frame(const rec_t *r, int sender, int media_type, const media_info_t *sent,
                   int len, unsigned seed, const char *file, int line) {
    unsigned char *expected;
    int i;
    if (r->kind != REC_STREAM) h_fail(file, line, "not a media record");
    if (r->stream_user != sender)
        h_fail(file, line, "frame seed %u: user_id %d, expected %d", seed, r->stream_user, sender);
    if (r->stream_type != media_type)
        h_fail(file, line, "frame seed %u: media_type %d, expected %d", seed, r->stream_type,
               media_type);
    CHECK_MEDIA_FIELD(m_u16MediaType);
    CHECK_MEDIA_FIELD(m_u16CodecID);
    CHECK_MEDIA_FIELD(m_u16FrameSeq);
    CHECK_MEDIA_FIELD(m_u16KeyFrame);
    CHECK_MEDIA_FIELD(m_u16Framerate);
    CHECK_MEDIA_FIELD(m_u16StreamID);
    CHECK_MEDIA_FIELD(m_u32W_S);
    CHECK_MEDIA_FIELD(m_u32H_C);
    CHECK_MEDIA_FIELD(m_u32Bitrate);
    CHECK_MEDIA_FIELD(m_u64TimeStamp);
    if (r->data_len != len)
        h_fail(file, line, "frame seed %u: %d bytes, sent %d", seed, r->data_len, len);
    expected = malloc((size_t)len);
    if (expected == NULL) h_fail(file, line, "out of memory");
    h_fill(expected, len, seed);
    for (i = 0; i < len; i++) {
        if (r->data[i] != expected[i]) {
            int got = r->data[i], want = expected[i];
            free(expected);
            h_fail(file, line, "frame seed %u: byte %d is 0x%02x, sent 0x%02x", seed, i, got,
                   want);
        }
    }
    free(expected);
}

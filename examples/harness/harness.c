/*
 * harness.c: the event queue filled by the library's callbacks, bounded waits, the log and
 * the failure report. See harness.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "text.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STREAMS 32
#define MAX_COPIED_BYTES (65536 + 1)

struct stream_count {
    int user_id;
    int media_type;
    int frames;
    long long bytes;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static rec_t *g_head;
static rec_t *g_tail;
static unsigned long g_seq;
static struct stream_count g_streams[MAX_STREAMS];
static int g_nstreams;

/* The mixed audio track (user CONFERENCE_MIXER_USER_ID): 50 frames a second for as long as
 * the endpoint is in a room, so it is checked and counted in the callback, never queued. */
static audio_mixer_props_t g_mixer;
static int g_mixed_frames, g_mixed_loud, g_mixed_bad;
static unsigned long g_mixed_last_seq;
static unsigned long long g_mixed_last_ts;
static char g_mixed_problem[256];
static volatile int g_uninit_on; /* set before the events that may match it are caused */

static const char *g_name = "endpoint";
static char g_step[256] = "start";
static int g_timeline;
static int g_verbose_media;
static int g_timeout_ms = 10000;
static struct timespec g_t0;

/* ---------------------------------------------------------------------------------------- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - g_t0.tv_sec) + (double)(t.tv_nsec - g_t0.tv_nsec) / 1e9;
}

static FILE *log_stream(void) { return g_timeline ? stdout : stderr; }

void h_log(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char when[32];
    snprintf(when, sizeof when, "+%.3fs", now_s());
    fprintf(log_stream(), "[%-7s %8s] %s\n", g_name, when, line);
    fflush(log_stream());
}

int h_timeout_ms(void) { return g_timeout_ms; }

void h_step(const char *step) {
    snprintf(g_step, sizeof g_step, "%s", step);
    h_log("== %s", step);
}

void h_start(const char *endpoint, int timeline) {
    pthread_condattr_t attr;
    const char *env;
    g_name = endpoint;
    g_timeline = timeline;
    clock_gettime(CLOCK_MONOTONIC, &g_t0);
    env = getenv("HARNESS_TIMEOUT_MS");
    if (env != NULL && atoi(env) > 0) g_timeout_ms = atoi(env);
    env = getenv("HARNESS_VERBOSE_MEDIA");
    g_verbose_media = env != NULL && env[0] == '1';
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &attr);
    pthread_condattr_destroy(&attr);
    /* A pipe to the test runner: line-buffer so interleaved endpoints stay readable. */
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* the callbacks                                                                             */

static rec_t *new_rec(rec_kind_e kind) {
    rec_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "[%s] out of memory in a callback\n", g_name);
        abort();
    }
    r->kind = kind;
    r->t = now_s();
    r->uninit_rc = -1;
    return r;
}

static unsigned char *copy_bytes(const char *data, int len) {
    unsigned char *copy;
    if (len < 0 || len > 8 * 1024 * 1024) return NULL;
    copy = malloc((size_t)len + 1);
    if (copy == NULL) {
        fprintf(stderr, "[%s] out of memory in a callback\n", g_name);
        abort();
    }
    if (len > 0 && data != NULL) memcpy(copy, data, (size_t)len);
    copy[len] = 0;
    return copy;
}


/* Logs and queues a record. The line is printed before the record becomes visible, so what
 * the main thread logs after taking it comes later in the log; and the main thread may free
 * the record as soon as it is queued. */
static void push(rec_t *r) {
    char text[1024];
    int first = 0, log_it;
    if (r->has_user) h_remember_name(&r->user);
    pthread_mutex_lock(&g_mu);
    r->seq = ++g_seq;
    if (r->kind == REC_STREAM) {
        int i;
        for (i = 0; i < g_nstreams; i++)
            if (g_streams[i].user_id == r->stream_user &&
                g_streams[i].media_type == r->stream_type)
                break;
        if (i == g_nstreams && g_nstreams < MAX_STREAMS) {
            g_streams[i].user_id = r->stream_user;
            g_streams[i].media_type = r->stream_type;
            g_nstreams++;
        }
        if (i < g_nstreams) {
            first = g_streams[i].frames == 0;
            g_streams[i].frames++;
            g_streams[i].bytes += r->data_len;
        }
    }
    if (g_timeline) {
        log_it = r->kind != REC_STREAM || first;
        if (log_it) h_friendly(r, text, sizeof text);
    } else {
        log_it = r->kind != REC_STREAM || g_verbose_media;
        if (log_it) h_describe(r, text, sizeof text);
    }
    pthread_mutex_unlock(&g_mu);
    if (log_it) h_log("%s", text);
    pthread_mutex_lock(&g_mu);
    if (g_tail != NULL)
        g_tail->next = r;
    else
        g_head = r;
    g_tail = r;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void on_chat(const conference_chat_info_t *pchat_info) {
    rec_t *r = new_rec(REC_CHAT);
    h_roster_on_other("on_conference_chat");
    r->has_append = pchat_info != NULL;
    if (pchat_info != NULL) r->chat = *pchat_info;
    push(r);
}

static void on_state(result_code_e result, conference_state_e state, const user_info_t *puser,
                     void *append) {
    rec_t *r = new_rec(REC_STATE);
    user_info_t self;
    r->result = (int)result;
    r->state = (int)state;
    r->has_user = puser != NULL;
    if (puser != NULL) r->user = *puser;
    r->has_append = append != NULL;
    if (append != NULL) {
        switch ((int)state) {
        case CONFERENCE_STATE_LOGIN_MCU:
        case CONFERENCE_STATE_USER_VPOS:
            r->append_int = *(const int *)append;
            break;
        case CONFERENCE_STATE_RECV_JOIN:
        case CONFERENCE_STATE_RECV_INVITE:
            r->append_int = (int)*(const invite_type_e *)append;
            break;
        case CONFERENCE_STATE_LOGIN_ROOM:
            r->room = *(const room_info_t *)append;
            break;
        case CONFERENCE_STATE_LOOKED:
            r->looked = *(const looked_info_t *)append;
            break;
        case CONFERENCE_STATE_USER_CHAT:
            r->chat = *(const conference_chat_info_t *)append;
            break;
        case CONFERENCE_STATE_USER_AUX:
            r->aux = *(const aux_stream_state_info_t *)append;
            break;
        case CONFERENCE_STATE_TRANSPARENT: {
            const transparent_data_info_t *td = append;
            r->td = *td;
            if (td->m_pData != NULL && td->m_i32DataLen >= 0 &&
                td->m_i32DataLen < MAX_COPIED_BYTES) {
                r->data = copy_bytes(td->m_pData, td->m_i32DataLen);
                r->data_len = td->m_i32DataLen;
                r->td_nul = td->m_pData[td->m_i32DataLen] == 0;
            }
            r->td.m_pData = (const char *)r->data;
            break;
        }
        default:
            break;
        }
    }
    /* Calling the API from inside a callback must work (and not deadlock). */
    r->cb_rc = (int)get_own_user_info(&self);
    h_roster_on_state((int)state, puser, r);
    if (g_uninit_on != 0 && g_uninit_on == (int)state) {
        g_uninit_on = 0;
        r->uninit_rc = (int)uninit();
    }
    push(r);
}

/* Checks one mixed frame against SPEC §7 and docs/DECISIONS.md (Session: mixer glue). */
static void on_mixed(const media_info_t *info, const char *data, int len, int media_type) {
    int expected_len = g_mixer.m_i32Sample / 50 * g_mixer.m_i32Channel * g_mixer.m_i32SampleBit / 8;
    const char *problem = NULL;
    int i, loud = 0;
    if (info == NULL || data == NULL)
        problem = "NULL header or data";
    else if (media_type != CONFERENCE_MEDIA_TYPE_AUDIO || len != expected_len)
        problem = "media type or length";
    else if (info->m_u16MediaType != 0 || info->m_u16CodecID != 0 || info->m_u16FrameSeq != 3 ||
             info->m_u16KeyFrame != g_mixer.m_i32SampleBit || info->m_u16Framerate != 20 ||
             info->m_u32W_S != g_mixer.m_i32Sample || info->m_u32H_C != g_mixer.m_i32Channel)
        problem = "media_info_t fields";
    for (i = 0; problem == NULL && i < len; i++) loud |= data[i] != 0;
    pthread_mutex_lock(&g_mu);
    if (problem == NULL && g_mixed_frames > 0 && info->m_u64TimeStamp != g_mixed_last_ts + 20)
        problem = "time stamps not continuous (+20 ms)";
    g_mixed_frames++;
    g_mixed_loud += loud;
    g_mixed_last_seq = ++g_seq;
    if (info != NULL) g_mixed_last_ts = info->m_u64TimeStamp;
    if (problem != NULL && g_mixed_bad++ == 0)
        snprintf(g_mixed_problem, sizeof g_mixed_problem,
                 "mixed frame %d: %s (type %d, %d bytes, codec %u seq %u key %u rate %u "
                 "w %d h %d ts %llu)",
                 g_mixed_frames, problem, media_type, len, info ? info->m_u16CodecID : 0,
                 info ? info->m_u16FrameSeq : 0, info ? info->m_u16KeyFrame : 0,
                 info ? info->m_u16Framerate : 0, info ? info->m_u32W_S : 0,
                 info ? info->m_u32H_C : 0, info ? info->m_u64TimeStamp : 0ULL);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void on_stream(const media_info_t *info, const char *data, int len, int user_id,
                      conference_media_type_e media_type) {
    rec_t *r;
    h_roster_on_other("on_conference_stream_data");
    if (user_id == CONFERENCE_MIXER_USER_ID && g_mixer.m_i32Sample > 0) {
        on_mixed(info, data, len, (int)media_type);
        return;
    }
    r = new_rec(REC_STREAM);
    if (info != NULL) r->media = *info;
    r->data = copy_bytes(data, len);
    r->data_len = data != NULL ? len : -1;
    r->stream_user = user_id;
    r->stream_type = (int)media_type;
    push(r);
}

static const conference_event_handler_t HANDLERS = {on_chat, on_state, on_stream};

const conference_event_handler_t *h_handlers(void) { return &HANDLERS; }

void h_uninit_in_callback(int state) { g_uninit_on = state; }

const audio_mixer_props_t *h_mixer(int rate, int channels, int bits) {
    g_mixer.m_i32Sample = rate;
    g_mixer.m_i32Channel = channels;
    g_mixer.m_i32SampleBit = bits;
    return &g_mixer;
}

void h_mixer_stats(h_mixer_stats_t *out) {
    pthread_mutex_lock(&g_mu);
    out->frames = g_mixed_frames;
    out->loud = g_mixed_loud;
    out->bad = g_mixed_bad;
    out->last_seq = g_mixed_last_seq;
    snprintf(out->first_problem, sizeof out->first_problem, "%s", g_mixed_problem);
    pthread_mutex_unlock(&g_mu);
}

/* ---------------------------------------------------------------------------------------- */
/* the queue                                                                                 */

void h_free(rec_t *r) {
    if (r == NULL) return;
    free(r->data);
    free(r);
}

static void dump_queue_locked(FILE *out) {
    char text[1024];
    const rec_t *r;
    int n = 0;
    for (r = g_head; r != NULL; r = r->next) {
        if (r->kind == REC_STREAM && !g_verbose_media) {
            n++;
            continue;
        }
        h_describe(r, text, sizeof text);
        fprintf(out, "    queued #%lu +%.3fs %s\n", r->seq, r->t, text);
    }
    if (n > 0) fprintf(out, "    (and %d media frames)\n", n);
}

void h_release(void) {
    rec_t *r;
    pthread_mutex_lock(&g_mu);
    r = g_head;
    g_head = g_tail = NULL;
    pthread_mutex_unlock(&g_mu);
    while (r != NULL) {
        rec_t *next = r->next;
        h_free(r);
        r = next;
    }
}

void h_fail(const char *file, int line, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "[%s +%.3fs] FAIL at %s:%d (step \"%s\"): %s\n", g_name, now_s(), file,
            line, g_step, msg);
    if (pthread_mutex_trylock(&g_mu) == 0) {
        fprintf(stderr, "[%s] records still queued:\n", g_name);
        dump_queue_locked(stderr);
        pthread_mutex_unlock(&g_mu);
    }
    fflush(stderr);
    /* Not exit(): the library's threads are still running; the process just ends. */
    _exit(1);
}

static rec_t *take_locked(rec_pred pred, const void *ctx) {
    rec_t *prev = NULL;
    rec_t *r;
    for (r = g_head; r != NULL; prev = r, r = r->next) {
        if (!pred(r, ctx)) continue;
        if (prev != NULL)
            prev->next = r->next;
        else
            g_head = r->next;
        if (g_tail == r) g_tail = prev;
        r->next = NULL;
        return r;
    }
    return NULL;
}

rec_t *h_wait_for(rec_pred pred, const void *ctx, int timeout_ms) {
    struct timespec deadline;
    rec_t *r;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_mu);
    while ((r = take_locked(pred, ctx)) == NULL) {
        if (pthread_cond_timedwait(&g_cv, &g_mu, &deadline) == ETIMEDOUT) {
            r = take_locked(pred, ctx);
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
    h_roster_verify(__FILE__, __LINE__);
    return r;
}

rec_t *h_wait(rec_pred pred, const void *ctx, const char *what) {
    rec_t *r = h_wait_for(pred, ctx, g_timeout_ms);
    if (r == NULL) h_fail(__FILE__, __LINE__, "timed out (%d ms) waiting for %s", g_timeout_ms, what);
    return r;
}

int h_count(rec_pred pred, const void *ctx) {
    const rec_t *r;
    int n = 0;
    pthread_mutex_lock(&g_mu);
    for (r = g_head; r != NULL; r = r->next)
        if (pred(r, ctx)) n++;
    pthread_mutex_unlock(&g_mu);
    return n;
}

void h_expect_no_control_left(rec_pred allow, const void *ctx, const char *where) {
    const rec_t *r;
    char text[1024];
    h_roster_verify(__FILE__, __LINE__);
    pthread_mutex_lock(&g_mu);
    for (r = g_head; r != NULL; r = r->next) {
        if (r->kind == REC_STREAM) continue;
        if (allow != NULL && allow(r, ctx)) continue;
        h_describe(r, text, sizeof text);
        pthread_mutex_unlock(&g_mu);
        h_fail(__FILE__, __LINE__, "%s: unexpected record: %s", where, text);
    }
    pthread_mutex_unlock(&g_mu);
}

void h_expect_nothing_left(const char *where) {
    const rec_t *r;
    char text[1024];
    h_roster_verify(__FILE__, __LINE__);
    pthread_mutex_lock(&g_mu);
    r = g_head;
    if (r != NULL) {
        h_describe(r, text, sizeof text);
        pthread_mutex_unlock(&g_mu);
        h_fail(__FILE__, __LINE__, "%s: unexpected record: %s", where, text);
    }
    pthread_mutex_unlock(&g_mu);
}

int h_frames_received(int user_id, int media_type) {
    int i, n = 0;
    pthread_mutex_lock(&g_mu);
    for (i = 0; i < g_nstreams; i++)
        if (g_streams[i].user_id == user_id && g_streams[i].media_type == media_type)
            n = g_streams[i].frames;
    pthread_mutex_unlock(&g_mu);
    return n;
}

void h_print_stream_counts(void) {
    struct stream_count copy[MAX_STREAMS];
    int i, n;
    pthread_mutex_lock(&g_mu);
    n = g_nstreams;
    memcpy(copy, g_streams, sizeof copy);
    pthread_mutex_unlock(&g_mu);
    if (n == 0) h_log("media received: none");
    for (i = 0; i < n; i++) {
        char who[64];
        h_name_of(copy[i].user_id, who, sizeof who);
        h_log("media received from %-10s %-11s: %4d frames, %8lld bytes", who,
              h_media_name(copy[i].media_type), copy[i].frames, copy[i].bytes);
    }
}

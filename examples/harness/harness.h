/*
 * harness.h: shared code of the C endpoints (master, listener, demo), implemented by
 * harness.c (queue, callbacks, waits, log), expect.c (expected events, barriers), checks.c
 * (users and media), roster.c (the user list from events, checked at every callback) and
 * text.c (describing records).
 *
 * Uses only include/conference_sdk.h. The library's callbacks copy every event into one queue
 * (mutex + condition variable); the endpoint's main thread waits for the events it expects
 * with a predicate and a timeout, and checks every return code and payload field with the
 * CHECK macros, which print what differed and exit non-zero. Nothing can hang: every wait is
 * bounded (HARNESS_TIMEOUT_MS, default 10000, scaled for valgrind by the caller).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>

#include "conference_sdk.h"

/* Users the event-built list of roster.c holds at most. */
#define H_ROSTER_MAX 64

/* What a queued record came from. */
typedef enum { REC_STATE = 1, REC_CHAT, REC_STREAM } rec_kind_e;

/* One callback invocation, deep-copied (the library's pointers live only during the call). */
typedef struct rec {
    rec_kind_e kind;
    unsigned long seq; /* arrival order, over all kinds */
    double t;          /* seconds since h_start */
    /* on_conference_state */
    int result;
    int state;
    int has_user; /* puser_info != NULL */
    user_info_t user;
    int has_append;                 /* append_data != NULL */
    int append_int;                 /* LOGIN_MCU room count, RECV_* invite type, VPOS */
    room_info_t room;               /* LOGIN_ROOM */
    looked_info_t looked;           /* LOOKED */
    conference_chat_info_t chat;    /* USER_CHAT append, or on_conference_chat's message */
    aux_stream_state_info_t aux;    /* USER_AUX */
    transparent_data_info_t td;     /* TRANSPARENT (m_pData points to `data` below) */
    int td_nul;                     /* the byte after the transparent data was NUL */
    int cb_rc;   /* get_own_user_info called from inside the callback */
    int uninit_rc; /* uninit() called from inside this callback (h_uninit_in_callback), or -1 */
    /* on_conference_state: the event-built user list just before this event (roster.c) */
    int roster_before[H_ROSTER_MAX];
    int roster_before_n;
    /* on_conference_stream_data */
    media_info_t media;
    int stream_user;
    int stream_type;
    /* TRANSPARENT data or media payload (malloc'd copy, followed by one NUL) */
    unsigned char *data;
    int data_len;
    struct rec *next;
} rec_t;

typedef int (*rec_pred)(const rec_t *r, const void *ctx);

/* --- lifecycle of the harness itself ---------------------------------------------------- */

/* Names the endpoint (log prefix), reads HARNESS_TIMEOUT_MS, starts the clock. `timeline`
 * non-zero prints every event on stdout (demo); otherwise events are logged on stderr. */
void h_start(const char *endpoint, int timeline);
/* The callback table to give to init(). */
const conference_event_handler_t *h_handlers(void);
/* Mixer properties for init(): mixed frames (user CONFERENCE_MIXER_USER_ID) are then
 * checked against this format in the callback and counted instead of queued. */
const audio_mixer_props_t *h_mixer(int rate, int channels, int bits);
typedef struct {
    int frames;             /* mixed frames received */
    int loud;               /* of which not all zero */
    int bad;                /* of which with a wrong header, length or time stamp */
    unsigned long last_seq; /* arrival number of the last one (compare with rec_t.seq) */
    char first_problem[256];
} h_mixer_stats_t;
void h_mixer_stats(h_mixer_stats_t *out);
/* The next on_conference_state callback with `state` calls uninit() itself (its return
 * code is kept in the record's uninit_rc). */
void h_uninit_in_callback(int state);
/* Frees every queued record (call after uninit, before exiting). */
void h_release(void);
/* Names the current step of the scenario (logged, and printed with a failure). */
void h_step(const char *step);
/* Prints a failure with the queued records and exits 1 (never returns). */
void h_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
/* Logs one line ("[endpoint +1.234s] ...") on the timeline stream. */
void h_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The per-wait timeout, in ms. */
int h_timeout_ms(void);

/* --- waiting ------------------------------------------------------------------------------ */

/* Removes and returns the first queued record matching `pred`, waiting up to the timeout;
 * fails with `what` on timeout. The caller frees it with h_free. */
rec_t *h_wait(rec_pred pred, const void *ctx, const char *what);
/* Like h_wait but returns NULL on timeout after `timeout_ms`. */
rec_t *h_wait_for(rec_pred pred, const void *ctx, int timeout_ms);
/* Number of queued records matching `pred` (nothing is removed). */
int h_count(rec_pred pred, const void *ctx);
void h_free(rec_t *r);
/* Fails if any queued control record (state or chat) is left, except those `allow` accepts
 * (NULL: none). Media records are ignored. */
void h_expect_no_control_left(rec_pred allow, const void *ctx, const char *where);

/* Fails if any record at all (media included) is still queued. */
void h_expect_nothing_left(const char *where);

/* An on_conference_state event with `state`; `user_id` > 0 requires puser_info of that user,
 * 0 accepts any, -1 requires puser_info == NULL. */
rec_t *h_expect_state(int state, int user_id);
/* Same, but only counts queued ones. */
int h_count_state(int state, int user_id);
/* A LOOKED event at this endpoint (viewer 0 = any viewer); result and puser checked. */
rec_t *h_expect_looked(int viewer, int media_type, int ctrl);
/* RECV_JOIN / RECV_INVITE from `user_id` with that invite type. */
rec_t *h_expect_invite(int state, int user_id, int invite_type);
/* An on_conference_chat call with this sender and content. */
rec_t *h_expect_chat_cb(int src, const char *content);
/* A TRANSPARENT event from `src` whose data equals the string `text` (type 1). */
rec_t *h_expect_transparent_text(int src, const char *text);
/* The next media frame of (user_id, media_type). */
rec_t *h_expect_stream(int user_id, int media_type);

/* Barriers through the conference itself: a string transparent message "sync:<tag>" to
 * `dst` (0 = everyone else), and waiting for one from `src`. */
void h_signal(int dst, const char *tag);
void h_await(int src, const char *tag);

/* --- the user list from events (roster.c) --------------------------------------------------- */

/* Called by the callbacks: applies a state event to the list built from USER_ENTER /
 * USER_LEAVE (the list before it goes into `r`), checks the vendor flows' order (the roster
 * right after LOGIN_ROOM, only USER_LEAVEs after ROOM_EXIT, the own one last) and compares
 * the list with get_user_count / get_user_info. */
void h_roster_on_state(int state, const user_info_t *puser, rec_t *r);
/* Same comparison from a chat or stream callback. */
void h_roster_on_other(const char *what);
/* The current event-built list (join order); returns its length. */
int h_roster_ids(int *ids, int max);
/* Logs the event-built list ("-- <title> (n, from events): teacher#10001, ..."). */
void h_log_roster(const char *title);
/* How many callbacks compared the list with the API so far. */
long h_roster_checks(void);
/* Fails if a callback found the list and the API (or the flows) disagreeing. Every wait
 * calls it. */
void h_roster_verify(const char *file, int line);

/* After LOGIN_ROOM: the USER_ENTERs of everyone in the room, in join order, the own user
 * (`own_id`) last; returns how many. */
int h_expect_roster(int own_id);
/* Leaving the room: ROOM_EXIT about the own user with result `reason`, then USER_LEAVE for
 * every user of the event-built list, in join order, the own user last. Returns the
 * ROOM_EXIT's arrival number. */
unsigned long h_expect_room_exit(int reason, int own_id);

/* --- users, names --------------------------------------------------------------------------- */

/* The decimal id in m_strID (fails unless it is a positive decimal number). */
int h_uid(const user_info_t *u);
/* The id of the user named `username`, by probing get_user_info over ids 1..64 (the
 * document's API has no user list); 0 when absent. */
int h_find_user(const char *username);
const char *h_rc_name(int rc);
const char *h_state_name(int state);
const char *h_media_name(int media_type);

/* Expected state of a user as seen by this endpoint; -1 (or NULL) = not checked. */
typedef struct {
    int id;
    const char *username;
    const char *nickname;
    int master, chair, bcast_video, bcast_audio;
    int aux[CONFERENCE_AUX_MAX];
    int auth_video, auth_audio; /* relative to this endpoint: may it pull that stream */
    int audio_state;
} user_model_t;

/* Compares every field of `u` with `m` (strings NUL-terminated inside their arrays, the id
 * decimal, signal status 0..5). */
void h_check_user(const user_info_t *u, const user_model_t *m, const char *expr,
                  const char *file, int line);
#define CHECK_USER(u, m) h_check_user((u), (m), #u, __FILE__, __LINE__)
/* get_user_info(m->id) succeeds and matches the model. */
#define CHECK_CACHED_USER(m)                                                               \
    do {                                                                                   \
        user_info_t cu_;                                                                   \
        CHECK_RC(get_user_info((m)->id, &cu_), retCode_Success);                           \
        h_check_user(&cu_, (m), "get_user_info", __FILE__, __LINE__);                      \
    } while (0)

/* An event `state` about user m->id: result Success, no append_data, the user as modelled.
 * Returns its arrival number (to check the order of events). */
unsigned long h_user_event(int state, const user_model_t *m, const char *file, int line);
#define USER_EVENT(state, m) h_user_event((state), (m), __FILE__, __LINE__)
/* USER_CHAT (on_conference_state, sender as modelled, append_data the message) immediately
 * followed by on_conference_chat with the same message; src is filled by the MCU. */
void h_expect_chat(int dst, int color, const char *content, const user_model_t *sender,
                   const char *file, int line);
#define EXPECT_CHAT(dst, color, content, sender)                                           \
    h_expect_chat((dst), (color), (content), (sender), __FILE__, __LINE__)
/* TRANSPARENT from the sender with exactly these bytes, type, and a NUL after them. */
void h_expect_transparent(int type, const void *data, int len, const user_model_t *sender,
                          const char *file, int line);
#define EXPECT_TRANSPARENT(type, data, len, sender)                                        \
    h_expect_transparent((type), (data), (len), (sender), __FILE__, __LINE__)

/* --- media ---------------------------------------------------------------------------------- */

/* Deterministic payload bytes for (seed, i): NULs and every byte value occur. */
void h_fill(unsigned char *buf, int len, unsigned seed);
/* Sends one frame with the given header; fills its payload with h_fill(len, seed). */
void h_send_frame(const media_info_t *info, int len, unsigned seed, int media_type,
                  const char *file, int line);
/* Checks a received media record against the header and payload that were sent. */
void h_check_frame(const rec_t *r, int sender, int media_type, const media_info_t *sent,
                   int len, unsigned seed, const char *file, int line);
/* Frames received so far from (user_id, media_type), counted in the callback. */
int h_frames_received(int user_id, int media_type);
/* Prints the per-stream counters on the timeline. */
void h_print_stream_counts(void);

/* --- checks --------------------------------------------------------------------------------- */

#define FAIL(...) h_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) FAIL("check failed: %s", #cond);                                      \
    } while (0)

#define CHECK_RC(call, expected)                                                           \
    do {                                                                                   \
        int rc_ = (int)(call);                                                             \
        int ex_ = (int)(expected);                                                         \
        if (rc_ != ex_)                                                                    \
            FAIL("%s returned %s (%d), expected %s (%d)", #call, h_rc_name(rc_), rc_,      \
                 h_rc_name(ex_), ex_);                                                     \
    } while (0)

#define CHECK_INT(actual, expected)                                                        \
    do {                                                                                   \
        long long a_ = (long long)(actual);                                                \
        long long e_ = (long long)(expected);                                              \
        if (a_ != e_) FAIL("%s is %lld, expected %s = %lld", #actual, a_, #expected, e_);  \
    } while (0)

#define CHECK_STR(actual, expected)                                                        \
    do {                                                                                   \
        const char *a_ = (actual);                                                         \
        const char *e_ = (expected);                                                       \
        if (strcmp(a_, e_) != 0)                                                           \
            FAIL("%s is \"%s\", expected \"%s\"", #actual, a_, e_);                        \
    } while (0)

#define SEND_FRAME(info, len, seed, type) h_send_frame((info), (len), (seed), (type), __FILE__, __LINE__)
#define CHECK_FRAME(r, sender, type, sent, len, seed)                                      \
    h_check_frame((r), (sender), (type), (sent), (len), (seed), __FILE__, __LINE__)

#endif /* HARNESS_H */

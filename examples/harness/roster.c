/*
 * roster.c: the room's user list as the vendor's login and logout flows build it, from
 * USER_ENTER and USER_LEAVE alone, kept on the callback thread and compared with what
 * get_user_count / get_user_info report at every callback (docs/DECISIONS.md, "The user
 * list from events"). A broken rule is remembered and reported by the next wait of the main
 * thread (a callback must not end the process under the library).
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "text.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_roster_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_ids[H_ROSTER_MAX];
static int g_n;
static int g_own;           /* own id, from LOGIN_ROOM's user */
static int g_in_room;       /* LOGIN_ROOM delivered, the last USER_LEAVE not yet */
static int g_complete;      /* the USER_ENTER of the own user was delivered */
static int g_exiting;       /* ROOM_EXIT delivered: only USER_LEAVEs may follow */
static long g_checks;       /* callbacks at which the list was compared with the API */
static char g_problem[512]; /* the first broken rule */

static void problem(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void problem(const char *fmt, ...) {
    va_list ap;
    if (g_problem[0] != 0) return;
    va_start(ap, fmt);
    vsnprintf(g_problem, sizeof g_problem, fmt, ap);
    va_end(ap);
}

static int position_of(int id) {
    int i;
    for (i = 0; i < g_n; i++)
        if (g_ids[i] == id) return i;
    return -1;
}

static int id_of(const user_info_t *u) { return u == NULL ? 0 : atoi(u->m_strID); }

/* The list built from events equals the API's, position by position and by id. */
static void compare_with_api(const char *where) {
    int count = -1, rc, i;
    user_info_t u;
    g_checks++;
    rc = (int)get_user_count(&count);
    if (!g_in_room) {
        if (rc == retCode_Success)
            problem("%s: not in a room by the events, but get_user_count says %d users", where,
                    count);
        return;
    }
    if (rc != retCode_Success || count != g_n) {
        problem("%s: the events give %d users, get_user_count says %d (%s)", where, g_n, count,
                h_rc_name(rc));
        return;
    }
    for (i = 0; i < g_n; i++) {
        rc = (int)get_user_info(i, &u);
        if (rc != retCode_Success || id_of(&u) != g_ids[i]) {
            problem("%s: position %d is #%d by the events, get_user_info(%d) gives #%d (%s)",
                    where, i, g_ids[i], i, rc == retCode_Success ? id_of(&u) : 0,
                    h_rc_name(rc));
            return;
        }
        rc = (int)get_user_info(g_ids[i], &u);
        if (rc != retCode_Success || id_of(&u) != g_ids[i]) {
            problem("%s: get_user_info(#%d) gives #%d (%s)", where, g_ids[i],
                    rc == retCode_Success ? id_of(&u) : 0, h_rc_name(rc));
            return;
        }
    }
    /* One past the end is neither a position nor (ids are above MAX_ROOM_USERS) an id. */
    rc = (int)get_user_info(g_n, &u);
    if (rc != retCode_NotFindUserErr)
        problem("%s: get_user_info(%d) with %d users returned %s, expected NotFindUserErr",
                where, g_n, g_n, h_rc_name(rc));
}

void h_roster_on_state(int state, const user_info_t *puser, rec_t *r) {
    int id = id_of(puser);
    const char *name = h_state_name(state);
    pthread_mutex_lock(&g_roster_mu);
    memcpy(r->roster_before, g_ids, sizeof g_ids);
    r->roster_before_n = g_n;
    if (g_exiting && state != CONFERENCE_STATE_USER_LEAVE)
        problem("%s after ROOM_EXIT before the last USER_LEAVE", name);
    if (g_in_room && !g_complete && state != CONFERENCE_STATE_USER_ENTER)
        problem("%s after LOGIN_ROOM before the own USER_ENTER", name);
    switch (state) {
    case CONFERENCE_STATE_LOGIN_ROOM:
        if (g_in_room) problem("LOGIN_ROOM while in a room by the events");
        g_in_room = 1;
        g_complete = 0;
        g_exiting = 0;
        g_n = 0;
        g_own = id;
        break;
    case CONFERENCE_STATE_USER_ENTER:
        if (!g_in_room || g_exiting) {
            problem("USER_ENTER #%d outside a room", id);
        } else if (position_of(id) >= 0) {
            problem("duplicate USER_ENTER #%d", id);
        } else if (g_n == H_ROSTER_MAX) {
            problem("more than %d users", H_ROSTER_MAX);
        } else {
            g_ids[g_n++] = id;
            if (id == g_own) g_complete = 1;
        }
        break;
    case CONFERENCE_STATE_USER_LEAVE: {
        int at = position_of(id);
        if (at < 0) {
            problem("USER_LEAVE #%d not in the list", id);
            break;
        }
        memmove(&g_ids[at], &g_ids[at + 1], (size_t)(g_n - at - 1) * sizeof g_ids[0]);
        g_n--;
        if (g_exiting && id == g_own && g_n > 0)
            problem("own USER_LEAVE with %d users still in the list", g_n);
        break;
    }
    case CONFERENCE_STATE_ROOM_EXIT:
        if (!g_in_room)
            problem("ROOM_EXIT outside a room");
        else if (id != g_own)
            problem("ROOM_EXIT about #%d, not the own user #%d", id, g_own);
        g_exiting = 1;
        break;
    case CONFERENCE_STATE_USER_CLOSE:
    case CONFERENCE_STATE_LOGIN_MCU:
        if (g_in_room) problem("%s while in a room by the events (no ROOM_EXIT)", name);
        break;
    default:
        break;
    }
    compare_with_api(name);
    /* The list is empty: the room is left. The API said so at this last USER_LEAVE too. */
    if (g_exiting && g_n == 0) g_in_room = g_exiting = g_complete = 0;
    pthread_mutex_unlock(&g_roster_mu);
}

void h_roster_on_other(const char *what) {
    pthread_mutex_lock(&g_roster_mu);
    if (g_exiting) problem("%s after ROOM_EXIT before the last USER_LEAVE", what);
    if (g_in_room && !g_complete) problem("%s after LOGIN_ROOM before the own USER_ENTER", what);
    compare_with_api(what);
    pthread_mutex_unlock(&g_roster_mu);
}

int h_roster_ids(int *ids, int max) {
    int n;
    pthread_mutex_lock(&g_roster_mu);
    n = g_n < max ? g_n : max;
    memcpy(ids, g_ids, (size_t)n * sizeof ids[0]);
    pthread_mutex_unlock(&g_roster_mu);
    return n;
}

long h_roster_checks(void) {
    long n;
    pthread_mutex_lock(&g_roster_mu);
    n = g_checks;
    pthread_mutex_unlock(&g_roster_mu);
    return n;
}

void h_roster_verify(const char *file, int line) {
    char copy[sizeof g_problem];
    pthread_mutex_lock(&g_roster_mu);
    memcpy(copy, g_problem, sizeof copy);
    pthread_mutex_unlock(&g_roster_mu);
    if (copy[0] != 0) h_fail(file, line, "user list from events: %s", copy);
}

void h_log_roster(const char *title) {
    int ids[H_ROSTER_MAX], n = h_roster_ids(ids, H_ROSTER_MAX), i;
    char line[1024], who[64];
    size_t used = 0;
    line[0] = 0;
    for (i = 0; i < n && used < sizeof line; i++) {
        h_name_of(ids[i], who, sizeof who);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : "", who);
    }
    h_log("-- %s (%d, from events): %s", title, n, n ? line : "nobody");
}

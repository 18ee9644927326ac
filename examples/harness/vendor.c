/*
 * vendor.c: a recorder firmware written from the vendor's documents only (conference_sdk.h
 * v1.0 and its login, logout and control flow diagrams), not from this project's docs:
 *
 *   - rooms are named by their position in the list of get_conference_room_count /
 *     get_conference_room_info (0 <= position < count);
 *   - the class list is kept from events alone: USER_ENTER adds, USER_LEAVE removes; ids come
 *     from m_strID;
 *   - in every callback the list is compared with get_user_count / get_user_info, by
 *     position and by id; a mismatch is printed as "BAD ..." and makes the exit code 1.
 *
 * It is driven line by line on stdin by tests/vendor_firmware.rs, one process per recorder:
 *
 *   connect <host> <port> <user> <password>   connect_MCU
 *   rooms                                     prints "ROOM <position> <id> <users>" lines
 *   join <position>                           login_conference_room(position)
 *   logout | disconnect                       logout_conference_room / disconnect_MCU
 *   kick <username>                           kickout_conference_room(id from the list)
 *   users                                     prints "USER <position> <id> <username>"
 *   quit                                      uninit, "DONE checks=<n> bad=<n>", exit
 *
 * and prints, line-buffered: "RC <command> <code>" after each command; "EV <state> <code>
 * <username or ->" for each state event; "LIST <name,name,...>" after each change of the
 * list (join order).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conference_sdk.h"

#define MAX_LIST 64

typedef struct {
    int id;
    char username[32];
} member_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static member_t g_list[MAX_LIST];
static int g_count;
static long g_checks;
static int g_bad;

static void bad(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void bad(const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    g_bad++;
    printf("BAD %s\n", text);
}

static const char *state_name(int state) {
    static char other[16];
    switch (state) {
    case CONFERENCE_STATE_LOGIN_MCU:
        return "LOGIN_MCU";
    case CONFERENCE_STATE_LOGIN_ROOM:
        return "LOGIN_ROOM";
    case CONFERENCE_STATE_USER_ENTER:
        return "USER_ENTER";
    case CONFERENCE_STATE_USER_LEAVE:
        return "USER_LEAVE";
    case CONFERENCE_STATE_ROOM_EXIT:
        return "ROOM_EXIT";
    case CONFERENCE_STATE_USER_TALK:
        return "USER_TALK";
    case CONFERENCE_STATE_USER_BCAST:
        return "USER_BCAST";
    case CONFERENCE_STATE_USER_CHAIR:
        return "USER_CHAIR";
    case CONFERENCE_STATE_LOOKED:
        return "LOOKED";
    case CONFERENCE_STATE_USER_CLOSE:
        return "USER_CLOSE";
    case CONFERENCE_STATE_USER_REQTALK:
        return "USER_REQTALK";
    case CONFERENCE_STATE_CONNECT_MCU_FAILED:
        return "CONNECT_MCU_FAILED";
    case CONFERENCE_STATE_LOGIN_ROOM_FAILED:
        return "LOGIN_ROOM_FAILED";
    case CONFERENCE_STATE_USER_KICKED:
        return "USER_KICKED";
    case CONFERENCE_STATE_USER_VPOS:
        return "USER_VPOS";
    case CONFERENCE_STATE_UPDATE_INTERACT:
        return "UPDATE_INTERACT";
    case CONFERENCE_STATE_USER_CHAT:
        return "USER_CHAT";
    case CONFERENCE_STATE_USER_VNC:
        return "USER_VNC";
    case CONFERENCE_STATE_NICK_NAME:
        return "NICK_NAME";
    case CONFERENCE_STATE_RECV_JOIN:
        return "RECV_JOIN";
    case CONFERENCE_STATE_RECV_INVITE:
        return "RECV_INVITE";
    case CONFERENCE_STATE_REJECT_JOIN:
        return "REJECT_JOIN";
    case CONFERENCE_STATE_ALLOW_JOIN:
        return "ALLOW_JOIN";
    case CONFERENCE_STATE_REJECT_INVITE:
        return "REJECT_INVITE";
    case CONFERENCE_STATE_ALLOW_INVITE:
        return "ALLOW_INVITE";
    case CONFERENCE_STATE_TRANSPARENT:
        return "TRANSPARENT";
    case CONFERENCE_STATE_USER_AUX:
        return "USER_AUX";
    default:
        snprintf(other, sizeof other, "STATE_%d", state);
        return other;
    }
}

static int find(int id) {
    int i;
    for (i = 0; i < g_count; i++)
        if (g_list[i].id == id) return i;
    return -1;
}

static void print_list(void) {
    int i;
    printf("LIST ");
    for (i = 0; i < g_count; i++) printf("%s%s", i ? "," : "", g_list[i].username);
    printf("\n");
}

/* The list from events against the library's answers, from inside the callback. */
static void compare_with_api(const char *where) {
    int count = -1, i, rc;
    user_info_t u;
    g_checks++;
    rc = (int)get_user_count(&count);
    if (g_count == 0) {
        /* Out of a room (or the list emptied at its last USER_LEAVE). */
        if (rc == retCode_Success && count != 0)
            bad("%s: no users from events, get_user_count says %d", where, count);
        return;
    }
    if (rc != retCode_Success || count != g_count) {
        bad("%s: %d users from events, get_user_count rc %d count %d", where, g_count, rc,
            count);
        return;
    }
    for (i = 0; i < g_count; i++) {
        rc = (int)get_user_info(i, &u);
        if (rc != retCode_Success || atoi(u.m_strID) != g_list[i].id)
            bad("%s: position %d is %s#%d from events, get_user_info rc %d id %s", where, i,
                g_list[i].username, g_list[i].id, rc, rc == retCode_Success ? u.m_strID : "-");
        rc = (int)get_user_info(g_list[i].id, &u);
        if (rc != retCode_Success || strcmp(u.m_strUserName, g_list[i].username) != 0)
            bad("%s: get_user_info(%d) rc %d for %s", where, g_list[i].id, rc,
                g_list[i].username);
    }
}

static void on_state(result_code_e result, conference_state_e state, const user_info_t *puser,
                     void *append) {
    int id = puser != NULL ? atoi(puser->m_strID) : 0;
    int changed = 0;
    (void)append;
    pthread_mutex_lock(&g_mu);
    printf("EV %s %d %s\n", state_name((int)state), (int)result,
           puser != NULL ? puser->m_strUserName : "-");
    switch ((int)state) {
    case CONFERENCE_STATE_LOGIN_ROOM:
        if (g_count != 0) bad("LOGIN_ROOM with %d users still in the list", g_count);
        g_count = 0;
        changed = 1;
        break;
    case CONFERENCE_STATE_USER_ENTER:
        if (puser == NULL || id <= 0) {
            bad("USER_ENTER without a user id");
        } else if (find(id) >= 0) {
            bad("USER_ENTER for %s#%d, already in the list", puser->m_strUserName, id);
        } else if (g_count < MAX_LIST) {
            g_list[g_count].id = id;
            snprintf(g_list[g_count].username, sizeof g_list[g_count].username, "%s",
                     puser->m_strUserName);
            g_count++;
            changed = 1;
        }
        break;
    case CONFERENCE_STATE_USER_LEAVE: {
        int at = puser != NULL ? find(id) : -1;
        if (at < 0) {
            bad("USER_LEAVE for #%d, not in the list", id);
        } else {
            memmove(&g_list[at], &g_list[at + 1], (size_t)(g_count - at - 1) * sizeof g_list[0]);
            g_count--;
            changed = 1;
        }
        break;
    }
    case CONFERENCE_STATE_USER_CLOSE:
        if (g_count != 0) bad("USER_CLOSE with %d users still in the list", g_count);
        break;
    default:
        break;
    }
    if (changed) print_list();
    compare_with_api(state_name((int)state));
    fflush(stdout);
    pthread_mutex_unlock(&g_mu);
}

static void on_chat(const conference_chat_info_t *chat) {
    (void)chat;
    pthread_mutex_lock(&g_mu);
    compare_with_api("chat");
    pthread_mutex_unlock(&g_mu);
}

static void on_stream(const media_info_t *info, const char *data, int len, int user_id,
                      conference_media_type_e media_type) {
    (void)info, (void)data, (void)len, (void)user_id, (void)media_type;
    pthread_mutex_lock(&g_mu);
    compare_with_api("stream");
    pthread_mutex_unlock(&g_mu);
}

static const conference_event_handler_t HANDLERS = {on_chat, on_state, on_stream};

static void reply(const char *command, int rc) {
    pthread_mutex_lock(&g_mu);
    printf("RC %s %d\n", command, rc);
    fflush(stdout);
    pthread_mutex_unlock(&g_mu);
}

static int id_of(const char *username) {
    int i, id = 0;
    pthread_mutex_lock(&g_mu);
    for (i = 0; i < g_count; i++)
        if (strcmp(g_list[i].username, username) == 0) id = g_list[i].id;
    pthread_mutex_unlock(&g_mu);
    return id;
}

int main(void) {
    char line[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (init(NULL, &HANDLERS) != retCode_Success) {
        printf("BAD init failed\n");
        return 1;
    }
    printf("READY\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        char cmd[32] = "", a[128] = "", b[128] = "", c[128] = "", d[128] = "";
        if (sscanf(line, "%31s %127s %127s %127s %127s", cmd, a, b, c, d) < 1) continue;
        if (strcmp(cmd, "connect") == 0) {
            reply(cmd, (int)connect_MCU(a, atoi(b), c, d));
        } else if (strcmp(cmd, "rooms") == 0) {
            int count = 0, i, rc = (int)get_conference_room_count(&count);
            for (i = 0; rc == retCode_Success && i < count; i++) {
                room_info_t room;
                if (get_conference_room_info(i, &room) != retCode_Success) break;
                pthread_mutex_lock(&g_mu);
                printf("ROOM %d %s %d\n", i, room.m_strRoomID, (int)room.m_s32CurUserCnt);
                pthread_mutex_unlock(&g_mu);
            }
            reply(cmd, rc);
        } else if (strcmp(cmd, "join") == 0) {
            reply(cmd, (int)login_conference_room(atoi(a)));
        } else if (strcmp(cmd, "logout") == 0) {
            reply(cmd, (int)logout_conference_room());
        } else if (strcmp(cmd, "disconnect") == 0) {
            reply(cmd, (int)disconnect_MCU());
        } else if (strcmp(cmd, "kick") == 0) {
            int id = id_of(a);
            reply(cmd, id > 0 ? (int)kickout_conference_room(id) : -1);
        } else if (strcmp(cmd, "users") == 0) {
            int count = 0, i, rc = (int)get_user_count(&count);
            for (i = 0; rc == retCode_Success && i < count; i++) {
                user_info_t u;
                if (get_user_info(i, &u) != retCode_Success) break;
                pthread_mutex_lock(&g_mu);
                printf("USER %d %s %s\n", i, u.m_strID, u.m_strUserName);
                pthread_mutex_unlock(&g_mu);
            }
            reply(cmd, rc);
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else {
            reply(cmd, -2);
        }
    }
    uninit();
    pthread_mutex_lock(&g_mu);
    printf("DONE checks=%ld bad=%d\n", g_checks, g_bad);
    pthread_mutex_unlock(&g_mu);
    return g_bad == 0 ? 0 : 1;
}

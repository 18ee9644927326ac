/*
 * login_app.c: one login through the real library, for the security tests (tests/security.rs).
 *
 *   login_app HOST PORT USER PASSWORD [MODE CA PIN]
 *
 * With MODE (a conference_tls_mode_e number; "-" skips the call), calls conference_set_tls(MODE,
 * CA, PIN) first ("-" = NULL) and prints "set_tls=<code>". Then init, connect_MCU (prints
 * "connect=<code>" and the CONNECT_MCU_FAILED / LOGIN_MCU event it fired), and on success joins
 * the first room, sends a chat line, leaves and disconnects ("lesson=<code>").
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "conference_sdk.h"

/* Set by the dispatcher thread when the connect event has been printed. */
static volatile int connect_event_seen;

static void on_chat(const conference_chat_info_t *c) { (void)c; }
static void on_state(result_code_e r, conference_state_e s, const user_info_t *u, void *a) {
    (void)u, (void)a;
    if (s == CONFERENCE_STATE_CONNECT_MCU_FAILED || s == CONFERENCE_STATE_LOGIN_MCU) {
        printf("event state=%d result=%d\n", (int)s, (int)r);
        fflush(stdout);
        connect_event_seen = 1;
    }
}
static void on_stream(const media_info_t *i, const char *d, int l, int u,
                      conference_media_type_e t) {
    (void)i, (void)d, (void)l, (void)u, (void)t;
}

static const char *arg_or_null(const char *arg) { return strcmp(arg, "-") == 0 ? NULL : arg; }

int main(int argc, char **argv) {
    static const conference_event_handler_t handlers = {on_chat, on_state, on_stream};
    int code;
    if (argc != 5 && argc != 8) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD [MODE CA PIN]\n", argv[0]);
        return 2;
    }
    if (argc == 8 && strcmp(argv[5], "-") != 0) {
        code = conference_set_tls(atoi(argv[5]), arg_or_null(argv[6]), arg_or_null(argv[7]));
        printf("set_tls=%d\n", code);
    }
    if (init(NULL, &handlers) != retCode_Success) return 3;
    code = connect_MCU(argv[1], atoi(argv[2]), argv[3], argv[4]);
    printf("connect=%d\n", code);
    fflush(stdout);
    {
        /* The event comes from the dispatcher thread: wait for it (at most 2 s). */
        struct timespec tick = {0, 10 * 1000 * 1000};
        int i;
        for (i = 0; i < 200 && !connect_event_seen; i++) nanosleep(&tick, NULL);
    }
    if (code == retCode_Success) {
        room_info_t room;
        int lesson = get_conference_room_info(0, &room);
        if (lesson == retCode_Success) lesson = login_conference_room(atoi(room.m_strRoomID));
        if (lesson == retCode_Success) {
            conference_chat_info_t chat;
            memset(&chat, 0, sizeof chat);
            strcpy(chat.m_strContent, "a chat line");
            lesson = send_chat(&chat);
            logout_conference_room();
        }
        printf("lesson=%d\n", lesson);
        disconnect_MCU();
    }
    uninit();
    return 0;
}

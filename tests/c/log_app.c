/*
 * log_app.c: conference_set_log() from C. Bad arguments are refused and change nothing;
 * then the log goes to argv[1], capped at 1 KiB with two old files, while the program makes
 * a few hundred API calls (each logged at debug level); finally logging is turned off.
 * Prints "log api ok" when every return code was as documented.
 */
#include <stdio.h>
#include <string.h>

#include "conference_sdk.h"

static int failures;

#define EXPECT(call, code)                                                                 \
    do {                                                                                   \
        int rc_ = (int)(call);                                                             \
        if (rc_ != (int)(code)) {                                                          \
            printf("%s returned %d, expected %d\n", #call, rc_, (int)(code));              \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static void on_chat(const conference_chat_info_t *c) { (void)c; }
static void on_state(result_code_e r, conference_state_e s, const user_info_t *u, void *a) {
    (void)r, (void)s, (void)u, (void)a;
}
static void on_stream(const media_info_t *i, const char *d, int l, int u,
                      conference_media_type_e t) {
    (void)i, (void)d, (void)l, (void)u, (void)t;
}

int main(int argc, char **argv) {
    static const conference_event_handler_t handlers = {on_chat, on_state, on_stream};
    static const char bad_utf8[] = {'d', 'e', (char)0xff, 0};
    int i, count;
    if (argc != 2) return 2;
    EXPECT(conference_set_log("debug", argv[1], -1, 2), retCode_ParamErr);
    EXPECT(conference_set_log("debug", argv[1], 1, -1), retCode_ParamErr);
    EXPECT(conference_set_log("debug", argv[1], 1, 100), retCode_ParamErr);
    EXPECT(conference_set_log("conference_sdk=loudest", argv[1], 1, 2), retCode_ParamErr);
    EXPECT(conference_set_log(bad_utf8, argv[1], 1, 2), retCode_ParamErr);
    EXPECT(conference_set_log("debug", "/nonexistent-directory/sdk.log", 1, 2),
           retCode_ParamErr);
    /* Nothing set yet: NULLs keep everything (logging stays off). */
    EXPECT(conference_set_log(NULL, NULL, 0, 0), retCode_Success);
    /* Before init, and it wins over the environment. */
    EXPECT(conference_set_log("debug", argv[1], 1, 2), retCode_Success);
    EXPECT(init(NULL, &handlers), retCode_Success);
    for (i = 0; i < 300; i++) EXPECT(get_user_count(&count), retCode_NotLoginErr);
    EXPECT(uninit(), retCode_Success);
    /* After uninit too: off, back to stderr; nothing more reaches the files. */
    EXPECT(conference_set_log("", "", 0, 0), retCode_Success);
    EXPECT(init(NULL, &handlers), retCode_Success);
    EXPECT(get_user_count(&count), retCode_NotLoginErr);
    EXPECT(uninit(), retCode_Success);
    if (failures == 0) printf("log api ok\n");
    return failures == 0 ? 0 : 1;
}

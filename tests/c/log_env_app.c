/*
 * log_env_app.c: a program that never calls conference_set_log: the library logs as the
 * CONFERENCE_SDK_LOG* environment variables say, from the first init (300 API calls).
 */
#include <stdio.h>

#include "conference_sdk.h"

static void on_chat(const conference_chat_info_t *c) { (void)c; }
static void on_state(result_code_e r, conference_state_e s, const user_info_t *u, void *a) {
    (void)r, (void)s, (void)u, (void)a;
}
static void on_stream(const media_info_t *i, const char *d, int l, int u,
                      conference_media_type_e t) {
    (void)i, (void)d, (void)l, (void)u, (void)t;
}

int main(void) {
    static const conference_event_handler_t handlers = {on_chat, on_state, on_stream};
    int i, count;
    if (init(NULL, &handlers) != retCode_Success) return 1;
    for (i = 0; i < 300; i++)
        if (get_user_count(&count) != retCode_NotLoginErr) return 1;
    if (uninit() != retCode_Success) return 1;
    printf("done\n");
    return 0;
}

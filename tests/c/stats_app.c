/*
 * stats_app.c: conference_get_stats() from C: the layout of conference_stats_t (fixed: the
 * struct can only grow at its end), the lifecycle and argument checks, and the size protocol
 * (a larger caller struct keeps its extra bytes). Prints "stats api ok".
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conference_sdk.h"

static int failures;

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("failed: %s\n", #cond);                                                 \
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

/* A caller built against a newer header: more fields after this version's. */
typedef struct {
    conference_stats_t known;
    unsigned long long later[4];
} newer_stats_t;

int main(void) {
    static const conference_event_handler_t handlers = {on_chat, on_state, on_stream};
    conference_stats_t stats;
    newer_stats_t newer;
    int i;

    EXPECT(sizeof(conference_stream_stats_t) == 16);
    EXPECT(sizeof(conference_stats_t) == 176);
    EXPECT(offsetof(conference_stats_t, m_u32Size) == 0);
    EXPECT(offsetof(conference_stats_t, m_u32RttUs) == 4);
    EXPECT(offsetof(conference_stats_t, m_u32LossPermille) == 8);
    EXPECT(offsetof(conference_stats_t, m_stSent) == 16);
    EXPECT(offsetof(conference_stats_t, m_stReceived) == 80);
    EXPECT(offsetof(conference_stats_t, m_u64DropQueueFull) == 144);
    EXPECT(offsetof(conference_stats_t, m_u64Withheld) == 152);
    EXPECT(offsetof(conference_stats_t, m_u64DropDispatcher) == 160);
    EXPECT(offsetof(conference_stats_t, m_u64Resumes) == 168);

    memset(&stats, 0, sizeof stats);
    stats.m_u32Size = sizeof stats;
    EXPECT(conference_get_stats(&stats) == retCode_InitErr);
    EXPECT(init(NULL, &handlers) == retCode_Success);
    EXPECT(conference_get_stats(NULL) == retCode_ParamErr);
    stats.m_u32Size = sizeof stats - 1;
    EXPECT(conference_get_stats(&stats) == retCode_ParamErr);
    EXPECT(stats.m_u32Size == sizeof stats - 1); /* untouched on failure */

    memset(&stats, 0xAB, sizeof stats);
    stats.m_u32Size = sizeof stats;
    EXPECT(conference_get_stats(&stats) == retCode_Success);
    EXPECT(stats.m_u32Size == sizeof stats);
    EXPECT(stats.m_u32RttUs == 0 && stats.m_u32LossPermille == 0 && stats.m_u32Reserved == 0);
    for (i = 0; i < 4; i++) {
        EXPECT(stats.m_stSent[i].m_u64Frames == 0 && stats.m_stSent[i].m_u64Bytes == 0);
        EXPECT(stats.m_stReceived[i].m_u64Frames == 0);
    }
    EXPECT(stats.m_u64DropQueueFull == 0 && stats.m_u64Withheld == 0);
    EXPECT(stats.m_u64DropDispatcher == 0 && stats.m_u64Resumes == 0);

    memset(&newer, 0xCD, sizeof newer);
    newer.known.m_u32Size = sizeof newer;
    EXPECT(conference_get_stats(&newer.known) == retCode_Success);
    EXPECT(newer.known.m_u32Size == sizeof(conference_stats_t));
    for (i = 0; i < 4; i++) EXPECT(newer.later[i] == 0xCDCDCDCDCDCDCDCDULL);

    EXPECT(uninit() == retCode_Success);
    EXPECT(conference_get_stats(&stats) == retCode_InitErr);
    if (failures == 0) printf("stats api ok\n");
    return failures == 0 ? 0 : 1;
}

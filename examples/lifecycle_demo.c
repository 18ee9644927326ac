/*
 * A first look at libconference_sdk.so from C: the ABI sizes the vendor document fixes, and
 * the return codes of the call lifecycle (SPEC §3). Built and run by scripts/demo.sh:
 *
 *   cc -std=c99 -Iinclude examples/lifecycle_demo.c -Ltarget/release -lconference_sdk \
 *      -Wl,-rpath,$PWD/target/release -o lifecycle_demo
 */
#include "conference_sdk.h"

#include <stdio.h>
#include <string.h>

static const char *code_name(ret_code_e code)
{
    switch (code) {
    case retCode_Success: return "retCode_Success";
    case retCode_ParamErr: return "retCode_ParamErr";
    case retCode_InitErr: return "retCode_InitErr";
    case retCode_InitedErr: return "retCode_InitedErr";
    case retCode_PortErr: return "retCode_PortErr";
    case retCode_SockCnntErr: return "retCode_SockCnntErr";
    case retCode_NotLoginErr: return "retCode_NotLoginErr";
    case retCode_Timeout: return "retCode_Timeout";
    default: return "(another code)";
    }
}

#define SHOW(call) show(#call, (call))

static void show(const char *call, ret_code_e code)
{
    printf("  %-52s -> %6d  %s\n", call, (int)code, code_name(code));
}

static void on_state(result_code_e result, conference_state_e state, const user_info_t *user,
                     void *append_data)
{
    (void)user;
    (void)append_data;
    printf("  [callback] on_conference_state(result=%d, state=%d)\n", (int)result, (int)state);
}

int main(void)
{
    conference_event_handler_t handler;
    audio_mixer_props_t mixer = { 48000, 2, 16 };
    audio_mixer_props_t bad_mixer = { 44100, 5, 16 };
    int count = 0;

    memset(&handler, 0, sizeof handler);
    handler.on_conference_state = on_state;

    printf("ABI (vendor document: media_info_t 32, room_info_t 152, user_info_t 106, "
           "conference_chat_info_t 140)\n");
    printf("  sizeof(media_info_t)           = %u\n", (unsigned)sizeof(media_info_t));
    printf("  sizeof(room_info_t)            = %u\n", (unsigned)sizeof(room_info_t));
    printf("  sizeof(user_info_t)            = %u\n", (unsigned)sizeof(user_info_t));
    printf("  sizeof(conference_chat_info_t) = %u\n", (unsigned)sizeof(conference_chat_info_t));
    printf("  retCode_Exception = %#x, retCode_RoomUnexist = %#x\n",
           (unsigned)retCode_Exception, (unsigned)retCode_RoomUnexist);

    printf("\nBefore init: every call is retCode_InitErr\n");
    SHOW(get_user_count(&count));
    SHOW(uninit());

    printf("\ninit, and init again\n");
    SHOW(init(&bad_mixer, &handler));
    SHOW(init(&mixer, &handler));
    SHOW(init(&mixer, &handler));

    printf("\nBad arguments: lifecycle first, then arguments\n");
    SHOW(get_user_count(NULL));
    SHOW(apply_for_talk(2));
    SHOW(connect_MCU("127.0.0.1", 70000, "teacher", "secret"));

    printf("\nNot connected to an MCU: room calls say so, nothing is faked\n");
    SHOW(login_conference_room(1));
    SHOW(get_user_count(&count));

    printf("\nuninit twice, then init works again\n");
    SHOW(uninit());
    SHOW(uninit());
    SHOW(init(NULL, &handler));
    SHOW(uninit());
    return 0;
}

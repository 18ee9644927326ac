// The header must compile as C++ (extern "C", no C-only constructs) and link names unmangled.
#include "conference_sdk.h"

static void on_state(result_code_e, conference_state_e, const user_info_t *, void *) {}

int main()
{
    conference_event_handler_t handler = {};
    handler.on_conference_state = on_state;
    ret_code_e (*entry)(const audio_mixer_props_t *, const conference_event_handler_t *) = init;
    ret_code_e (*call)(int, invite_type_e, int) = invite;
    (void)entry;
    (void)call;
    return handler.on_conference_state == nullptr ? 1 : 0;
}

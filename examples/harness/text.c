/*
 * text.c: names of codes, events and users, and the text of a record: every field for the
 * logs and failure reports, one readable line for the demo's timeline.
 */
#define _POSIX_C_SOURCE 200809L

#include "text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64

struct known_name {
    int id;
    char name[32];
};

static pthread_mutex_t g_names_mu = PTHREAD_MUTEX_INITIALIZER;
static struct known_name g_names[MAX_NAMES];
static int g_nnames;

/* ---------------------------------------------------------------------------------------- */
/* names                                                                                     */

const char *h_rc_name(int rc) {
    switch (rc) {
    case retCode_Success: return "retCode_Success";
    case retCode_False: return "retCode_False";
    case retCode_ParamErr: return "retCode_ParamErr";
    case retCode_InitErr: return "retCode_InitErr";
    case retCode_InitedErr: return "retCode_InitedErr";
    case retCode_AddrErr: return "retCode_AddrErr";
    case retCode_PortErr: return "retCode_PortErr";
    case retCode_SockCnntErr: return "retCode_SockCnntErr";
    case retCode_MsgErr: return "retCode_MsgErr";
    case retCode_QueueFullErr: return "retCode_QueueFullErr";
    case retCode_Timeout: return "retCode_Timeout";
    case retCode_NotLoginErr: return "retCode_NotLoginErr";
    case retCode_ReloginedErr: return "retCode_ReloginedErr";
    case retCode_StateErr: return "retCode_StateErr";
    case retCode_AccessErr: return "retCode_AccessErr";
    case retCode_UserPasswordErr: return "retCode_UserPasswordErr";
    case retCode_Unknow: return "retCode_Unknow";
    case retCode_Exception: return "retCode_Exception";
    case retCode_NotFindUserErr: return "retCode_NotFindUserErr";
    case retCode_MuchVisitedErr: return "retCode_MuchVisitedErr";
    case retCode_RoomUnexist: return "retCode_RoomUnexist";
    case retCode_RoomFull: return "retCode_RoomFull";
    case retCode_RoomOverdue: return "retCode_RoomOverdue";
    case retCode_RoomClosed: return "retCode_RoomClosed";
    case retCode_ServerStoped: return "retCode_ServerStoped";
    case retCode_UserClose: return "retCode_UserClose";
    case retCode_LongTimeNoReSponse: return "retCode_LongTimeNoReSponse";
    case retCode_KickOut: return "retCode_KickOut";
    case retCode_OutOfResources: return "retCode_OutOfResources";
    case retCode_NetworkException: return "retCode_NetworkException";
    default: return "(other code)";
    }
}

static const char *const STATE_NAMES[] = {
    "?",           "LOGIN_MCU",     "LOGIN_ROOM",         "USER_ENTER",
    "USER_LEAVE",  "ROOM_EXIT",     "USER_TALK",          "USER_BCAST",
    "USER_CHAIR",  "LOOKED",        "USER_CLOSE",         "USER_REQTALK",
    "CONNECT_MCU_FAILED", "LOGIN_ROOM_FAILED", "USER_KICKED", "USER_VPOS",
    "UPDATE_INTERACT", "USER_CHAT",  "USER_VNC",           "NICK_NAME",
    "RECV_JOIN",   "RECV_INVITE",   "REJECT_JOIN",        "ALLOW_JOIN",
    "REJECT_INVITE", "ALLOW_INVITE", "TRANSPARENT",       "USER_AUX",
};

const char *h_state_name(int state) {
    if (state >= CONFERENCE_STATE_LOGIN_MCU && state <= CONFERENCE_STATE_USER_AUX)
        return STATE_NAMES[state];
    return "(unknown state)";
}

const char *h_media_name(int media_type) {
    switch (media_type) {
    case CONFERENCE_MEDIA_TYPE_AUDIO: return "audio";
    case CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR: return "video";
    case CONFERENCE_MEDIA_TYPE_VIDEO_MINOR: return "aux video";
    case CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2: return "aux video 2";
    default: return "(unknown media type)";
    }
}

/* Remembers user names seen in events, so ids can be named after the users left. */
void h_remember_name(const user_info_t *u) {
    int id = atoi(u->m_strID), i;
    if (id <= 0 || memchr(u->m_strUserName, 0, sizeof u->m_strUserName) == NULL) return;
    pthread_mutex_lock(&g_names_mu);
    for (i = 0; i < g_nnames; i++)
        if (g_names[i].id == id) break;
    if (i == g_nnames && g_nnames < MAX_NAMES) g_nnames++;
    if (i < g_nnames) {
        g_names[i].id = id;
        memcpy(g_names[i].name, u->m_strUserName, sizeof g_names[i].name);
    }
    pthread_mutex_unlock(&g_names_mu);
}

/* "name#id", "#id" for an unknown id, "everyone" for 0. */
const char *h_name_of(int id, char *out, size_t n) {
    int i;
    if (id == 0) {
        snprintf(out, n, "everyone");
        return out;
    }
    snprintf(out, n, "#%d", id);
    pthread_mutex_lock(&g_names_mu);
    for (i = 0; i < g_nnames; i++)
        if (g_names[i].id == id) snprintf(out, n, "%s#%d", g_names[i].name, id);
    pthread_mutex_unlock(&g_names_mu);
    return out;
}

/* ---------------------------------------------------------------------------------------- */
/* describing records                                                                        */

static void describe_user(const user_info_t *u, char *out, size_t n) {
    snprintf(out, n, "%s#%s(master=%d chair=%d bcast=%d/%d aux=%d/%d auth=%d/%d talk=%d)",
             u->m_strUserName, u->m_strID, u->m_u8IsMaster, u->m_u8IsChairMan,
             u->m_u8BcastVideo, u->m_u8BcastAudio, u->m_u8GainAux[0], u->m_u8GainAux[1],
             u->m_u8AuthVideo, u->m_u8AuthAudio, u->m_u8AudioState);
}

static void printable(const unsigned char *data, int len, char *out, size_t n) {
    size_t o = 0;
    int i;
    for (i = 0; i < len && o + 5 < n; i++) {
        unsigned char c = data[i];
        if (c >= 32 && c < 127 && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
        }
    }
    if (i < len && o + 4 < n) o += (size_t)snprintf(out + o, n - o, "...");
    out[o < n ? o : n - 1] = 0;
}

void h_describe(const rec_t *r, char *out, size_t n) {
    char user[256] = "NULL";
    char extra[512] = "";
    if (r->kind == REC_STREAM) {
        snprintf(out, n,
                 "stream from #%d %s: %d bytes (type=%u codec=%u seq=%u key=%u rate=%u id=%u "
                 "w=%d h=%d br=%d ts=%llu)",
                 r->stream_user, h_media_name(r->stream_type), r->data_len,
                 r->media.m_u16MediaType, r->media.m_u16CodecID, r->media.m_u16FrameSeq,
                 r->media.m_u16KeyFrame, r->media.m_u16Framerate, r->media.m_u16StreamID,
                 r->media.m_u32W_S, r->media.m_u32H_C, r->media.m_u32Bitrate,
                 r->media.m_u64TimeStamp);
        return;
    }
    if (r->kind == REC_CHAT) {
        snprintf(out, n, "on_conference_chat from #%d to #%d color=0x%06x: \"%s\"",
                 r->chat.m_i32SrcID, r->chat.m_i32DstID, (unsigned)r->chat.m_i32Color,
                 r->chat.m_strContent);
        return;
    }
    if (r->has_user) describe_user(&r->user, user, sizeof user);
    if (r->has_append) {
        switch (r->state) {
        case CONFERENCE_STATE_LOGIN_MCU:
            snprintf(extra, sizeof extra, " rooms=%d", r->append_int);
            break;
        case CONFERENCE_STATE_LOGIN_ROOM:
            snprintf(extra, sizeof extra, " room=%s \"%s\" creator=%s users=%d/%d",
                     r->room.m_strRoomID, r->room.m_strRoomName, r->room.m_strCreatorID,
                     r->room.m_s32CurUserCnt, r->room.m_s32MaxUserCnt);
            break;
        case CONFERENCE_STATE_LOOKED:
            snprintf(extra, sizeof extra, " viewer=#%d %s ctrl=%d", r->looked.m_i32ViewerID,
                     h_media_name(r->looked.m_eMediaType), r->looked.m_i32Ctrl);
            break;
        case CONFERENCE_STATE_USER_CHAT:
            snprintf(extra, sizeof extra, " chat #%d -> #%d color=0x%06x \"%s\"",
                     r->chat.m_i32SrcID, r->chat.m_i32DstID, (unsigned)r->chat.m_i32Color,
                     r->chat.m_strContent);
            break;
        case CONFERENCE_STATE_RECV_JOIN:
        case CONFERENCE_STATE_RECV_INVITE:
            snprintf(extra, sizeof extra, " type=%s",
                     r->append_int == INVITE_TYPE_VIDEO   ? "INVITE_TYPE_VIDEO"
                     : r->append_int == INVITE_TYPE_AUDIO ? "INVITE_TYPE_AUDIO"
                                                          : "?");
            break;
        case CONFERENCE_STATE_TRANSPARENT: {
            char text[200];
            printable(r->data, r->data_len, text, sizeof text);
            snprintf(extra, sizeof extra, " from #%d type=%d len=%d \"%s\"", r->td.m_i32SrcID,
                     r->td.m_i32DataType, r->td.m_i32DataLen, text);
            break;
        }
        case CONFERENCE_STATE_USER_AUX:
            snprintf(extra, sizeof extra, " aux user=#%d response=%d %s", r->aux.m_i32UserID,
                     r->aux.m_i32ResponseState, h_media_name(r->aux.m_eMediaType));
            break;
        case CONFERENCE_STATE_USER_VPOS:
            snprintf(extra, sizeof extra, " position=%d", r->append_int);
            break;
        default:
            snprintf(extra, sizeof extra, " append_data!=NULL (unexpected)");
            break;
        }
    }
    snprintf(out, n, "%s result=%s user=%s%s", h_state_name(r->state), h_rc_name(r->result),
             user, extra);
}

static const char *audio_state_name(int s) {
    return s == 0 ? "silent" : s == 1 ? "hand raised" : s == 2 ? "talking" : "?";
}

/* One line per event for the demo's timeline. */
void h_friendly(const rec_t *r, char *out, size_t n) {
    char who[64] = "nobody", a[64], b[64];
    const char *ev = h_state_name(r->state);
    if (r->kind == REC_STREAM) {
        snprintf(out, n, "%-17s first %s frame from %s (codec %u, %dx%d, %d bytes)", "MEDIA",
                 h_media_name(r->stream_type), h_name_of(r->stream_user, a, sizeof a),
                 r->media.m_u16CodecID, r->media.m_u32W_S, r->media.m_u32H_C, r->data_len);
        return;
    }
    if (r->kind == REC_CHAT) {
        snprintf(out, n, "%-17s %s -> %s: \"%s\"", "on_conference_chat",
                 h_name_of(r->chat.m_i32SrcID, a, sizeof a), h_name_of(r->chat.m_i32DstID, b, sizeof b),
                 r->chat.m_strContent);
        return;
    }
    if (r->has_user) snprintf(who, sizeof who, "%s#%s", r->user.m_strUserName, r->user.m_strID);
    switch (r->state) {
    case CONFERENCE_STATE_LOGIN_MCU:
        snprintf(out, n, "%-17s connected to the MCU, %d room(s)", ev, r->append_int);
        break;
    case CONFERENCE_STATE_LOGIN_ROOM:
        snprintf(out, n, "%-17s entered room %s \"%s\" as %s (%d/%d users)", ev,
                 r->room.m_strRoomID, r->room.m_strRoomName, who, r->room.m_s32CurUserCnt,
                 r->room.m_s32MaxUserCnt);
        break;
    case CONFERENCE_STATE_USER_ENTER:
        snprintf(out, n, "%-17s %s entered the room", ev, who);
        break;
    case CONFERENCE_STATE_USER_LEAVE:
        snprintf(out, n, "%-17s %s left the room", ev, who);
        break;
    case CONFERENCE_STATE_ROOM_EXIT:
        snprintf(out, n, "%-17s I left the room (%s)", ev, h_rc_name(r->result));
        break;
    case CONFERENCE_STATE_USER_TALK:
    case CONFERENCE_STATE_USER_REQTALK:
        snprintf(out, n, "%-17s %s: %s", ev, who, audio_state_name(r->user.m_u8AudioState));
        break;
    case CONFERENCE_STATE_USER_BCAST:
        snprintf(out, n, "%-17s %s: broadcast video %d audio %d; I may pull video %s, audio %s",
                 ev, who, r->user.m_u8BcastVideo, r->user.m_u8BcastAudio,
                 r->user.m_u8AuthVideo == 2 ? "yes" : "no",
                 r->user.m_u8AuthAudio == 2 ? "yes" : "no");
        break;
    case CONFERENCE_STATE_USER_CHAIR:
        snprintf(out, n, "%-17s %s %s the master", ev, who,
                 r->user.m_u8IsMaster ? "is now" : "is no longer");
        break;
    case CONFERENCE_STATE_LOOKED:
        snprintf(out, n, "%-17s %s %s my %s", ev, h_name_of(r->looked.m_i32ViewerID, a, sizeof a),
                 r->looked.m_i32Ctrl ? "started watching" : "stopped watching",
                 h_media_name(r->looked.m_eMediaType));
        break;
    case CONFERENCE_STATE_UPDATE_INTERACT:
        snprintf(out, n, "%-17s interactive user: %s", ev, r->has_user ? who : "none");
        break;
    case CONFERENCE_STATE_USER_CHAT:
        snprintf(out, n, "%-17s %s -> %s: \"%s\"", ev, h_name_of(r->chat.m_i32SrcID, a, sizeof a),
                 h_name_of(r->chat.m_i32DstID, b, sizeof b), r->chat.m_strContent);
        break;
    case CONFERENCE_STATE_TRANSPARENT: {
        char text[160];
        printable(r->data, r->data_len, text, sizeof text);
        snprintf(out, n, "%-17s %d bytes (%s) from %s: \"%s\"", ev, r->data_len,
                 r->td.m_i32DataType ? "string" : "binary", who, text);
        break;
    }
    case CONFERENCE_STATE_USER_AUX:
        snprintf(out, n, "%-17s %s %s aux slot (%s)", ev, who,
                 r->aux.m_i32ResponseState == 1 ? "got an" : "has no", h_media_name(r->aux.m_eMediaType));
        break;
    default:
        snprintf(out, n, "%-17s %s (%s)", ev, who, h_rc_name(r->result));
        break;
    }
}

/*
 * ABI check of include/conference_sdk.h against the vendor document (section 三 and 四).
 * Every number below is typed from the document (x86-64 Linux layout), never derived from
 * the header. Compiled by tests/abi.rs as C99 with -Wall -Wextra -Werror -pedantic: the
 * prototype and callback redeclarations fail to compile if a signature drifts; the size,
 * offset and enum checks fail at run time and print what differs.
 */
#include "conference_sdk.h"

#include <stddef.h>
#include <stdio.h>
#include <time.h>

static int failures = 0;

static void check(const char *what, long long got, long long want)
{
    if (got != want) {
        printf("MISMATCH %s: header says %lld, document says %lld\n", what, got, want);
        failures++;
    }
}

#define SIZE_IS(type, n) check("sizeof(" #type ")", (long long)sizeof(type), n)
#define FIELD_AT(type, field, off, size)                                                     \
    do {                                                                                     \
        check("offsetof(" #type ", " #field ")", (long long)offsetof(type, field), off);     \
        check("sizeof(" #type "." #field ")", (long long)sizeof(((type *)0)->field), size);  \
    } while (0)
/* Pointer and time_t sizes of the target. */
#define P ((long long)sizeof(void *))
#define T ((long long)sizeof(time_t))
#define ENUM_IS(name, value) check(#name, (long long)(name), (long long)(value))

/* The document's prototypes, as it writes them: a conflicting type is a compile error. */
ret_code_e init(const audio_mixer_props_t *pmixer_props, const conference_event_handler_t *pevent_handler);
ret_code_e uninit();
/* The prefixed additions (a conflicting type is a compile error too). */
ret_code_e conference_set_tls(int mode, const char *ca_file, const char *pin);
ret_code_e connect_MCU(const char* pserver_ddr, int server_port, const char* pusername,
                        const char* ppassWord);
ret_code_e disconnect_MCU();
ret_code_e get_conference_room_count(int* pcount);
ret_code_e get_conference_room_info(int room_idx, room_info_t* proom_info);
ret_code_e login_conference_room(int conference_room_id);
ret_code_e logout_conference_room();
ret_code_e kickout_conference_room(int user_id);
ret_code_e invite(int user_id, invite_type_e invite_type, int ctrl);
ret_code_e ctrl_user_invite(int user_id, int ctrl);
ret_code_e get_own_user_info(user_info_t* puser_info);
ret_code_e get_user_count(int* pcount);
ret_code_e get_user_info(int user_id, user_info_t* puser_info);
ret_code_e send_chat(const conference_chat_info_t* pconference_chat_info);
ret_code_e apply_for_master(int ctrl);
ret_code_e apply_for_talk(int ctrl);
ret_code_e apply_for_aux(int ctrl);
ret_code_e ctrl_user_talk_apply(int user_id, int ctrl);
ret_code_e auth_audio(int src_user_id, int dst_user_id, int ctrl);
ret_code_e auth_video(int src_user_id, int dst_user_id, int ctrl);
ret_code_e check_user_video(int user_id, int ctrl);
ret_code_e check_user_audio(int user_id, int ctrl);
ret_code_e bcast_user_video(int user_id, int ctrl);
ret_code_e bcast_user_audio(int user_id, int ctrl);
ret_code_e set_interact(int user_id);
ret_code_e send_stream(const media_info_t* pmedia_info, const char* pdata, int data_len,
                        conference_media_type_e media_type);
ret_code_e recv_stream(int user_id, conference_media_type_e media_type, int ctrl);
ret_code_e send_transparent_data(int user_id, const char *pdata, int data_len, int data_type);

/* The document's callback types: assigning them to the table fails on any difference. */
static void on_chat(const conference_chat_info_t *pchat_info) { (void)pchat_info; }
static void on_state(result_code_e result, conference_state_e
        conference_state_id, const user_info_t *puser_info, void *append_data)
{
    (void)result; (void)conference_state_id; (void)puser_info; (void)append_data;
}
static void on_stream(const media_info_t *pmedia_info, const char
        *pdata, int data_len, int user_id, conference_media_type_e media_type)
{
    (void)pmedia_info; (void)pdata; (void)data_len; (void)user_id; (void)media_type;
}

/* Field C types: a pointer to the document's type must accept the field's address. */
static void field_types(void)
{
    media_info_t media;
    room_info_t room;
    user_info_t user;
    conference_chat_info_t chat;
    aux_stream_state_info_t aux;
    looked_info_t looked;
    transparent_data_info_t transparent;
    audio_mixer_props_t mixer;
    unsigned short *u16 = &media.m_u16MediaType;
    int *i32 = &media.m_u32W_S;
    unsigned long long *u64 = &media.m_u64TimeStamp;
    time_t *t = &room.m_tStartTime;
    char (*room_id)[64] = &room.m_strRoomID;
    unsigned char (*gain)[CONFERENCE_AUX_MAX] = &user.m_u8GainAux;
    unsigned char *u8 = &user.m_u8AudioState;
    char (*content)[128] = &chat.m_strContent;
    conference_media_type_e *aux_type = &aux.m_eMediaType;
    conference_media_type_e *looked_type = &looked.m_eMediaType;
    const char **data = &transparent.m_pData;
    int *sample = &mixer.m_i32SampleBit;
    /* Both spellings name one type; so do result_code_e and ret_code_e. */
    intvite_type_e *typo = 0;
    invite_type_e *fixed = typo;
    ret_code_e *ret = 0;
    result_code_e *result = ret;
    /* The document's tags. */
    struct _media_info_s *media_tag = &media;
    struct _room_info_s *room_tag = &room;
    struct _user_info_s *user_tag = &user;
    struct _conference_chat_info_s *chat_tag = &chat;
    struct _aux_stream_state_info_s *aux_tag = &aux;
    struct _audio_mixer_props_s *mixer_tag = &mixer;
    enum _conference_state_e state_tag = CONFERENCE_STATE_LOGIN_MCU;
    enum _conference_media_type_e media_type_tag = CONFERENCE_MEDIA_TYPE_AUDIO;
    enum _intvite_type_e invite_tag = INVITE_TYPE_VIDEO;
    (void)u16; (void)i32; (void)u64; (void)t; (void)room_id; (void)gain; (void)u8;
    (void)content; (void)aux_type; (void)looked_type; (void)data; (void)sample; (void)fixed;
    (void)result; (void)media_tag; (void)room_tag; (void)user_tag; (void)chat_tag;
    (void)aux_tag; (void)mixer_tag; (void)state_tag; (void)media_type_tag; (void)invite_tag;
}

int main(void)
{
    conference_event_handler_t handler = { on_chat, on_state, on_stream };
    (void)handler;
    field_types();

    /* SPEC §1's sizes are the 64-bit ones; a 32-bit target (armv7) has 4-byte pointers and
     * the time_t of its C library (build.rs asks the same compiler). */
    printf("target: %d-bit pointers, %d-bit time_t\n", (int)(P * 8), (int)(T * 8));
    if (P == 8) check("sizeof(time_t)", T, 8);
    check("CONFERENCE_AUX_MAX", CONFERENCE_AUX_MAX, 2);
    check("CONFERENCE_MIXER_USER_ID", CONFERENCE_MIXER_USER_ID, -1);

    SIZE_IS(conference_state_e, 4);
    SIZE_IS(conference_media_type_e, 4);
    SIZE_IS(invite_type_e, 4);
    SIZE_IS(ret_code_e, 4);

    SIZE_IS(aux_stream_state_info_t, 12);
    FIELD_AT(aux_stream_state_info_t, m_i32UserID, 0, 4);
    FIELD_AT(aux_stream_state_info_t, m_i32ResponseState, 4, 4);
    FIELD_AT(aux_stream_state_info_t, m_eMediaType, 8, 4);

    SIZE_IS(conference_chat_info_t, 140);
    FIELD_AT(conference_chat_info_t, m_i32SrcID, 0, 4);
    FIELD_AT(conference_chat_info_t, m_i32DstID, 4, 4);
    FIELD_AT(conference_chat_info_t, m_i32Color, 8, 4);
    FIELD_AT(conference_chat_info_t, m_strContent, 12, 128);

    SIZE_IS(media_info_t, 32);
    FIELD_AT(media_info_t, m_u16MediaType, 0, 2);
    FIELD_AT(media_info_t, m_u16CodecID, 2, 2);
    FIELD_AT(media_info_t, m_u16FrameSeq, 4, 2);
    FIELD_AT(media_info_t, m_u16KeyFrame, 6, 2);
    FIELD_AT(media_info_t, m_u16Framerate, 8, 2);
    FIELD_AT(media_info_t, m_u16StreamID, 10, 2);
    FIELD_AT(media_info_t, m_u32W_S, 12, 4);
    FIELD_AT(media_info_t, m_u32H_C, 16, 4);
    FIELD_AT(media_info_t, m_u32Bitrate, 20, 4);
    FIELD_AT(media_info_t, m_u64TimeStamp, 24, 8);

    SIZE_IS(room_info_t, 136 + 2 * T);
    FIELD_AT(room_info_t, m_strRoomID, 0, 64);
    FIELD_AT(room_info_t, m_strRoomName, 64, 32);
    FIELD_AT(room_info_t, m_strCreatorID, 96, 32);
    FIELD_AT(room_info_t, m_tStartTime, 128, T);
    FIELD_AT(room_info_t, m_tEndTime, 128 + T, T);
    FIELD_AT(room_info_t, m_s32MaxUserCnt, 128 + 2 * T, 4);
    FIELD_AT(room_info_t, m_s32CurUserCnt, 132 + 2 * T, 4);

    SIZE_IS(user_info_t, 106);
    FIELD_AT(user_info_t, m_u8IsMaster, 0, 1);
    FIELD_AT(user_info_t, m_u8IsChairMan, 1, 1);
    FIELD_AT(user_info_t, m_u8BcastVideo, 2, 1);
    FIELD_AT(user_info_t, m_u8BcastAudio, 3, 1);
    FIELD_AT(user_info_t, m_u8GainAux, 4, 2);
    FIELD_AT(user_info_t, m_u8SignalStatus, 6, 1);
    FIELD_AT(user_info_t, m_strID, 7, 32);
    FIELD_AT(user_info_t, m_strUserName, 39, 32);
    FIELD_AT(user_info_t, m_strNickName, 71, 32);
    FIELD_AT(user_info_t, m_u8AuthVideo, 103, 1);
    FIELD_AT(user_info_t, m_u8AuthAudio, 104, 1);
    FIELD_AT(user_info_t, m_u8AudioState, 105, 1);

    SIZE_IS(conference_event_handler_t, 3 * P);
    FIELD_AT(conference_event_handler_t, on_conference_chat, 0, P);
    FIELD_AT(conference_event_handler_t, on_conference_state, P, P);
    FIELD_AT(conference_event_handler_t, on_conference_stream_data, 2 * P, P);

    SIZE_IS(audio_mixer_props_t, 12);
    FIELD_AT(audio_mixer_props_t, m_i32Sample, 0, 4);
    FIELD_AT(audio_mixer_props_t, m_i32Channel, 4, 4);
    FIELD_AT(audio_mixer_props_t, m_i32SampleBit, 8, 4);

    /* SPEC §1 additions. */
    SIZE_IS(transparent_data_info_t, P == 8 ? 24 : 16);
    FIELD_AT(transparent_data_info_t, m_i32SrcID, 0, 4);
    FIELD_AT(transparent_data_info_t, m_i32DataType, 4, 4);
    FIELD_AT(transparent_data_info_t, m_i32DataLen, 8, 4);
    FIELD_AT(transparent_data_info_t, m_pData, P == 8 ? 16 : 12, P);
    SIZE_IS(looked_info_t, 12);
    FIELD_AT(looked_info_t, m_i32ViewerID, 0, 4);
    FIELD_AT(looked_info_t, m_eMediaType, 4, 4);
    FIELD_AT(looked_info_t, m_i32Ctrl, 8, 4);

    ENUM_IS(CONFERENCE_STATE_LOGIN_MCU, 1);
    ENUM_IS(CONFERENCE_STATE_LOGIN_ROOM, 2);
    ENUM_IS(CONFERENCE_STATE_USER_ENTER, 3);
    ENUM_IS(CONFERENCE_STATE_USER_LEAVE, 4);
    ENUM_IS(CONFERENCE_STATE_ROOM_EXIT, 5);
    ENUM_IS(CONFERENCE_STATE_USER_TALK, 6);
    ENUM_IS(CONFERENCE_STATE_USER_BCAST, 7);
    ENUM_IS(CONFERENCE_STATE_USER_CHAIR, 8);
    ENUM_IS(CONFERENCE_STATE_LOOKED, 9);
    ENUM_IS(CONFERENCE_STATE_USER_CLOSE, 10);
    ENUM_IS(CONFERENCE_STATE_USER_REQTALK, 11);
    ENUM_IS(CONFERENCE_STATE_CONNECT_MCU_FAILED, 12);
    ENUM_IS(CONFERENCE_STATE_LOGIN_ROOM_FAILED, 13);
    ENUM_IS(CONFERENCE_STATE_USER_KICKED, 14);
    ENUM_IS(CONFERENCE_STATE_USER_VPOS, 15);
    ENUM_IS(CONFERENCE_STATE_UPDATE_INTERACT, 16);
    ENUM_IS(CONFERENCE_STATE_USER_CHAT, 17);
    ENUM_IS(CONFERENCE_STATE_USER_VNC, 18);
    ENUM_IS(CONFERENCE_STATE_NICK_NAME, 19);
    ENUM_IS(CONFERENCE_STATE_RECV_JOIN, 20);
    ENUM_IS(CONFERENCE_STATE_RECV_INVITE, 21);
    ENUM_IS(CONFERENCE_STATE_REJECT_JOIN, 22);
    ENUM_IS(CONFERENCE_STATE_ALLOW_JOIN, 23);
    ENUM_IS(CONFERENCE_STATE_REJECT_INVITE, 24);
    ENUM_IS(CONFERENCE_STATE_ALLOW_INVITE, 25);
    ENUM_IS(CONFERENCE_STATE_TRANSPARENT, 26);
    ENUM_IS(CONFERENCE_STATE_USER_AUX, 27);

    ENUM_IS(CONFERENCE_MEDIA_TYPE_AUDIO, 1);
    ENUM_IS(CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR, 2);
    ENUM_IS(CONFERENCE_MEDIA_TYPE_VIDEO_MINOR, 3);
    ENUM_IS(CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2, 4);

    ENUM_IS(INVITE_TYPE_VIDEO, 0);
    ENUM_IS(INVITE_TYPE_AUDIO, 1);

    /* conference_set_tls() (a prefixed addition, docs/SECURITY.md). */
    ENUM_IS(CONFERENCE_TLS_ENV, -1);
    ENUM_IS(CONFERENCE_TLS_OFF, 0);
    ENUM_IS(CONFERENCE_TLS_PREFER, 1);
    ENUM_IS(CONFERENCE_TLS_REQUIRE, 2);

    /* Section 四, every code. */
    ENUM_IS(retCode_Success, 0);
    ENUM_IS(retCode_False, 1);
    ENUM_IS(retCode_ParamErr, 2);
    ENUM_IS(retCode_InitErr, 3);
    ENUM_IS(retCode_InitedErr, 4);
    ENUM_IS(retCode_UninitErr, 5);
    ENUM_IS(retCode_SockErr, 6);
    ENUM_IS(retCode_AddrErr, 7);
    ENUM_IS(retCode_PortErr, 8);
    ENUM_IS(retCode_CreateSockErr, 9);
    ENUM_IS(retCode_SockBindErr, 10);
    ENUM_IS(retCode_SockCnntErr, 11);
    ENUM_IS(retCode_SockListenErr, 12);
    ENUM_IS(retCode_SockAcceptErr, 13);
    ENUM_IS(retCode_SockSendErr, 14);
    ENUM_IS(retCode_SockRecvErr, 15);
    ENUM_IS(retCode_SizeNotEnough, 16);
    ENUM_IS(retCode_SizeEnough, 17);
    ENUM_IS(retCode_MsgErr, 18);
    ENUM_IS(retCode_CurlErr, 19);
    ENUM_IS(retCode_CurlInitErr, 20);
    ENUM_IS(retCode_CurlSendErr, 21);
    ENUM_IS(retCode_CurlRecvErr, 22);
    ENUM_IS(retCode_FileErr, 23);
    ENUM_IS(retCode_FileExistErr, 24);
    ENUM_IS(retCode_FileNotExistErr, 25);
    ENUM_IS(retCode_FileHaveOpen, 26);
    ENUM_IS(retCode_FileCreateErr, 27);
    ENUM_IS(retCode_FileOpenErr, 28);
    ENUM_IS(retCode_FileReadErr, 29);
    ENUM_IS(retCode_FileReadEnd, 30);
    ENUM_IS(retCode_FileWriteErr, 31);
    ENUM_IS(retCode_FileSeekErr, 32);
    ENUM_IS(retCode_FileCloseErr, 33);
    ENUM_IS(retCode_FileCopyErr, 34);
    ENUM_IS(retCode_FileCutErr, 35);
    ENUM_IS(retCode_FileFormatErr, 36);
    ENUM_IS(retCode_FileSameErr, 37);
    ENUM_IS(retCode_FileAccessErr, 38);
    ENUM_IS(retCode_FileSizeErr, 39);
    ENUM_IS(retCode_FileFindErr, 40);
    ENUM_IS(retCode_FileRemoveErr, 41);
    ENUM_IS(retCode_DirErr, 42);
    ENUM_IS(retCode_DirExistErr, 43);
    ENUM_IS(retCode_DirNotexistErr, 44);
    ENUM_IS(retCode_DirCreateErr, 45);
    ENUM_IS(retCode_DirOpenErr, 46);
    ENUM_IS(retCode_DirCloseErr, 47);
    ENUM_IS(retCode_DirCopyErr, 48);
    ENUM_IS(retCode_DirCutErr, 49);
    ENUM_IS(retCode_DirFindErr, 50);
    ENUM_IS(retCode_DirSameErr, 51);
    ENUM_IS(retCode_DirAccessErr, 52);
    ENUM_IS(retCode_DirRemoveErr, 53);
    ENUM_IS(retCode_MemoryErr, 54);
    ENUM_IS(retCode_MemoryAllocErr, 55);
    ENUM_IS(retCode_MemoryFreeErr, 56);
    ENUM_IS(retCode_MemoryOutErr, 57);
    ENUM_IS(retCode_StreamErr, 58);
    ENUM_IS(retCode_StreamNotErr, 59);
    ENUM_IS(retCode_StreamExistErr, 60);
    ENUM_IS(retCode_ListErr, 61);
    ENUM_IS(retCode_QueueErr, 62);
    ENUM_IS(retCode_QueueNodeErr, 63);
    ENUM_IS(retCode_QueueEmptyErr, 64);
    ENUM_IS(retCode_QueueFullErr, 65);
    ENUM_IS(retCode_QueueFindErr, 66);
    ENUM_IS(retCode_XmlErr, 67);
    ENUM_IS(retCode_XmlOpenErr, 68);
    ENUM_IS(retCode_XmlNodeErr, 69);
    ENUM_IS(retCode_XmlAttributeErr, 70);
    ENUM_IS(retCode_XmlNodeNotExist, 71);
    ENUM_IS(retCode_RecordErr, 72);
    ENUM_IS(retCode_RecordRunErr, 73);
    ENUM_IS(retCode_RecordNotStart, 74);
    ENUM_IS(retCode_RecordStopErr, 75);
    ENUM_IS(retCode_RecordDirctErr, 76);
    ENUM_IS(retCode_RecordResErr, 77);
    ENUM_IS(retCode_VaCheckErr, 78);
    ENUM_IS(retCode_VaProfileErr, 79);
    ENUM_IS(retCode_VaRcErr, 80);
    ENUM_IS(retCode_VaAdmixing, 81);
    ENUM_IS(retCode_EncSupportErr, 82);
    ENUM_IS(retCode_EncErr, 83);
    ENUM_IS(retCode_EncInitedErr, 84);
    ENUM_IS(retCode_EncNotFoundErr, 85);
    ENUM_IS(retCode_EncUninitErr, 86);
    ENUM_IS(retCode_ParseErr, 87);
    ENUM_IS(retCode_DecSupportErr, 88);
    ENUM_IS(retCode_DecSupportYUV420, 89);
    ENUM_IS(retCode_DecNotFoundEntryPoint, 90);
    ENUM_IS(retCode_DecFailed, 91);
    ENUM_IS(retCode_OpNotSupport, 92);
    ENUM_IS(retCode_YUVFormatErr, 93);
    ENUM_IS(retCode_IDEnrityErr, 94);
    ENUM_IS(retCode_Timeout, 95);
    ENUM_IS(retCode_NotObjectErr, 96);
    ENUM_IS(retCode_ObjectSupportErr, 97);
    ENUM_IS(retCode_DataErr, 98);
    ENUM_IS(retCode_ZlibErr, 99);
    ENUM_IS(retCode_NotLoginErr, 100);
    ENUM_IS(retCode_ReloginedErr, 101);
    ENUM_IS(retCode_StateErr, 102);
    ENUM_IS(retCode_ThreadErr, 103);
    ENUM_IS(retCode_CamCtrlErr, 104);
    ENUM_IS(retCode_AccessErr, 105);
    ENUM_IS(retCode_UserPasswordErr, 106);
    ENUM_IS(retCode_NotLoginInfo, 107);
    ENUM_IS(retCode_NoScreenConnection, 108);
    ENUM_IS(retCode_UnSupportResolution, 109);
    ENUM_IS(retCode_UnCompleteData, 110);
    ENUM_IS(retCode_Unknow, 1000);
    ENUM_IS(retCode_Exception, 0x1002);
    ENUM_IS(retCode_ServerInterErr, 0x1003);
    ENUM_IS(retCode_NvalidSessionErr, 0x1004);
    ENUM_IS(retCode_NotFindUserErr, 0x1005);
    ENUM_IS(retCode_VerifiFailureErr, 0x1006);
    ENUM_IS(retCode_DenyAccessErr, 0x1007);
    ENUM_IS(retCode_InvalidParam, 0x1008);
    ENUM_IS(retCode_SytemMantainErr, 0x1009);
    ENUM_IS(retCode_MuchVisitedErr, 0x100a);
    ENUM_IS(retCode_NotFindFileErr, 0x100b);
    ENUM_IS(retCode_NotFindFileListErr, 0x100c);
    ENUM_IS(retCode_FileListExist, 0x100d);
    ENUM_IS(retCode_FileTransChnUnexist, 0x100e);
    ENUM_IS(retCode_FileUploading, 0x100f);
    ENUM_IS(retCode_FileTooLarge, 0x1010);
    ENUM_IS(retCode_SenderDidnotUpload, 0x10011);
    ENUM_IS(retCode_FileExist, 0x10012);
    ENUM_IS(retCode_NanmeOrPasswordErr, 0x10013);
    ENUM_IS(retCode_RoomUnexist, 0x10014);
    ENUM_IS(retCode_RoomFull, 0x10015);
    ENUM_IS(retCode_ApplicationTypeMismatch, 0x10016);
    ENUM_IS(retCode_ServerMismatch, 0x10017);
    ENUM_IS(retCode_SpecifiedServerNotFound, 0x10018);
    ENUM_IS(retCode_ServerFull, 0x10019);
    ENUM_IS(retCode_UserExist, 0x1001a);
    ENUM_IS(retCode_NeedRoomPassword, 0x1001b);
    ENUM_IS(retCode_RoomLock, 0x1001c);
    ENUM_IS(retCode_RoomOverdue, 0x1001d);
    ENUM_IS(retCode_RoomClosed, 0x1001e);
    ENUM_IS(retCode_ModeratorRefusesJoin, 0x1001f);
    ENUM_IS(retCode_UserAreBlackListed, 0x10020);
    ENUM_IS(retCode_ServerCascadeFailure, 0x10021);
    ENUM_IS(retCode_ServerNotBoot, 0x10022);
    ENUM_IS(retCode_ServerStoped, 0x10023);
    ENUM_IS(retCode_LackOfBalance, 0x10024);
    ENUM_IS(retCode_ServiceDiscontinuation, 0x10025);
    ENUM_IS(retCode_ChairPasswordErr, 0x10026);
    ENUM_IS(retCode_InteractiveClassroomUnexist, 0x10027);
    ENUM_IS(retCode_AccessDenied, 0x10028);
    ENUM_IS(retCode_KickOut, 0x10029);
    ENUM_IS(retCode_UserClose, 0x1002a);
    ENUM_IS(retCode_StreamTypeMismatch, 0x1002b);
    ENUM_IS(retCode_ExceedMaxPreview, 0x1002c);
    ENUM_IS(retCode_OutOfResources, 0x1002d);
    ENUM_IS(retCode_NetworkException, 0x1002e);
    ENUM_IS(retCode_RegisterIdle, 0x1002f);
    ENUM_IS(retCode_Registering, 0x10030);
    ENUM_IS(retCode_Registered, 0x10031);
    ENUM_IS(retCode_DeRegistered, 0x10032);
    ENUM_IS(retCode_RegisterFailed, 0x10033);
    ENUM_IS(retCode_ErrorNetwork, 0x10034);
    ENUM_IS(retCode_ErrorAuthFailed, 0x10035);
    ENUM_IS(retCode_UserBusy, 0x10036);
    ENUM_IS(retCode_LongTimeNoReSponse, 0x10037);
    ENUM_IS(retCode_LoginFailed, 0x10038);

    if (failures != 0) {
        printf("%d ABI mismatches\n", failures);
        return 1;
    }
    printf("ABI matches the document\n");
    return 0;
}

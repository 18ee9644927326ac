/*
 * A firmware-style program written from the vendor document alone: it does NOT include our
 * header. Typedefs and prototypes are the document's (section 二 and 三), with its
 * `typedef _intvite_type_e` typo mended and CONFERENCE_AUX_MAX = 2 (SPEC §1); the error codes
 * are section 四's table. tests/vendor_app.rs compiles it with -Werror, links it against
 * libconference_sdk.so and runs it: it checks the return codes of SPEC §3 at run time.
 *
 * Usage: vendor_app <closed-loopback-port>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONFERENCE_AUX_MAX 2

typedef enum _conference_state_e{
    CONFERENCE_STATE_LOGIN_MCU = 1,
    CONFERENCE_STATE_LOGIN_ROOM,
    CONFERENCE_STATE_USER_ENTER,
    CONFERENCE_STATE_USER_LEAVE,
    CONFERENCE_STATE_ROOM_EXIT,
    CONFERENCE_STATE_USER_TALK,
    CONFERENCE_STATE_USER_BCAST,
    CONFERENCE_STATE_USER_CHAIR,
    CONFERENCE_STATE_LOOKED,
    CONFERENCE_STATE_USER_CLOSE,
    CONFERENCE_STATE_USER_REQTALK,
    CONFERENCE_STATE_CONNECT_MCU_FAILED,
    CONFERENCE_STATE_LOGIN_ROOM_FAILED,
    CONFERENCE_STATE_USER_KICKED,
    CONFERENCE_STATE_USER_VPOS,
    CONFERENCE_STATE_UPDATE_INTERACT,
    CONFERENCE_STATE_USER_CHAT,
    CONFERENCE_STATE_USER_VNC,
    CONFERENCE_STATE_NICK_NAME,
    CONFERENCE_STATE_RECV_JOIN,
    CONFERENCE_STATE_RECV_INVITE,
    CONFERENCE_STATE_REJECT_JOIN,
    CONFERENCE_STATE_ALLOW_JOIN,
    CONFERENCE_STATE_REJECT_INVITE,
    CONFERENCE_STATE_ALLOW_INVITE,
    CONFERENCE_STATE_TRANSPARENT,
    CONFERENCE_STATE_USER_AUX,
}conference_state_e;

typedef enum _conference_media_type_e{
    CONFERENCE_MEDIA_TYPE_AUDIO = 1,
    CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR,
    CONFERENCE_MEDIA_TYPE_VIDEO_MINOR,
    CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2,
}conference_media_type_e;

typedef enum {
    retCode_Success = 0,
    retCode_False = 1,
    retCode_ParamErr = 2,
    retCode_InitErr = 3,
    retCode_InitedErr = 4,
    retCode_UninitErr = 5,
    retCode_SockErr = 6,
    retCode_AddrErr = 7,
    retCode_PortErr = 8,
    retCode_CreateSockErr = 9,
    retCode_SockBindErr = 10,
    retCode_SockCnntErr = 11,
    retCode_SockListenErr = 12,
    retCode_SockAcceptErr = 13,
    retCode_SockSendErr = 14,
    retCode_SockRecvErr = 15,
    retCode_SizeNotEnough = 16,
    retCode_SizeEnough = 17,
    retCode_MsgErr = 18,
    retCode_CurlErr = 19,
    retCode_CurlInitErr = 20,
    retCode_CurlSendErr = 21,
    retCode_CurlRecvErr = 22,
    retCode_FileErr = 23,
    retCode_FileExistErr = 24,
    retCode_FileNotExistErr = 25,
    retCode_FileHaveOpen = 26,
    retCode_FileCreateErr = 27,
    retCode_FileOpenErr = 28,
    retCode_FileReadErr = 29,
    retCode_FileReadEnd = 30,
    retCode_FileWriteErr = 31,
    retCode_FileSeekErr = 32,
    retCode_FileCloseErr = 33,
    retCode_FileCopyErr = 34,
    retCode_FileCutErr = 35,
    retCode_FileFormatErr = 36,
    retCode_FileSameErr = 37,
    retCode_FileAccessErr = 38,
    retCode_FileSizeErr = 39,
    retCode_FileFindErr = 40,
    retCode_FileRemoveErr = 41,
    retCode_DirErr = 42,
    retCode_DirExistErr = 43,
    retCode_DirNotexistErr = 44,
    retCode_DirCreateErr = 45,
    retCode_DirOpenErr = 46,
    retCode_DirCloseErr = 47,
    retCode_DirCopyErr = 48,
    retCode_DirCutErr = 49,
    retCode_DirFindErr = 50,
    retCode_DirSameErr = 51,
    retCode_DirAccessErr = 52,
    retCode_DirRemoveErr = 53,
    retCode_MemoryErr = 54,
    retCode_MemoryAllocErr = 55,
    retCode_MemoryFreeErr = 56,
    retCode_MemoryOutErr = 57,
    retCode_StreamErr = 58,
    retCode_StreamNotErr = 59,
    retCode_StreamExistErr = 60,
    retCode_ListErr = 61,
    retCode_QueueErr = 62,
    retCode_QueueNodeErr = 63,
    retCode_QueueEmptyErr = 64,
    retCode_QueueFullErr = 65,
    retCode_QueueFindErr = 66,
    retCode_XmlErr = 67,
    retCode_XmlOpenErr = 68,
    retCode_XmlNodeErr = 69,
    retCode_XmlAttributeErr = 70,
    retCode_XmlNodeNotExist = 71,
    retCode_RecordErr = 72,
    retCode_RecordRunErr = 73,
    retCode_RecordNotStart = 74,
    retCode_RecordStopErr = 75,
    retCode_RecordDirctErr = 76,
    retCode_RecordResErr = 77,
    retCode_VaCheckErr = 78,
    retCode_VaProfileErr = 79,
    retCode_VaRcErr = 80,
    retCode_VaAdmixing = 81,
    retCode_EncSupportErr = 82,
    retCode_EncErr = 83,
    retCode_EncInitedErr = 84,
    retCode_EncNotFoundErr = 85,
    retCode_EncUninitErr = 86,
    retCode_ParseErr = 87,
    retCode_DecSupportErr = 88,
    retCode_DecSupportYUV420 = 89,
    retCode_DecNotFoundEntryPoint = 90,
    retCode_DecFailed = 91,
    retCode_OpNotSupport = 92,
    retCode_YUVFormatErr = 93,
    retCode_IDEnrityErr = 94,
    retCode_Timeout = 95,
    retCode_NotObjectErr = 96,
    retCode_ObjectSupportErr = 97,
    retCode_DataErr = 98,
    retCode_ZlibErr = 99,
    retCode_NotLoginErr = 100,
    retCode_ReloginedErr = 101,
    retCode_StateErr = 102,
    retCode_ThreadErr = 103,
    retCode_CamCtrlErr = 104,
    retCode_AccessErr = 105,
    retCode_UserPasswordErr = 106,
    retCode_NotLoginInfo = 107,
    retCode_NoScreenConnection = 108,
    retCode_UnSupportResolution = 109,
    retCode_UnCompleteData = 110,
    retCode_Unknow = 1000,
    retCode_Exception = 0x1002,
    retCode_ServerInterErr = 0x1003,
    retCode_NvalidSessionErr = 0x1004,
    retCode_NotFindUserErr = 0x1005,
    retCode_VerifiFailureErr = 0x1006,
    retCode_DenyAccessErr = 0x1007,
    retCode_InvalidParam = 0x1008,
    retCode_SytemMantainErr = 0x1009,
    retCode_MuchVisitedErr = 0x100a,
    retCode_NotFindFileErr = 0x100b,
    retCode_NotFindFileListErr = 0x100c,
    retCode_FileListExist = 0x100d,
    retCode_FileTransChnUnexist = 0x100e,
    retCode_FileUploading = 0x100f,
    retCode_FileTooLarge = 0x1010,
    retCode_SenderDidnotUpload = 0x10011,
    retCode_FileExist = 0x10012,
    retCode_NanmeOrPasswordErr = 0x10013,
    retCode_RoomUnexist = 0x10014,
    retCode_RoomFull = 0x10015,
    retCode_ApplicationTypeMismatch = 0x10016,
    retCode_ServerMismatch = 0x10017,
    retCode_SpecifiedServerNotFound = 0x10018,
    retCode_ServerFull = 0x10019,
    retCode_UserExist = 0x1001a,
    retCode_NeedRoomPassword = 0x1001b,
    retCode_RoomLock = 0x1001c,
    retCode_RoomOverdue = 0x1001d,
    retCode_RoomClosed = 0x1001e,
    retCode_ModeratorRefusesJoin = 0x1001f,
    retCode_UserAreBlackListed = 0x10020,
    retCode_ServerCascadeFailure = 0x10021,
    retCode_ServerNotBoot = 0x10022,
    retCode_ServerStoped = 0x10023,
    retCode_LackOfBalance = 0x10024,
    retCode_ServiceDiscontinuation = 0x10025,
    retCode_ChairPasswordErr = 0x10026,
    retCode_InteractiveClassroomUnexist = 0x10027,
    retCode_AccessDenied = 0x10028,
    retCode_KickOut = 0x10029,
    retCode_UserClose = 0x1002a,
    retCode_StreamTypeMismatch = 0x1002b,
    retCode_ExceedMaxPreview = 0x1002c,
    retCode_OutOfResources = 0x1002d,
    retCode_NetworkException = 0x1002e,
    retCode_RegisterIdle = 0x1002f,
    retCode_Registering = 0x10030,
    retCode_Registered = 0x10031,
    retCode_DeRegistered = 0x10032,
    retCode_RegisterFailed = 0x10033,
    retCode_ErrorNetwork = 0x10034,
    retCode_ErrorAuthFailed = 0x10035,
    retCode_UserBusy = 0x10036,
    retCode_LongTimeNoReSponse = 0x10037,
    retCode_LoginFailed = 0x10038,
} ret_code_e;
typedef ret_code_e result_code_e;

typedef enum _intvite_type_e{
    INVITE_TYPE_VIDEO,
    INVITE_TYPE_AUDIO,
}intvite_type_e;
typedef intvite_type_e invite_type_e;

typedef struct _aux_stream_state_info_s{
    int m_i32UserID;
    int m_i32ResponseState;
    conference_media_type_e m_eMediaType;
}aux_stream_state_info_t;

typedef struct _conference_chat_info_s{
    int m_i32SrcID;
    int m_i32DstID;
    int m_i32Color;
    char m_strContent[128];
}conference_chat_info_t;

typedef struct _media_info_s
{
    unsigned short m_u16MediaType;
    unsigned short m_u16CodecID;
    unsigned short m_u16FrameSeq;
    unsigned short m_u16KeyFrame;
    unsigned short m_u16Framerate;
    unsigned short m_u16StreamID;
    int m_u32W_S;
    int          m_u32H_C;
    int          m_u32Bitrate;
    unsigned long long m_u64TimeStamp;
}media_info_t;

typedef struct _room_info_s{
    char m_strRoomID[64];
    char m_strRoomName[32];
    char m_strCreatorID[32];
    time_t  m_tStartTime;
    time_t  m_tEndTime;
    int m_s32MaxUserCnt;
    int m_s32CurUserCnt;
}room_info_t;

typedef struct _user_info_s{
    unsigned char m_u8IsMaster;
    unsigned char m_u8IsChairMan;
    unsigned char m_u8BcastVideo;
    unsigned char m_u8BcastAudio;
    unsigned char m_u8GainAux[CONFERENCE_AUX_MAX];
    unsigned char m_u8SignalStatus;
    char m_strID[32];
    char m_strUserName[32];
    char m_strNickName[32];
    unsigned char m_u8AuthVideo;
    unsigned char m_u8AuthAudio;
    unsigned char m_u8AudioState;
}user_info_t;

typedef struct {
    void (*on_conference_chat) (const conference_chat_info_t *pchat_info);
    void (*on_conference_state) (result_code_e result, conference_state_e
        conference_state_id, const user_info_t *puser_info, void *append_data);
    void (*on_conference_stream_data) (const media_info_t *pmedia_info, const char
        *pdata, int data_len, int user_id, conference_media_type_e media_type);
} conference_event_handler_t;

typedef struct _audio_mixer_props_s{
    int m_i32Sample;
    int m_i32Channel;
    int m_i32SampleBit;
}audio_mixer_props_t;

ret_code_e init(const audio_mixer_props_t *pmixer_props, const conference_event_handler_t *pevent_handler);
ret_code_e uninit();
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

/* ---------------------------------------------------------------- the program */

static int failures = 0;
static int events = 0;

#define EXPECT(call, want)                                                                  \
    do {                                                                                    \
        int got_ = (int)(call);                                                             \
        if (got_ != (int)(want)) {                                                          \
            printf("FAIL line %d: %s returned %d (%#x), expected %s = %d\n", __LINE__,      \
                   #call, got_, (unsigned)got_, #want, (int)(want));                        \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

static void on_chat(const conference_chat_info_t *pchat_info)
{
    (void)pchat_info;
    events++;
}

static void on_state(result_code_e result, conference_state_e conference_state_id,
                     const user_info_t *puser_info, void *append_data)
{
    (void)result; (void)conference_state_id; (void)puser_info; (void)append_data;
    events++;
}

static void on_stream(const media_info_t *pmedia_info, const char *pdata, int data_len,
                      int user_id, conference_media_type_e media_type)
{
    (void)pmedia_info; (void)pdata; (void)data_len; (void)user_id; (void)media_type;
    events++;
}

int main(int argc, char **argv)
{
    conference_event_handler_t handler;
    audio_mixer_props_t mixer = { 48000, 2, 16 };
    audio_mixer_props_t bad_mixer = { 44100, 3, 16 };
    media_info_t media;
    conference_chat_info_t chat;
    user_info_t user;
    room_info_t room;
    int count = -1;
    int closed_port;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <closed-loopback-port>\n", argv[0]);
        return 2;
    }
    closed_port = atoi(argv[1]);
    memset(&handler, 0, sizeof handler);
    handler.on_conference_chat = on_chat;
    handler.on_conference_state = on_state;
    handler.on_conference_stream_data = on_stream;
    memset(&media, 0, sizeof media);
    memset(&chat, 0, sizeof chat);
    strcpy(chat.m_strContent, "hello");

    /* Before init: retCode_InitErr everywhere, uninit included. */
    EXPECT(uninit(), retCode_InitErr);
    EXPECT(get_user_count(&count), retCode_InitErr);
    EXPECT(connect_MCU("127.0.0.1", closed_port, "u", "p"), retCode_InitErr);
    EXPECT(send_chat(NULL), retCode_InitErr);

    /* init, then init again. */
    EXPECT(init(NULL, &handler), retCode_Success);
    EXPECT(init(NULL, &handler), retCode_InitedErr);

    /* Bad arguments. */
    EXPECT(get_user_count(NULL), retCode_ParamErr);
    EXPECT(get_conference_room_info(0, NULL), retCode_ParamErr);
    EXPECT(get_conference_room_info(-1, &room), retCode_ParamErr);
    EXPECT(connect_MCU(NULL, closed_port, "u", "p"), retCode_ParamErr);
    EXPECT(connect_MCU("127.0.0.1", 0, "u", "p"), retCode_PortErr);
    EXPECT(connect_MCU("127.0.0.1", 70000, "u", "p"), retCode_PortErr);
    EXPECT(invite(5, (invite_type_e)7, 1), retCode_ParamErr);
    EXPECT(invite(5, INVITE_TYPE_AUDIO, 2), retCode_ParamErr);
    EXPECT(apply_for_talk(-1), retCode_ParamErr);
    EXPECT(kickout_conference_room(0), retCode_ParamErr);
    EXPECT(recv_stream(5, (conference_media_type_e)9, 1), retCode_ParamErr);
    EXPECT(send_stream(&media, "x", -1, CONFERENCE_MEDIA_TYPE_AUDIO), retCode_ParamErr);
    EXPECT(send_transparent_data(0, "x", 1, 2), retCode_ParamErr);

    /* Not connected: room calls answer retCode_NotLoginErr, nothing is faked. */
    EXPECT(get_conference_room_count(&count), retCode_NotLoginErr);
    EXPECT(login_conference_room(1), retCode_NotLoginErr);
    EXPECT(get_user_count(&count), retCode_NotLoginErr);
    EXPECT(get_own_user_info(&user), retCode_NotLoginErr);
    EXPECT(send_chat(&chat), retCode_NotLoginErr);
    EXPECT(apply_for_talk(1), retCode_NotLoginErr);
    EXPECT(send_stream(&media, "x", 1, CONFERENCE_MEDIA_TYPE_AUDIO), retCode_NotLoginErr);
    EXPECT(logout_conference_room(), retCode_NotLoginErr);
    EXPECT(disconnect_MCU(), retCode_NotLoginErr);
    if (count != -1) {
        printf("FAIL: count written on failure (%d)\n", count);
        failures++;
    }

    /* A port nobody listens on: the connection is refused. */
    EXPECT(connect_MCU("127.0.0.1", closed_port, "u", "p"), retCode_SockCnntErr);

    /* uninit twice; init with an unsupported mixer fails and leaves it uninitialised. */
    EXPECT(uninit(), retCode_Success);
    EXPECT(uninit(), retCode_InitErr);
    EXPECT(login_conference_room(1), retCode_InitErr);
    EXPECT(init(&bad_mixer, &handler), retCode_ParamErr);
    EXPECT(get_user_count(&count), retCode_InitErr);
    EXPECT(init(&mixer, NULL), retCode_ParamErr);

    /* init after uninit works again, with a mixer this time. */
    EXPECT(init(&mixer, &handler), retCode_Success);
    EXPECT(get_user_count(&count), retCode_NotLoginErr);
    EXPECT(uninit(), retCode_Success);

    if (failures != 0) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("vendor program: all return codes as documented (%d events)\n", events);
    return 0;
}

/*
 * lesson.h: what the endpoints of the lesson share: the cast, the room of the test
 * configuration, the media frames each one sends (so receivers check them byte for byte),
 * and the common connect-and-join sequence.
 */
#ifndef LESSON_H
#define LESSON_H

#include "harness.h"

/* The cast: account names (password = user name) of tests/harness.rs and of the MCU's
 * built-in demo. */
#define TEACHER "teacher"
#define CLASS1 "class1"
#define CLASS2 "class2"

/* The lesson's configuration (tests/harness.rs writes the same values). */
#define LESSON_ROOM 7
#define LESSON_ROOM_NAME "Harness Room 教室"
#define LESSON_ROOM_MAX 8
#define LESSON_ROOM_START 1600000000LL
#define LESSON_ROOM_END 4000000000LL /* beyond 2^31: saturated with a 32-bit time_t */
#define OVERDUE_ROOM 8
#define TEACHER_NICK "王老师 (teacher)"
/* class2's configured nickname is 45 bytes of UTF-8; user_info_t keeps 31 bytes and the NUL,
 * cut on a character boundary (SPEC §2): 10 characters. */
#define CLASS2_NICK "二年级二班的录播教室"
/* Room 8's name is cut the same way (m_strRoomName[32]). */
#define OVERDUE_ROOM_NAME "已经结束的房间名称非"
#define ROOMS_ON_MCU 2
#define NO_SUCH_ROOM 999
#define NO_SUCH_USER 9999

/* The longest chat message: 127 bytes of text and the NUL. */
void long_chat(char out[128]);

/* Command line shared by the endpoints: <mode> <host> <port> <room> [role]. */
typedef struct {
    const char *mode;
    const char *host;
    int port;
    int room;
    const char *role; /* listener: A (class1) or B (class2) */
} args_t;

/* Parses argv (exits 2 with usage on error). */
args_t parse_args(int argc, char **argv, const char *program, int needs_role);

/* One media frame of the lesson: header, stream type, payload length and seed. */
typedef struct {
    media_info_t info;
    int type;
    int len;
    unsigned seed;
} frame_t;

#define SEND(f) SEND_FRAME(&(f).info, (f).len, (f).seed, (f).type)
#define CHECK_F(r, sender, f) CHECK_FRAME((r), (sender), (f).type, &(f).info, (f).len, (f).seed)

/* class1's main video: a key frame in three fragments (FrameSeq 1, 0, 2), a whole delta
 * frame (3), a whole key frame sent when the teacher starts looking. */
extern const frame_t A_VIDEO_KEY[3];
extern const frame_t A_VIDEO_DELTA;
extern const frame_t A_VIDEO_KEY2;
/* class1's audio: four packets (G.722.1, forwarded as is). */
extern const frame_t A_AUDIO[4];
/* class1's courseware on aux slot 0. */
extern const frame_t A_AUX;
/* class2's main video while broadcast. */
extern const frame_t B_VIDEO;
/* The teacher's main video to the interactive user. */
extern const frame_t T_VIDEO;
/* The teacher's microphone as raw PCM (codec 0), 48 kHz stereo 16-bit, 20 ms: mixable. */
extern const frame_t T_PCM[10];

/* How an endpoint joins: the checks of init, connect_MCU and login_conference_room, with
 * the room list and the LOGIN_* events. Returns the own user id. */
typedef struct {
    const char *user;
    const char *password;
    int users_in_room_before; /* users already in the room (the room list says so); -1:
                                 unknown (the demo), not checked */
    int try_wrong_password;   /* connect with a wrong password first */
    int try_bad_rooms;        /* log into a missing and an overdue room first */
    int check_config;         /* the test configuration's rooms (not the demo's) */
    const audio_mixer_props_t *mixer; /* for init(); NULL: no mixer */
    room_info_t joined;       /* out: the room_info_t of LOGIN_ROOM */
} join_t;

int lesson_join(const args_t *args, join_t *join);

/* Fresh model of a user seen by this endpoint: listener, silent, nothing held; `auth` is
 * 2 for the own user or a moderator viewer, else 0. */
user_model_t model_user(int id, const char *username, const char *nickname, int chair,
                        int auth);

#endif /* LESSON_H */

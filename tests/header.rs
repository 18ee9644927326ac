//! The committed `include/conference_sdk.h` must be exactly what build.rs + cbindgen generate
//! from the current sources (written to `$OUT_DIR`).

mod common;

#[test]
fn committed_header_is_up_to_date() {
    let generated = std::path::Path::new(env!("OUT_DIR")).join("conference_sdk.h");
    let committed = common::root().join("include/conference_sdk.h");
    let generated = std::fs::read_to_string(&generated).expect("build.rs writes the header");
    let committed = std::fs::read_to_string(&committed).expect("include/conference_sdk.h exists");
    if generated != committed {
        let first = generated
            .lines()
            .zip(committed.lines())
            .position(|(g, c)| g != c)
            .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()));
        panic!(
            "include/conference_sdk.h is out of date (first difference at line {}). \
             Regenerate it with scripts/update-header.sh and commit it.",
            first + 1
        );
    }
}

#[test]
fn header_keeps_the_document_names() {
    let header = std::fs::read_to_string(common::root().join("include/conference_sdk.h"))
        .expect("include/conference_sdk.h exists");
    for needle in [
        "#ifndef CONFERENCE_SDK_H",
        "#ifdef __cplusplus",
        "extern \"C\" {",
        "#include <time.h>",
        "#define CONFERENCE_AUX_MAX 2",
        "#define CONFERENCE_MIXER_USER_ID (-1)",
        "typedef enum _conference_state_e {",
        "} conference_state_e;",
        "typedef enum _intvite_type_e {",
        "typedef intvite_type_e invite_type_e;",
        "typedef ret_code_e result_code_e;",
        "typedef struct _user_info_s {",
        "} conference_event_handler_t;",
        "    time_t m_tStartTime;",
        "    unsigned long long m_u64TimeStamp;",
        "ret_code_e invite(int user_id, invite_type_e invite_type, int ctrl);",
        "ret_code_e send_stream(const media_info_t *pmedia_info, const char *pdata, int data_len, conference_media_type_e media_type);",
        "ret_code_e recv_stream(int user_id, conference_media_type_e media_type, int ctrl);",
        "void (*on_conference_state)(result_code_e result, conference_state_e conference_state_id, const user_info_t *puser_info, void *append_data);",
    ] {
        assert!(header.contains(needle), "header lacks `{needle}`");
    }
    // Rust-only helper names never leak into the header.
    for leak in [
        "media_type_value",
        "invite_type_value",
        "int64_t",
        "uint64_t",
        "struct user_info_t",
    ] {
        assert!(!header.contains(leak), "header mentions `{leak}`");
    }
}

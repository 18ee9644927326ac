//! Sets the soname of the cdylib and generates the C header with cbindgen.
//!
//! The header is always generated into `$OUT_DIR/conference_sdk.h`; the committed copy in
//! `include/` is rewritten only with `CONFERENCE_SDK_BLESS_HEADER=1`, so the test that compares
//! the two (tests/header.rs) can catch a committed header that is out of date.

use std::env;
use std::fs;
use std::path::PathBuf;

/// Typedef name → the document's tag (`typedef struct _user_info_s {…} user_info_t;`).
/// cbindgen's "type" style writes anonymous `typedef struct {…} name;`; the tags are added
/// here. `conference_event_handler_t` stays anonymous, as in the document.
const DOCUMENT_TAGS: &[(&str, &str)] = &[
    ("conference_state_e", "_conference_state_e"),
    ("conference_media_type_e", "_conference_media_type_e"),
    ("ret_code_e", "_ret_code_e"),
    ("intvite_type_e", "_intvite_type_e"),
    ("aux_stream_state_info_t", "_aux_stream_state_info_s"),
    ("conference_chat_info_t", "_conference_chat_info_s"),
    ("media_info_t", "_media_info_s"),
    ("room_info_t", "_room_info_s"),
    ("user_info_t", "_user_info_s"),
    ("audio_mixer_props_t", "_audio_mixer_props_s"),
    ("transparent_data_info_t", "_transparent_data_info_s"),
    ("looked_info_t", "_looked_info_s"),
];

/// On a 32-bit target, `time_t` is what the firmware's C library makes it (32-bit on Debian
/// bookworm's armhf, 64-bit with `_TIME_BITS=64` or a newer toolchain): ask the target's C
/// compiler, and build `room_info_t` to match (`cfg(time_t_32)`, see src/ffi/types.rs).
fn probe_time_t() {
    println!("cargo::rustc-check-cfg=cfg(time_t_32)");
    if env::var("CARGO_CFG_TARGET_POINTER_WIDTH").as_deref() != Ok("32") {
        return;
    }
    let target = env::var("TARGET").unwrap_or_default();
    let compiler = [
        format!("CC_{}", target.replace('-', "_")),
        "TARGET_CC".into(),
        "CC".into(),
    ]
    .iter()
    .find_map(|name| {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).ok()
    })
    .unwrap_or_else(|| "cc".into());
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probe = out_dir.join("time_t_probe.c");
    fs::write(
        &probe,
        "#include <time.h>\ntypedef char time_t_is_32_bit[sizeof(time_t) == 4 ? 1 : -1];\n",
    )
    .expect("OUT_DIR is writable");
    let is_32 = std::process::Command::new(&compiler)
        .args(["-fsyntax-only", "-c"])
        .arg(&probe)
        .status()
        .is_ok_and(|status| status.success());
    if is_32 {
        println!("cargo:rustc-cfg=time_t_32");
    }
    println!(
        "cargo:warning=time_t on {target} ({compiler}): {}-bit",
        if is_32 { 32 } else { 64 }
    );
}

/// `ret_code_e::from_code`'s match, generated from the enum's declaration in
/// `src/ffi/ret_code.rs`, the one table of the vendor's codes (the enum itself must stay
/// literal source: cbindgen reads it for the header). A duplicated value is an unreachable
/// pattern, a misspelt name does not compile.
fn generate_from_code(crate_dir: &std::path::Path, out_dir: &std::path::Path) {
    let source = fs::read_to_string(crate_dir.join("src/ffi/ret_code.rs"))
        .expect("src/ffi/ret_code.rs is readable");
    let body = source
        .split("pub enum ret_code_e {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("src/ffi/ret_code.rs declares `pub enum ret_code_e {`");
    let mut code = String::from("match code {\n");
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (name, value) = line
            .trim_end_matches(',')
            .split_once(" = ")
            .unwrap_or_else(|| panic!("ret_code_e: `{line}` is not `NAME = VALUE,`"));
        code.push_str(&format!("    {value} => ret_code_e::{name},\n"));
    }
    code.push_str("    _ => ret_code_e::retCode_Unknow,\n}\n");
    fs::write(out_dir.join("ret_code_from_code.rs"), code).expect("OUT_DIR is writable");
}

fn main() {
    probe_time_t();
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libconference_sdk.so");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-env-changed=CONFERENCE_SDK_BLESS_HEADER");

    let crate_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    generate_from_code(&crate_dir, &out_dir);

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    // The version macro follows Cargo.toml (`conference_sdk_version()` returns the same string).
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let mut after_includes = config.after_includes.take().unwrap_or_default();
    after_includes.push_str(&format!(
        "\n/* Version of this header; conference_sdk_version() returns the library's. */\n\
         #define CONFERENCE_SDK_VERSION \"{version}\""
    ));
    config.after_includes = Some(after_includes);
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses src/");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let header = apply_document_tags(String::from_utf8(raw).expect("cbindgen writes UTF-8"));

    fs::write(out_dir.join("conference_sdk.h"), &header).expect("OUT_DIR is writable");
    if env::var_os("CONFERENCE_SDK_BLESS_HEADER").is_some_and(|v| v == "1") {
        fs::write(crate_dir.join("include/conference_sdk.h"), &header)
            .expect("include/ is writable");
    }
}

/// Names the anonymous `typedef struct {` / `typedef enum {` that a `} name;` line closes.
fn apply_document_tags(header: String) -> String {
    let mut lines: Vec<String> = header.lines().map(str::to_owned).collect();
    let mut open = None;
    let mut tagged = Vec::new();
    for i in 0..lines.len() {
        if lines[i] == "typedef struct {" || lines[i] == "typedef enum {" {
            open = Some(i);
            continue;
        }
        let Some(name) = lines[i]
            .strip_prefix("} ")
            .and_then(|l| l.strip_suffix(';'))
            .map(str::to_owned)
        else {
            continue;
        };
        let Some(start) = open.take() else { continue };
        if let Some((_, tag)) = DOCUMENT_TAGS
            .iter()
            .find(|(typedef, _)| *typedef == name.as_str())
        {
            lines[start] = lines[start].replace(" {", &format!(" {tag} {{"));
            tagged.push(name);
        }
    }
    for (name, _) in DOCUMENT_TAGS {
        assert!(
            tagged.iter().filter(|t| t == name).count() == 1,
            "cbindgen output has no single definition of `{name}`: update DOCUMENT_TAGS in build.rs"
        );
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

//! `scripts/release.sh`: the stripped `.so` is small, has no debug info of its own, and a
//! crash address in it is symbolised to a function and source file from the split debug file.
//! Also the glibc floor (the highest `GLIBC_x.y` symbol version the `.so` and the MCU need).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target directory").to_owned()
}

/// Runs scripts/release.sh once per test binary (it reuses the release build of
/// scripts/install.sh) and returns its output directory.
fn release() -> PathBuf {
    static OUT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    OUT.get_or_init(|| {
        let out = target_dir().join("dist-test");
        common::run(
            Command::new(common::root().join("scripts/release.sh"))
                .arg("--out")
                .arg(&out)
                .env("CARGO_TARGET_DIR", target_dir()),
        );
        out
    })
    .clone()
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8_lossy(&common::run(command).stdout).into_owned()
}

#[test]
fn stripped_library_is_symbolised_from_its_split_debug_file() {
    let out = release();
    let lib = out.join("libconference_sdk.so");
    let size = std::fs::metadata(&lib).expect("stripped .so").len();
    assert!(
        size <= 5 * 1024 * 1024,
        "stripped .so is {size} bytes (> 5 MB)"
    );

    let sections = stdout(Command::new("readelf").arg("-S").arg(&lib));
    assert!(
        !sections.contains(".debug_info"),
        "stripped .so has .debug_info"
    );
    assert!(!sections.contains(".symtab"), "stripped .so has .symtab");
    assert!(sections.contains(".gnu_debuglink"), "no .gnu_debuglink");
    let debuglink = stdout(
        Command::new("readelf")
            .args(["-p", ".gnu_debuglink"])
            .arg(&lib),
    );
    assert!(
        debuglink.contains("libconference_sdk.so.debug"),
        "{debuglink}"
    );

    // The same build id in both files, and the debug file under debug/.build-id/.
    let id = |file: &Path| {
        let notes = stdout(Command::new("readelf").arg("-n").arg(file));
        notes
            .lines()
            .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_owned))
            .unwrap_or_else(|| panic!("no build id in {}", file.display()))
    };
    let build_id = id(&lib);
    assert_eq!(id(&out.join("libconference_sdk.so.debug")), build_id);
    let by_id = out.join(format!(
        "debug/.build-id/{}/{}.debug",
        &build_id[..2],
        &build_id[2..]
    ));
    assert!(by_id.is_file(), "{} missing", by_id.display());

    // A "crash frame": an address inside conference_sdk_version, as a firmware backtrace
    // would print it (offset in the .so), taken from the stripped file's dynamic symbols.
    let symbols = stdout(Command::new("nm").args(["-D", "--defined-only"]).arg(&lib));
    let address = symbols
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (addr, _, name) = (f.next()?, f.next()?, f.next()?);
            (name == "conference_sdk_version").then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .expect("conference_sdk_version in the stripped .so's dynamic symbols");
    let frame = format!("{:#x}", address + 1);

    // Without the debug file: no source location.
    let alone = common::scratch("release-alone");
    std::fs::copy(&lib, alone.join("libconference_sdk.so")).expect("copy the stripped .so");
    let bare = stdout(
        Command::new("addr2line")
            .args(["-f", "-e"])
            .arg(alone.join("libconference_sdk.so"))
            .arg(&frame),
    );
    assert!(
        !bare.contains("version.rs"),
        "the stripped .so alone resolves: {bare}"
    );

    // gdb finds the debug file next to the .so through .gnu_debuglink.
    let gdb = stdout(
        Command::new("gdb")
            .args(["-nx", "-batch", "-ex"])
            .arg(format!("info line *{frame}"))
            .arg(&lib),
    );
    assert!(
        gdb.contains("src/ffi/version.rs") && gdb.contains("conference_sdk_version"),
        "gdb did not symbolise {frame}: {gdb}"
    );
    // addr2line with the split debug file.
    let a2l = stdout(
        Command::new("addr2line")
            .args(["-f", "-e"])
            .arg(out.join("libconference_sdk.so.debug"))
            .arg(&frame),
    );
    assert!(
        a2l.contains("conference_sdk_version") && a2l.contains("src/ffi/version.rs"),
        "addr2line did not symbolise {frame}: {a2l}"
    );
}

/// The highest `GLIBC_x.y` version among the dynamic symbols of `file` (`objdump -T`).
fn glibc_floor(file: &Path) -> (u32, u32) {
    let dump = stdout(Command::new("objdump").arg("-T").arg(file));
    dump.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.');
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .max()
        .unwrap_or_else(|| panic!("no GLIBC_ versions in {}", file.display()))
}

/// Native builds need the build machine's glibc (reported). scripts/glibc-floor.sh links both
/// with cargo-zigbuild against glibc 2.17 (dev profile here: the same symbols, a faster build)
/// and fails above it; checked again here with objdump -T.
#[test]
fn glibc_floor_of_the_library_and_the_mcu() {
    let out = release();
    for artifact in ["libconference_sdk.so", "conference-mcu"] {
        let (major, minor) = glibc_floor(&out.join(artifact));
        eprintln!("native {artifact} needs GLIBC_{major}.{minor}");
    }
    common::run(
        Command::new("bash")
            .arg(common::root().join("scripts/glibc-floor.sh"))
            .args(["--profile", "dev"])
            .env("CARGO_TARGET_DIR", target_dir()),
    );
    for artifact in ["libconference_sdk.so", "conference-mcu"] {
        let zig = target_dir()
            .join("x86_64-unknown-linux-gnu/debug")
            .join(artifact);
        let floor = glibc_floor(&zig);
        assert!(
            floor <= (2, 17),
            "{} needs GLIBC_{}.{} (> 2.17)",
            zig.display(),
            floor.0,
            floor.1
        );
        eprintln!("zigbuild {artifact} needs GLIBC_{}.{}", floor.0, floor.1);
    }
}

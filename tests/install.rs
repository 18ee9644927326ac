//! `scripts/install.sh` into a temporary prefix, then a C program built only with
//! `pkg-config --cflags --libs conference_sdk` against that prefix, run against the installed
//! `.so`. Also: the header's version macro is Cargo.toml's version.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package version as written in the workspace's Cargo.toml (not via cargo's env, so a
/// build that did not pick up an edit of Cargo.toml is caught).
fn cargo_toml_version() -> String {
    let manifest = std::fs::read_to_string(common::root().join("Cargo.toml")).expect("Cargo.toml");
    let mut in_workspace_package = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_workspace_package = line == "[workspace.package]";
        } else if in_workspace_package && let Some(v) = line.strip_prefix("version = \"") {
            return v.trim_end_matches('"').to_owned();
        }
    }
    panic!("no version in [workspace.package] of Cargo.toml");
}

/// The cargo target directory of this test run (the test binary is TARGET/PROFILE/deps/x).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target directory").to_owned()
}

#[test]
fn header_version_macro_is_the_cargo_toml_version() {
    let header = std::fs::read_to_string(common::include_dir().join("conference_sdk.h"))
        .expect("include/conference_sdk.h");
    let line = format!(
        "#define CONFERENCE_SDK_VERSION \"{}\"",
        cargo_toml_version()
    );
    assert!(header.lines().any(|l| l == line), "header lacks `{line}`");
}

fn pkg_config(prefix: &Path, args: &[&str]) -> String {
    let output = common::run(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .env_remove("PKG_CONFIG_LIBDIR")
            .args(args)
            .arg("conference_sdk"),
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[test]
fn installed_prefix_builds_a_c_program_with_pkg_config() {
    let scratch = common::scratch("install");
    let prefix = scratch.join("prefix");
    let _ = std::fs::remove_dir_all(&prefix);
    // The release build shares this run's target directory (scripts/release.sh reuses it).
    common::run(
        Command::new(common::root().join("scripts/install.sh"))
            .arg("--prefix")
            .arg(&prefix)
            .env("CARGO_TARGET_DIR", target_dir()),
    );
    for file in [
        "lib/libconference_sdk.so",
        "include/conference_sdk.h",
        "lib/pkgconfig/conference_sdk.pc",
    ] {
        assert!(prefix.join(file).is_file(), "{file} not installed");
    }
    let version = cargo_toml_version();
    assert_eq!(pkg_config(&prefix, &["--modversion"]), version);

    let flags = pkg_config(&prefix, &["--cflags", "--libs"]);
    let exe = scratch.join("version_app");
    common::run(
        Command::new(common::cc())
            .args(common::C99_STRICT)
            .arg(common::c_source("version_app.c"))
            .arg("-o")
            .arg(&exe)
            .args(flags.split_whitespace()),
    );
    let output = common::run(Command::new(&exe).env("LD_LIBRARY_PATH", prefix.join("lib")));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("conference_sdk {version}")
    );
    // The program resolved the installed library, not the one cargo built.
    let ldd = common::run(
        Command::new("ldd")
            .arg(&exe)
            .env("LD_LIBRARY_PATH", prefix.join("lib")),
    );
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    let line = ldd
        .lines()
        .find(|l| l.contains("libconference_sdk.so"))
        .unwrap_or_else(|| panic!("not linked to libconference_sdk.so:\n{ldd}"));
    assert!(
        line.contains(common::path_str(&prefix.join("lib"))),
        "{line}"
    );
}

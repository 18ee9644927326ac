//! Helpers shared by the integration tests: locating the built `.so` and the C compilers.
//!
//! Several test binaries share this module and not all of them use every item: those
//! carry `#[allow(dead_code)]` one by one (an item no binary uses is removed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (this package's manifest directory).
#[allow(dead_code)]
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for compiled C programs, unique per test binary and test.
#[allow(dead_code)]
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// `libconference_sdk.so` as cargo built it for this test run. Cargo builds the library's
/// cdylib together with its rlib before the integration tests, into `deps/` next to the test
/// binary (and a copy in the profile directory).
#[allow(dead_code)]
pub fn shared_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps directory");
    let candidates = [
        deps.join("libconference_sdk.so"),
        deps.parent()
            .map(|p| p.join("libconference_sdk.so"))
            .unwrap_or_default(),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("libconference_sdk.so not found in {candidates:?}"))
}

/// The C compiler: `$CC`, else `cc`.
#[allow(dead_code)]
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// The C++ compiler: `$CXX`, else `c++`.
#[allow(dead_code)]
pub fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

/// Runs a command; panics with its output unless it succeeded.
#[allow(dead_code)]
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The strict C99 flags every C file of the tests is compiled with.
#[allow(dead_code)]
pub const C99_STRICT: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// Links `command` (a C compiler invocation) against `library`: `-L`, `-lconference_sdk` and
/// an RPATH to its directory. RPATH, not RUNPATH: it wins over the LD_LIBRARY_PATH cargo sets
/// for tests, whose profile-directory copy of the .so is not refreshed by `cargo test` (the
/// programs would run against a stale library).
#[allow(dead_code)]
pub fn link_sdk<'a>(command: &'a mut Command, library: &Path) -> &'a mut Command {
    let lib_dir = library.parent().expect("library directory");
    command
        .arg("-L")
        .arg(lib_dir)
        .arg("-Wl,--disable-new-dtags")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lconference_sdk")
}

#[allow(dead_code)]
pub fn include_dir() -> PathBuf {
    root().join("include")
}

#[allow(dead_code)]
pub fn c_source(name: &str) -> PathBuf {
    root().join("tests/c").join(name)
}

#[allow(dead_code)]
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

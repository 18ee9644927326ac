//! The generated header against the vendor document, checked by the system C and C++
//! compilers: sizes, offsets and enum values (tests/c/abi_layout.c, numbers typed from the
//! document), the document's prototypes and callback types (compile errors on any drift),
//! strict C99 and C++.

mod common;

use std::process::Command;

use common::{C99_STRICT, c_source, cc, cxx, include_dir, path_str, run, scratch};

#[test]
fn layout_and_enum_values_match_the_document() {
    let dir = scratch("abi_layout");
    let exe = dir.join("abi_layout");
    run(Command::new(cc())
        .args(C99_STRICT)
        .arg("-I")
        .arg(include_dir())
        .arg(c_source("abi_layout.c"))
        .arg("-o")
        .arg(&exe));
    let output = run(&mut Command::new(&exe));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ABI matches the document"), "{stdout}");
}

#[test]
fn header_compiles_as_strict_c99_on_its_own() {
    let dir = scratch("header_c99");
    let source = dir.join("only_header.c");
    std::fs::write(
        &source,
        "#include \"conference_sdk.h\"\nint main(void) { return 0; }\n",
    )
    .expect("write the probe");
    run(Command::new(cc())
        .args(C99_STRICT)
        .args(["-Wstrict-prototypes", "-Wmissing-prototypes", "-I"])
        .arg(include_dir())
        .arg(&source)
        .arg("-o")
        .arg(dir.join("only_header")));
}

#[test]
fn header_compiles_as_cpp() {
    let include = include_dir();
    run(Command::new(cxx())
        .args([
            "-x",
            "c++",
            "-std=c++11",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .arg(include.join("conference_sdk.h")));
    run(Command::new(cxx())
        .args([
            "-std=c++11",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(path_str(&include))
        .arg(c_source("header_cpp.cpp")));
}

//! The library built for ARM recorders, tested under qemu-user (issue 14): for each target,
//! the ABI layout program and the exported symbols of the cross-built `.so`, and the C harness
//! lesson (master and two listeners built for the target, run under qemu) against the x86-64
//! MCU on loopback. `scripts/cross.sh` builds the library (installing Debian's rustc-web, the
//! target's standard library, the cross gcc and qemu-user the first time); CI runs the aarch64
//! leg, `scripts/cross.sh armv7 --test` the armv7 one.

mod common;
mod harness_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{C99_STRICT, c_source, include_dir, root, run, scratch, shared_library};
use harness_support::{
    LESSON_ROOM, Start, cross_programs, endpoint_args, lesson_mcu, run_endpoints,
};

struct Leg {
    name: &'static str,
    gnu: &'static str,
    qemu: &'static str,
    /// The highest glibc symbol version the library may need (`scripts/cross.sh` links
    /// aarch64 with cargo-zigbuild against 2.17; armv7 gets the cross toolchain's).
    glibc_floor: Option<&'static str>,
}

const AARCH64: Leg = Leg {
    name: "aarch64",
    gnu: "aarch64-linux-gnu",
    qemu: "qemu-aarch64",
    glibc_floor: Some("2.17"),
};

const ARMV7: Leg = Leg {
    name: "armv7",
    gnu: "arm-linux-gnueabihf",
    qemu: "qemu-arm",
    glibc_floor: None,
};

/// The highest `GLIBC_x.y` version `library` requires (`objdump -T`).
fn glibc_needed(library: &Path) -> (u32, u32) {
    let output = run(Command::new("objdump").arg("-T").arg(library));
    String::from_utf8_lossy(&output.stdout)
        .split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .expect("a glibc-linked library")
}

impl Leg {
    fn gcc(&self) -> String {
        format!("{}-gcc", self.gnu)
    }

    /// The cross-built `.so`: the one `scripts/cross.sh --test` passes, else built now.
    fn library(&self) -> PathBuf {
        if let Some(lib) = std::env::var_os("CONFERENCE_CROSS_LIB") {
            return PathBuf::from(lib);
        }
        let output = run(Command::new("bash")
            .arg(root().join("scripts/cross.sh"))
            .arg(self.name));
        let stdout = String::from_utf8_lossy(&output.stdout);
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("the script prints the library path"),
        )
    }

    /// `program` run by qemu with the cross toolchain's C library. Its loader and its libc
    /// must come from the same place: with the target's multi-arch libc also installed (the
    /// standard library package pulls it in), the loader would otherwise find that one through
    /// the host's ld.so.cache, and the mix hangs at start.
    fn command(&self, program: &Path) -> Command {
        let sysroot = format!("/usr/{}", self.gnu);
        let mut command = Command::new(self.qemu);
        command
            .arg("-L")
            .arg(&sysroot)
            .arg("-E")
            .arg(format!("LD_LIBRARY_PATH={sysroot}/lib"))
            .arg(program);
        command
    }
}

fn exported(library: &Path) -> BTreeSet<String> {
    let output = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() == 3 && fields[1] == "T").then(|| fields[2].to_string())
        })
        .collect()
}

fn leg(leg: &Leg) {
    let library = leg.library();
    let soname = run(Command::new("readelf").arg("-d").arg(&library));
    assert!(
        String::from_utf8_lossy(&soname.stdout).contains("Library soname: [libconference_sdk.so]"),
        "soname of {}",
        library.display()
    );
    // The same functions as the x86-64 build: the 29 of the document and the additions.
    assert_eq!(exported(&library), exported(&shared_library()));
    let needed = glibc_needed(&library);
    eprintln!(
        "{}: the library needs GLIBC_{}.{}",
        leg.name, needed.0, needed.1
    );
    if let Some(floor) = leg.glibc_floor {
        let (major, minor) = floor.split_once('.').unwrap();
        let floor = (major.parse().unwrap(), minor.parse().unwrap());
        assert!(
            needed <= floor,
            "{}: needs GLIBC_{needed:?} > {floor:?}",
            leg.name
        );
    }

    // The layout of every type, as the target's C compiler lays it out.
    let dir = scratch(&format!("cross-{}", leg.name));
    let abi = dir.join("abi_layout");
    run(Command::new(leg.gcc())
        .args(C99_STRICT)
        .arg("-I")
        .arg(include_dir())
        .arg(c_source("abi_layout.c"))
        .arg("-o")
        .arg(&abi));
    let output = run(&mut leg.command(&abi));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ABI matches the document"), "{stdout}");

    // The harness lesson: three ARM endpoints under qemu, the MCU on the host.
    let programs = cross_programs(&leg.gcc(), &library, &dir);
    let mcu = lesson_mcu();
    let args = endpoint_args("lesson", mcu.addr, LESSON_ROOM);
    let endpoint = |program: &Path, role: Option<&str>| {
        let mut command = leg.command(program);
        command.args(&args).args(role);
        // Emulated: several times slower than native.
        command.env("HARNESS_TIMEOUT_MS", "30000");
        command
    };
    let started = std::time::Instant::now();
    run_endpoints(
        &mcu,
        vec![
            ("teacher", endpoint(&programs.master, None)),
            ("class1", endpoint(&programs.listener, Some("A"))),
            ("class2", endpoint(&programs.listener, Some("B"))),
        ],
        Start::InTurn,
        Duration::from_secs(240),
    );
    eprintln!(
        "{}: the lesson under qemu took {:.1} s",
        leg.name,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn aarch64_leg() {
    leg(&AARCH64);
}

#[test]
#[ignore = "run by scripts/cross.sh armv7 --test"]
fn armv7_leg() {
    leg(&ARMV7);
}

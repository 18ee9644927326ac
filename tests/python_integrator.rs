//! A third-party integrator's view: `examples/python/integrator.py` loads the built
//! `libconference_sdk.so` with Python's ctypes (standard library only), joins a room of a
//! real `conference-mcu` process and exchanges chat and transparent data with a C endpoint
//! (`examples/harness/master.c` in "chat" mode), each in its own process. Both exit codes
//! say whether their side saw the exchange.

mod common;
mod harness_support;

use std::process::Command;
use std::time::Duration;

use common::{root, shared_library};
use harness_support::{LESSON_ROOM, Start, endpoint_args, lesson_mcu, programs, run_endpoints};

#[test]
fn python_ctypes_client_chats_with_a_c_endpoint() {
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.as_ref().is_ok_and(|o| o.status.success()),
        "python3 is required by this test but could not be run: {python:?}"
    );
    let programs = programs();
    let mcu = lesson_mcu();
    let mut master = Command::new(&programs.master);
    master.args(endpoint_args("chat", mcu.addr, LESSON_ROOM));
    let mut integrator = Command::new("python3");
    integrator
        .arg(root().join("examples/python/integrator.py"))
        .arg("--port")
        .arg(mcu.addr.port().to_string())
        .arg("--room")
        .arg(LESSON_ROOM.to_string())
        .env("CONFERENCE_SDK_LIB", shared_library())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let endpoints = run_endpoints(
        &mcu,
        vec![("teacher (C)", master), ("class1 (python)", integrator)],
        Start::InTurn,
        Duration::from_secs(60),
    );
    assert!(
        endpoints[0].stdout.contains("CHAT OK"),
        "{}",
        endpoints[0].report()
    );
    assert!(
        endpoints[1].stdout.contains("PYTHON OK"),
        "{}",
        endpoints[1].report()
    );
}

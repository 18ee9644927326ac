//! What the CLI's tests share.

use std::process::Command;

use conference_testkit::McuProcess;

/// `conference-cli` logged in to `mcu` as `user` (password = user name, as in the demo
/// configuration); the caller adds the options and the command.
pub fn cli(mcu: &McuProcess, user: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_conference-cli"));
    command.args([
        "--mcu",
        &mcu.addr.to_string(),
        "--user",
        user,
        "--password",
        user,
    ]);
    command
}

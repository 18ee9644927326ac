//! The vendor's firmware flow (issue 10): `examples/harness/vendor.c`, a recorder written from
//! the vendor's header and flow diagrams only, run as one OS process per recorder against a
//! real `conference-mcu`. Rooms are named by position; each recorder keeps its class list
//! from `USER_ENTER` / `USER_LEAVE` alone and compares it with `get_user_count` /
//! `get_user_info` in every callback (a mismatch prints `BAD` and fails the process). The
//! tests check the exact event sequence each recorder saw: a missing `USER_ENTER`, a wrong
//! position, a missing `USER_LEAVE` or a duplicate fails them.

mod common;
mod harness_support;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use conference_testkit::McuProcess;
use conference_testkit::child::ChildProcess;
use harness_support::{lesson_mcu, vendor_program};

/// Result codes of the vendor's document.
const SUCCESS: i32 = 0;
const RELOGINED: i32 = 101;
const ROOM_UNEXIST: i32 = 0x10014;
const ROOM_OVERDUE: i32 = 0x1001d;
const SERVER_STOPPED: i32 = 0x10023;
const KICK_OUT: i32 = 0x10029;
const NETWORK_EXCEPTION: i32 = 0x1002e;

const WAIT: Duration = Duration::from_secs(15);

/// One recorder: the vendor firmware process, fed commands on stdin.
struct Firmware {
    name: String,
    stdin: Option<ChildStdin>,
    child: ChildProcess,
    lines: Receiver<String>,
    /// Lines read but not yet consumed (events printed while a command ran).
    backlog: VecDeque<String>,
    transcript: Vec<String>,
}

impl Firmware {
    fn start(name: &str) -> Firmware {
        let mut command = Command::new(vendor_program());
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env_remove("CONFERENCE_SDK_LOG");
        let mut child = ChildProcess::spawn(name, &mut command).expect("start the vendor firmware");
        let stdout = child.take_stdout().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.take_stdin();
        let mut firmware = Firmware {
            name: name.to_string(),
            stdin,
            child,
            lines,
            backlog: VecDeque::new(),
            transcript: Vec::new(),
        };
        let ready = firmware.next_line("READY");
        assert_eq!(ready, "READY", "{}", firmware.name);
        firmware
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{}: {what}\n--- transcript of {} (> = command sent):\n{}",
            self.name,
            self.name,
            self.transcript.join("\n")
        );
    }

    fn next_line(&mut self, what: &str) -> String {
        if let Some(line) = self.backlog.pop_front() {
            return line;
        }
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => {
                self.transcript.push(line.clone());
                if line.starts_with("BAD") {
                    self.fail(&format!("the firmware found a problem: {line}"));
                }
                line
            }
            Err(RecvTimeoutError::Timeout) => self.fail(&format!("timed out waiting for {what}")),
            Err(RecvTimeoutError::Disconnected) => {
                self.fail(&format!("exited while waiting for {what}"))
            }
        }
    }

    fn send(&mut self, command: &str) {
        self.transcript.push(format!("> {command}"));
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("write a command");
        stdin.flush().expect("flush a command");
    }

    /// Runs a command and returns its result code; the events printed meanwhile stay, in
    /// order, for `events`.
    fn call(&mut self, command: &str) -> i32 {
        self.send(command);
        let verb = command.split_whitespace().next().unwrap_or_default();
        let prefix = format!("RC {verb} ");
        let mut held = Vec::new();
        let code = loop {
            let line = self.next_line(&prefix);
            if let Some(code) = line.strip_prefix(&prefix) {
                break code.parse().expect("numeric result code");
            }
            held.push(line);
        };
        for line in held.into_iter().rev() {
            self.backlog.push_front(line);
        }
        code
    }

    /// The next event and list lines are exactly `expected`, in this order.
    fn events(&mut self, expected: &[String]) {
        for (i, want) in expected.iter().enumerate() {
            let got = loop {
                let line = self.next_line(want);
                // Output of the `rooms` / `users` commands is not an event.
                if !line.starts_with("ROOM ") && !line.starts_with("USER ") {
                    break line;
                }
            };
            if &got != want {
                self.fail(&format!(
                    "event {i}: expected `{want}`, got `{got}` (expected all of {expected:#?})"
                ));
            }
        }
    }

    /// `quit`: nothing else was delivered, the process compared its list with the API in
    /// callbacks and found no problem, and exits 0.
    fn quit(mut self) {
        self.send("quit");
        let done = self.next_line("DONE");
        if !done.starts_with("DONE ") {
            self.fail(&format!("unexpected `{done}` before DONE"));
        }
        if !done.ends_with(" bad=0") || done.contains("checks=0 ") {
            self.fail(&done);
        }
        match self.child.wait_timeout(WAIT) {
            Some(status) if status.success() => {}
            Some(status) => self.fail(&format!("exit status {status}")),
            None => self.fail("did not exit after DONE"),
        }
    }

    fn connect(&mut self, mcu: &McuProcess, user: &str) {
        let port = mcu.addr.port();
        let code = self.call(&format!("connect 127.0.0.1 {port} {user} {user}"));
        assert_eq!(code, SUCCESS, "{}: connect", self.name);
        self.events(&[ev("LOGIN_MCU", SUCCESS, "-")]);
    }

    /// `join <position>` into a room with `already` in it (join order): LOGIN_ROOM, then a
    /// USER_ENTER for each of them and for itself, the list growing in join order.
    fn join(&mut self, position: u32, already: &[&str]) {
        let code = self.call(&format!("join {position}"));
        if code != SUCCESS {
            self.fail(&format!("join {position} returned {code}"));
        }
        let me = self.name.clone();
        let mut expected = vec![ev("LOGIN_ROOM", SUCCESS, &me), list(&[])];
        let mut users: Vec<&str> = Vec::new();
        for user in already.iter().copied().chain([me.as_str()]) {
            users.push(user);
            expected.push(ev("USER_ENTER", SUCCESS, user));
            expected.push(list(&users));
        }
        self.events(&expected);
    }

    /// Leaving the room for `reason`: ROOM_EXIT, then a USER_LEAVE for everyone of `users`
    /// (the list, join order), itself last.
    fn exit(&mut self, reason: i32, users: &[&str]) {
        let me = self.name.clone();
        let mut expected = vec![ev("ROOM_EXIT", reason, &me)];
        let mut left: Vec<&str> = users.to_vec();
        for user in users
            .iter()
            .copied()
            .filter(|u| *u != me)
            .chain([me.as_str()])
        {
            left.retain(|u| *u != user);
            expected.push(ev("USER_LEAVE", SUCCESS, user));
            expected.push(list(&left));
        }
        self.events(&expected);
    }
}

fn ev(state: &str, code: i32, user: &str) -> String {
    format!("EV {state} {code} {user}")
}

fn list(users: &[&str]) -> String {
    format!("LIST {}", users.join(","))
}

/// Everyone else sees `user` enter (or leave): the event and the list after it.
fn seen(firmware: &mut Firmware, state: &str, user: &str, after: &[&str]) {
    firmware.events(&[ev(state, SUCCESS, user), list(after)]);
}

fn permutations(items: &[&'static str]) -> Vec<Vec<&'static str>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

/// The three recorders join room position 0 in each of the six orders, then leave in that
/// same order: every list, built from events alone, follows the join order everywhere.
#[test]
fn every_join_order_gives_every_recorder_the_same_list() {
    let mcu = lesson_mcu();
    for order in permutations(&["teacher", "class1", "class2"]) {
        let mut recorders: Vec<Firmware> = order.iter().map(|n| Firmware::start(n)).collect();
        for k in 0..recorders.len() {
            recorders[k].connect(&mcu, order[k]);
            let code = recorders[k].call("rooms");
            assert_eq!(code, SUCCESS);
            recorders[k].join(0, &order[..k]);
            for earlier in &mut recorders[..k] {
                seen(earlier, "USER_ENTER", order[k], &order[..=k]);
            }
        }
        for k in 0..recorders.len() {
            let remaining = &order[k..];
            assert_eq!(recorders[k].call("logout"), SUCCESS);
            recorders[k].exit(SUCCESS, remaining);
            for later in &mut recorders[k + 1..] {
                seen(later, "USER_LEAVE", order[k], &order[k + 1..]);
            }
            assert_eq!(recorders[k].call("disconnect"), SUCCESS);
        }
        for recorder in recorders {
            recorder.quit();
        }
    }
}

/// Rooms by position (the vendor header: `0 <= id < count`), a kick, a login elsewhere and
/// the MCU stopping: each leaver's list empties through ROOM_EXIT and USER_LEAVEs.
#[test]
fn positions_kick_relogin_and_mcu_stop() {
    let mut mcu = lesson_mcu();
    let mut teacher = Firmware::start("teacher");
    let mut class1 = Firmware::start("class1");
    let mut class2 = Firmware::start("class2");
    teacher.connect(&mcu, "teacher");
    teacher.join(0, &[]);
    class1.connect(&mcu, "class1");
    // Position 1 is the second listed room (over: RoomOverdue); 2 is neither a position nor
    // a room id; 7 is the first room by its id.
    assert_eq!(class1.call("join 1"), ROOM_OVERDUE);
    class1.events(&[ev("LOGIN_ROOM_FAILED", ROOM_OVERDUE, "-")]);
    assert_eq!(class1.call("join 2"), ROOM_UNEXIST);
    class1.events(&[ev("LOGIN_ROOM_FAILED", ROOM_UNEXIST, "-")]);
    // Negative: refused at once, without an event (the next one is the join's below).
    assert_eq!(class1.call("join -1"), ROOM_UNEXIST);
    class1.join(7, &["teacher"]);
    seen(&mut teacher, "USER_ENTER", "class1", &["teacher", "class1"]);
    class2.connect(&mcu, "class2");
    class2.join(0, &["teacher", "class1"]);
    let all = ["teacher", "class1", "class2"];
    seen(&mut teacher, "USER_ENTER", "class2", &all);
    seen(&mut class1, "USER_ENTER", "class2", &all);

    // The kicked recorder hears USER_KICKED about itself, then leaves.
    assert_eq!(teacher.call("kick class1"), SUCCESS);
    class1.events(&[ev("USER_KICKED", SUCCESS, "class1")]);
    class1.exit(KICK_OUT, &all);
    for other in [&mut teacher, &mut class2] {
        other.events(&[ev("USER_KICKED", SUCCESS, "class1")]);
        seen(other, "USER_LEAVE", "class1", &["teacher", "class2"]);
    }
    class1.quit();

    // class2 logs in elsewhere: the old recorder leaves the room, then the connection.
    let mut class2_again = Firmware::start("class2");
    class2_again.connect(&mcu, "class2");
    class2.exit(RELOGINED, &["teacher", "class2"]);
    class2.events(&[ev("USER_CLOSE", RELOGINED, "-")]);
    seen(&mut teacher, "USER_LEAVE", "class2", &["teacher"]);
    class2.quit();
    class2_again.join(0, &["teacher"]);
    seen(&mut teacher, "USER_ENTER", "class2", &["teacher", "class2"]);

    // The MCU stops: everyone leaves the room, then the connection.
    mcu.terminate(Duration::from_secs(10));
    teacher.exit(SERVER_STOPPED, &["teacher", "class2"]);
    teacher.events(&[ev("USER_CLOSE", SERVER_STOPPED, "-")]);
    class2_again.exit(SERVER_STOPPED, &["teacher", "class2"]);
    class2_again.events(&[ev("USER_CLOSE", SERVER_STOPPED, "-")]);
    teacher.quit();
    class2_again.quit();
}

/// The connection is lost for good (the MCU is killed): ROOM_EXIT and the USER_LEAVEs come
/// before USER_CLOSE, with the same reason.
#[test]
fn connection_lost_for_good() {
    let mcu = lesson_mcu();
    let mut teacher = Firmware::start("teacher");
    let mut class1 = Firmware::start("class1");
    teacher.connect(&mcu, "teacher");
    teacher.join(0, &[]);
    class1.connect(&mcu, "class1");
    class1.join(0, &["teacher"]);
    seen(&mut teacher, "USER_ENTER", "class1", &["teacher", "class1"]);
    let killed = Command::new("kill")
        .args(["-KILL", &mcu.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    for (recorder, users) in [
        (&mut teacher, ["teacher", "class1"]),
        (&mut class1, ["teacher", "class1"]),
    ] {
        recorder.exit(NETWORK_EXCEPTION, &users);
        recorder.events(&[ev("USER_CLOSE", NETWORK_EXCEPTION, "-")]);
    }
    teacher.quit();
    class1.quit();
}

//! `conference-cli` against a real MCU process: the room list, and two CLI processes in a
//! lesson (roster, hand, chat, transparent data, a pulled stream's rates, statistics), all
//! read back from `--json` output.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use conference_testkit::child::ChildProcess;
use conference_testkit::{McuProcess, TestConfig};
use serde_json::Value;

fn cli(mcu: &McuProcess, user: &str, args: &[&str]) -> Command {
    let mut command = common::cli(mcu, user);
    command.arg("--json").args(args);
    command
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn events<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == name).collect()
}

fn roster_names(line: &Value) -> Vec<String> {
    line["roster"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lists_rooms_and_refuses_a_wrong_password() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let output = cli(&mcu, "class1", &["rooms"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let out = lines(&output);
    let rooms = out
        .iter()
        .find(|l| l.get("rooms").is_some())
        .expect("a room list");
    assert_eq!(rooms["rooms"][0]["id"], 1001);
    assert_eq!(rooms["rooms"][0]["position"], 0);

    let output = Command::new(env!("CARGO_BIN_EXE_conference-cli"))
        .args(["--json", "--mcu", &mcu.addr.to_string()])
        .args(["--user", "class1", "--password", "nope", "rooms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output);
    assert!(
        out.last().unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("UserPasswordErr")
    );
}

#[test]
fn two_recorders_in_a_lesson() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let mut teacher = ChildProcess::spawn(
        "teacher",
        cli(
            &mcu,
            "teacher",
            &["join", "0", "--bcast", "--publish", "--for", "4"],
        )
        .stdout(Stdio::piped()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let class1 = cli(
        &mcu,
        "class1",
        &[
            "join",
            "1001",
            "--pull",
            "teacher",
            "--raise-hand",
            "--chat",
            "May I ask?",
            "--transparent",
            "page 3",
            "--for",
            "2.5",
        ],
    )
    .output()
    .unwrap();
    let teacher = teacher
        .output(Duration::from_secs(30))
        .expect("the teacher's CLI ends after --for 4");
    let (t, c) = (lines(&teacher), lines(&class1));
    assert!(class1.status.success() && teacher.status.success());

    // class1: the roster from events (teacher first, then itself), emptied on leaving.
    let rosters: Vec<Vec<String>> = c
        .iter()
        .filter(|l| l.get("roster").is_some())
        .map(roster_names)
        .collect();
    assert_eq!(rosters[0], ["teacher"]);
    assert_eq!(rosters[1], ["teacher", "class1"]);
    assert_eq!(rosters.last().unwrap(), &Vec::<String>::new());
    // The teacher's test pattern pulled: about 25 fps video and 50 fps audio.
    let rates: Vec<&Value> = c
        .iter()
        .filter_map(|l| l.get("rates"))
        .flat_map(|r| r.as_array().unwrap())
        .collect();
    let fps = |stream: &str| {
        rates
            .iter()
            .filter(|r| r["stream"] == stream)
            .map(|r| r["fps"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    assert!(
        fps("video_major") > 10.0 && fps("audio") > 25.0,
        "{rates:?}"
    );
    let stats = &c.iter().find(|l| l.get("stats").is_some()).unwrap()["stats"];
    assert!(stats["received"][0]["frames"].as_u64().unwrap() > 0);

    // The teacher saw class1 enter, raise its hand, chat and send data, then leave.
    let entered = events(&t, "USER_ENTER");
    assert!(entered.iter().any(|e| e["user"]["username"] == "class1"));
    assert!(
        events(&t, "USER_REQTALK")
            .iter()
            .any(|e| e["user"]["username"] == "class1")
    );
    let chat = events(&t, "USER_CHAT");
    assert!(
        chat.iter()
            .any(|e| e["extra"]["chat"]["text"] == "May I ask?"),
        "{chat:?}"
    );
    let data = events(&t, "TRANSPARENT");
    assert!(
        data.iter().any(|e| e["extra"]["transparent"]["bytes"] == 6),
        "{data:?}"
    );
    assert!(
        events(&t, "USER_LEAVE")
            .iter()
            .any(|e| e["user"]["username"] == "class1")
    );
    let stats = &t.iter().find(|l| l.get("stats").is_some()).unwrap()["stats"];
    assert!(stats["sent"][1]["frames"].as_u64().unwrap() > 0, "{stats}");
}

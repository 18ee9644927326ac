//! `conference-cli`: a terminal client for field debugging, built on the SDK core
//! (`conference-session`, the same code as `libconference_sdk.so`).
//!
//! ```text
//! conference-cli --mcu 10.0.0.5:7000 --user class1 --password class1 rooms
//! conference-cli --mcu 10.0.0.5:7000 --user class1 --password class1 \
//!     join 0 --pull teacher --raise-hand --chat "hello" --for 60
//! ```
//!
//! Human-readable lines by default; `--json` prints one JSON object per line (events, the
//! roster, stream rates every second, final statistics) for scripts.

mod output;
mod publish;
mod session;

use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Field-debugging client of the classroom conference MCU"
)]
struct Cli {
    /// The MCU, host:port.
    #[arg(long)]
    mcu: String,
    #[arg(long)]
    user: String,
    #[arg(long)]
    password: String,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the rooms (position, id, name, users).
    Rooms,
    /// Join a room (its id or its position in the list) and show the roster and events live.
    Join(JoinArgs),
}

#[derive(clap::Args)]
pub struct JoinArgs {
    /// Room id, or position in the room list.
    pub room: u32,
    /// Stay this many seconds, then leave (default: until stdin closes or Ctrl-C).
    #[arg(long = "for", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Send a chat message to everyone after joining (repeatable).
    #[arg(long)]
    pub chat: Vec<String>,
    /// Send transparent string data to everyone after joining (repeatable).
    #[arg(long)]
    pub transparent: Vec<String>,
    /// Raise the hand after joining.
    #[arg(long)]
    pub raise_hand: bool,
    /// Take the master role after joining.
    #[arg(long)]
    pub master: bool,
    /// Broadcast the own video and audio (moderators only).
    #[arg(long)]
    pub bcast: bool,
    /// Pull a user's main video and audio (user name or id; repeatable) and print their rates.
    #[arg(long)]
    pub pull: Vec<String>,
    /// Publish a test pattern: 25 fps video frames and a 440 Hz Opus tone every 20 ms.
    #[arg(long)]
    pub publish: bool,
}

fn main() {
    let cli = Cli::parse();
    let out = output::Output::new(cli.json);
    let Some((host, port)) = cli
        .mcu
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
    else {
        out.fatal("--mcu must be host:port");
    };
    let client = session::Client::connect(&out, &host, port, &cli.user, &cli.password);
    match cli.command {
        Command::Rooms => client.rooms(&out),
        Command::Join(args) => {
            let duration = args.duration.map(Duration::from_secs_f64);
            client.join(&out, &args, duration);
        }
    }
}

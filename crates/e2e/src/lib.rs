//! End-to-end test of the audio mixer (issue 5, SPEC §7) through separate processes and the
//! real `conference-mcu`: two `tone_sender` processes send tones (48 kHz stereo PCM and
//! Opus) in 20 ms frames at the real-time pace, one `mix_recorder` process with a 16 kHz mono
//! 16-bit mixer writes the mixed track (user −1) to a raw file and every frame header to a
//! log. The tests (`tests/`) start the processes and judge the files with [`verdict`].
//!
//! Modules: [`args`] (the binaries' flags), [`client`] (session helpers for the binaries),
//! [`tone`] and [`pacing`] (what the senders send and when), [`recording`] (the recorder's
//! files, written and read back), [`verdict`] (signal and header checks), [`arrivals`]
//! (which stretches of a recording can be judged). Child processes are testkit's
//! `ChildProcess`.

pub mod args;
pub mod arrivals;
pub mod client;
pub mod pacing;
pub mod recording;
pub mod tone;
pub mod verdict;

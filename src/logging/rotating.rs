//! A log file capped in size and rotated, for a recorder's flash: `path` is written until the
//! next record would take it past `max_bytes`; then `path.N-1` → `path.N`, …, `path` →
//! `path.1`, and a new `path` starts. At most `keep` old files stay, so the logs never take more
//! than `(keep + 1) × max_bytes` (plus one record). Records are never split across files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: File,
    written: u64,
}

impl RotatingFile {
    /// Appends to `path` (created if missing); `max_bytes` 0 means no cap.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<RotatingFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes,
            keep,
            file,
            written,
        })
    }

    /// New limits for the file in use; the next record applies them.
    pub fn set_limits(&mut self, max_bytes: u64, keep: u32) {
        self.max_bytes = max_bytes;
        self.keep = keep;
    }

    /// Writes one whole record, rotating first if it would not fit.
    pub fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        let len = record.len() as u64;
        if self.max_bytes > 0 && self.written > 0 && self.written + len > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(record)?;
        self.written += len;
        Ok(())
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        // Files beyond the kept number (left by a larger setting) go first.
        let mut extra = self.keep + 1;
        while self.numbered(extra).exists() {
            let _ = std::fs::remove_file(self.numbered(extra));
            extra += 1;
        }
        for n in (1..self.keep).rev() {
            ignore_missing(std::fs::rename(self.numbered(n), self.numbered(n + 1)))?;
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, self.numbered(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "conference-sdk-rotating-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("sdk.log")
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn rotates_at_the_cap_and_keeps_that_many_files() {
        let path = scratch("cap");
        let mut log = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..50 {
            log.write_record(format!("record {i:03} ........\n").as_bytes())
                .unwrap();
        }
        let rotated = |n: u32| log.numbered(n);
        assert!(size(&path) <= 100 && size(&path) > 0);
        assert_eq!(size(&rotated(1)), 100, "whole records: 5 of 20 bytes");
        assert_eq!(size(&rotated(2)), 100);
        assert!(!rotated(3).exists(), "only two old files kept");
        // The newest records are in `path`, the previous ones in `.1`.
        let current = std::fs::read_to_string(&path).unwrap();
        let previous = std::fs::read_to_string(rotated(1)).unwrap();
        assert!(current.ends_with("record 049 ........\n"), "{current}");
        assert!(previous.ends_with("record 044 ........\n"), "{previous}");
    }

    #[test]
    fn no_old_files_means_starting_over_and_zero_means_no_cap() {
        let path = scratch("zero");
        let mut log = RotatingFile::open(&path, 50, 0).unwrap();
        for _ in 0..10 {
            log.write_record(&[b'x'; 20]).unwrap();
        }
        assert_eq!(size(&path), 40);
        assert!(!log.numbered(1).exists());
        log.set_limits(0, 0);
        for _ in 0..10 {
            log.write_record(&[b'y'; 20]).unwrap();
        }
        assert_eq!(size(&path), 240);
    }

    #[test]
    fn a_record_larger_than_the_cap_is_written_whole() {
        let path = scratch("large");
        let mut log = RotatingFile::open(&path, 10, 1).unwrap();
        log.write_record(&[b'a'; 25]).unwrap();
        log.write_record(&[b'b'; 25]).unwrap();
        assert_eq!(size(&path), 25);
        assert_eq!(size(&log.numbered(1)), 25);
    }

    #[test]
    fn reopening_counts_what_is_there_and_fewer_files_prune_the_rest() {
        let path = scratch("reopen");
        let mut log = RotatingFile::open(&path, 30, 3).unwrap();
        for _ in 0..8 {
            log.write_record(&[b'z'; 15]).unwrap();
        }
        assert!(log.numbered(3).exists());
        drop(log);
        let mut log = RotatingFile::open(&path, 30, 1).unwrap();
        log.write_record(&[b'w'; 15]).unwrap();
        assert_eq!(size(&path), 15, "rotated: the reopened file was full");
        assert!(log.numbered(1).exists());
        assert!(!log.numbered(2).exists() && !log.numbered(3).exists());
    }
}

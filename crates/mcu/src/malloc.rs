//! Allocator settings of the server process (glibc only).
//!
//! Logins verify argon2 hashes whose working memory (1–19 MiB, the hash's memory cost) is
//! allocated on blocking-pool threads and freed when a burst of logins ends
//! (`transport::credentials`). glibc serves such a buffer with `mmap` the first time and then,
//! because a large mapped chunk was freed, raises its *dynamic* mmap threshold to that size:
//! later buffers come from the thread's heap arena, the connections' small long-lived
//! allocations land behind them, and the arena can no longer shrink. Measured before this fix:
//! 78–96 KiB resident per idle user after 1,000 logins with a 1 MiB hash, 2.1–2.9 MiB per user
//! after 300 logins with the default 19 MiB hash (`docs/PERFORMANCE.md`). A fixed threshold
//! keeps every large buffer in its own mapping, returned to the kernel when freed.

/// Allocations at or above this size get their own mapping. Above the media path's buffers
/// (read buffers grow in 64 KiB steps, key frames are ~120 KiB), so the hot path keeps reusing
/// heap memory; below the smallest argon2 cost we use (1 MiB).
pub const MMAP_THRESHOLD: usize = 256 * 1024;

/// Fixes the mmap threshold (which also stops glibc from raising the trim threshold with it).
/// Call once at start, before other threads exist. Returns whether glibc accepted it.
pub fn tune() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called before any other thread
        // runs, so no allocation races with the change.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        // Other allocators (musl, macOS) return large blocks to the system on their own.
        true
    }
}

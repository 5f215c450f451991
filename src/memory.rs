//! Giving freed heap back to the operating system after large polls.
//!
//! A poll of a big app endpoint allocates tens of megabytes for a moment (the body, the
//! parsed families, the encoded text) and frees them again. glibc keeps such freed
//! memory in its arenas, one per worker thread that touched it, so the resident size
//! settles near the sum of those peaks rather than what is in use. `malloc_trim` hands
//! it back; it costs a walk over the heap, so it runs only after polls large enough to
//! matter.

/// Allocations from this size up get their own mapping, returned to the OS when freed.
/// glibc's default threshold starts at 128 KiB but rises (up to 32 MiB) each time such
/// a block is freed, after which the multi-megabyte bodies of a large `/metrics` stay
/// in the heap; fixing the threshold stops that drift.
const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Called once at startup, before the runtime starts threads.
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's tuning; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

/// Series in one snapshot from which a poll counts as large.
pub const LARGE_POLL_SERIES: usize = 10_000;

/// Returns freed heap memory to the OS (glibc only; other allocators need no help or
/// offer no such call).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

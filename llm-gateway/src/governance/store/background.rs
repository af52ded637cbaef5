//! The database's own threads at a lower CPU priority.
//!
//! Nothing on the request path waits for the database (keys are served from
//! a snapshot, spend is written behind), so its work must not take CPU from
//! calls. sqlx runs each SQLite connection on a thread of its own; on Linux
//! the nice value belongs to a thread, so those threads are lowered (the
//! store's Postgres work runs in the Postgres server, which its operator
//! runs as they see fit).

/// How far below the calls' threads the SQLite connection threads run, in
/// nice steps (19 is the lowest nice value). Ten steps down a thread still
/// gets about a tenth of a CPU that calls keep busy, so the spend queue
/// drains under load, and all of an idle one.
pub const SQLITE_THREAD_NICE_STEPS: i32 = 10;

/// The nice value for the SQLite threads of a process whose calls run at `calls`.
pub fn sqlite_thread_nice(calls: i32) -> i32 {
    calls.saturating_add(SQLITE_THREAD_NICE_STEPS).min(19)
}

/// sqlx names its SQLite threads `sqlx-sqlite-worker-N`; the kernel keeps
/// the first 15 bytes of a thread's name.
#[cfg(target_os = "linux")]
const SQLITE_THREAD_NAME: &str = "sqlx-sqlite-wor";

/// The ids of this process' SQLite connection threads.
#[cfg(target_os = "linux")]
pub fn sqlite_threads() -> Vec<rustix::process::Pid> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with(SQLITE_THREAD_NAME))
        })
        .filter_map(|task| task.file_name().to_str()?.parse().ok())
        .filter_map(rustix::process::Pid::from_raw)
        .collect()
}

/// Set every SQLite connection thread of this process to
/// [`sqlite_thread_nice`] of the calling thread's (a caller among the
/// calls' threads; lowering a priority needs no privilege, and a thread
/// lowered before keeps its value); how many it found.
#[cfg(target_os = "linux")]
pub fn lower_sqlite_threads() -> usize {
    use rustix::process::{getpriority_process, setpriority_process};
    let nice = sqlite_thread_nice(getpriority_process(None).unwrap_or(0));
    let threads = sqlite_threads();
    for &thread in &threads {
        // PRIO_PROCESS with a thread id sets that thread's nice value alone.
        if let Err(e) = setpriority_process(Some(thread), nice) {
            tracing::debug!(error = %e, "governance: SQLite thread priority unchanged");
        }
    }
    threads.len()
}

/// Elsewhere threads keep the process's priority.
#[cfg(not(target_os = "linux"))]
pub fn lower_sqlite_threads() -> usize {
    0
}

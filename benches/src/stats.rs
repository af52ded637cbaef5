//! Percentiles, reading this process's memory and CPU time from `/proc`, and
//! naming the machine a run is on.

use std::time::Duration;

/// The `q` quantile (0.0..=1.0) of `samples`, by nearest rank; zero when empty.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// The median of `values`; zero when empty.
pub fn median_f64(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Microseconds, as a float.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A `/proc/self/status` memory field (`VmRSS`, `VmHWM`, ...) in bytes.
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kib * 1024)
    })
}

/// CPU time every live thread of this process has run, in nanoseconds (the
/// first field of `/proc/self/task/*/schedstat`). Less sensitive to other
/// processes than wall-clock time: waiting for a CPU is not counted.
/// Threads that exited are not counted.
pub fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The machine a run is on, for the report: CPUs, CPU model, load average, UTC time.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cores} CPUs ({cpu}), load {}, {date}", load())
}

/// The one-minute load average, as `/proc/loadavg` writes it.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// The numbers of the `RESULT n n n` line a measuring child process printed
/// (the memory benches run each variant in a fresh process).
pub fn child_result<const N: usize>(
    output: &std::process::Output,
    variant: &str,
) -> Result<[u64; N], Box<dyn std::error::Error + Send + Sync>> {
    use std::io::BufRead;
    if !output.status.success() {
        return Err(format!("the {variant} child failed: {}", output.status).into());
    }
    let line = output
        .stdout
        .lines()
        .map_while(std::result::Result::ok)
        .find(|l| l.starts_with("RESULT "))
        .ok_or("the child printed no RESULT line")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    <[u64; N]>::try_from(fields).map_err(|_| format!("bad RESULT line: {line}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut s: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(quantile(&mut s, 0.5), Duration::from_micros(50));
        assert_eq!(quantile(&mut s, 0.99), Duration::from_micros(99));
        assert_eq!(quantile(&mut s, 1.0), Duration::from_micros(100));
        assert_eq!(median_f64(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_f64(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn reads_rss() {
        assert!(proc_status_bytes("VmRSS").is_some_and(|b| b > 0));
        assert!(process_cpu_ns() > 0);
    }
}

//! The machine a report was measured on, memory readings from /proc, and
//! the `--profile` flame graph (pprof's sampling profiler).

use std::path::Path;

use serde::Serialize;

/// A `/proc/self/status` field in bytes (`kB` lines).
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse::<u64>().ok().map(|kb| kb * 1024)
    })
}

/// Current resident set size.
pub fn rss_bytes() -> Option<u64> {
    status_kb("VmRSS")
}

/// Peak resident set size of the process so far.
pub fn peak_rss_bytes() -> Option<u64> {
    status_kb("VmHWM")
}

/// The machine, as a report states it (docs/STYLE.md 10).
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub nproc: usize,
    /// CPU model name from /proc/cpuinfo.
    pub cpu_model: String,
    /// Total memory from /proc/meminfo, bytes.
    pub memory_bytes: u64,
    /// Operating system and architecture.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine description.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:").and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok()))
            .map_or(0, |kb| kb * 1024);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        Self {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_bytes,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            kernel,
        }
    }
}

/// A running CPU profile (pprof samples every thread of the process).
pub struct Profiler {
    guard: pprof::ProfilerGuard<'static>,
}

impl Profiler {
    /// Starts sampling at 499 Hz (a prime, so it does not beat with
    /// periodic work).
    pub fn start() -> Result<Self, String> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(499)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(|e| format!("cannot start the profiler: {e}"))?;
        Ok(Self { guard })
    }

    /// Stops and writes the flame graph (SVG) to `path`.
    pub fn finish(self, path: &Path, title: &str) -> Result<(), String> {
        let report = self.guard.report().build().map_err(|e| format!("profile report: {e}"))?;
        let file = std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut options = pprof::flamegraph::Options::default();
        options.title = title.to_string();
        report.flamegraph_with_options(file, &mut options).map_err(|e| format!("flame graph: {e}"))
    }
}

//! pprof as criterion's profiler, shared by the benches: with
//! `--profile-time SECS` criterion runs each selected bench under it, and
//! `flamegraph.svg` lands in `target/criterion/<bench>/profile/`.

use std::fs::File;
use std::path::Path;

use criterion::profiler::Profiler;

/// Samples at 997 Hz, a prime, so that sampling does not lock step with
/// periodic work; samples inside libc and the unwinder are left out.
pub struct FlameGraph {
    guard: Option<pprof::ProfilerGuard<'static>>,
}

impl FlameGraph {
    /// A profiler that is not yet sampling.
    pub fn new() -> Self {
        Self { guard: None }
    }
}

impl Profiler for FlameGraph {
    fn start_profiling(&mut self, _benchmark_id: &str, _benchmark_dir: &Path) {
        self.guard = pprof::ProfilerGuardBuilder::default()
            .frequency(997)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .ok();
    }

    fn stop_profiling(&mut self, _benchmark_id: &str, benchmark_dir: &Path) {
        let Some(guard) = self.guard.take() else { return };
        let Ok(report) = guard.report().build() else { return };
        if std::fs::create_dir_all(benchmark_dir).is_ok() {
            if let Ok(file) = File::create(benchmark_dir.join("flamegraph.svg")) {
                let _ = report.flamegraph(file);
            }
        }
    }
}

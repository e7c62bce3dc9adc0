//! The process's own figures under the names Prometheus's client libraries give them
//! (`process_resident_memory_bytes`, `process_cpu_seconds_total`, …), read from `/proc` at
//! each scrape. Where `/proc` is missing (not Linux) they are left out.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Linux reports CPU time and start times in these ticks per second (`USER_HZ`, the same
/// on every architecture Linux runs on).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug)]
pub(super) struct Process;

/// What `/proc` says about this process.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Figures {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub threads: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub start_time: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

impl Figures {
    fn read() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let mut figures = Figures::default();
        if let Some(status) = read("/proc/self/status") {
            figures.status(&status);
        }
        if let Some(stat) = read("/proc/self/stat") {
            let boot = read("/proc/stat").as_deref().and_then(boot_time);
            figures.stat(&stat, boot);
        }
        if let Some(limits) = read("/proc/self/limits") {
            figures.max_fds = max_open_files(&limits);
        }
        figures.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|entries| entries.count() as u64);
        figures
    }

    /// Reads `/proc/self/status`: sizes in kB.
    pub(super) fn status(&mut self, status: &str) {
        for line in status.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let number = value.split_whitespace().next().and_then(|n| n.parse().ok());
            match key {
                "VmRSS" => self.resident_bytes = number.map(|kb: u64| kb.saturating_mul(1024)),
                "VmSize" => self.virtual_bytes = number.map(|kb: u64| kb.saturating_mul(1024)),
                "Threads" => self.threads = number,
                _ => {}
            }
        }
    }

    /// Reads `/proc/self/stat` (proc(5)): after the command name in parentheses, which may
    /// hold spaces and parentheses itself, field 14 is user time, 15 system time, and 22
    /// the start in ticks after `boot` (Unix seconds).
    pub(super) fn stat(&mut self, stat: &str, boot: Option<u64>) {
        let Some((_, after_name)) = stat.rsplit_once(')') else {
            return;
        };
        // The fields after the name start at field 3.
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            self.cpu_seconds = Some(user.saturating_add(system) as f64 / TICKS_PER_SECOND);
        }
        if let (Some(started), Some(boot)) = (field(22), boot) {
            self.start_time = Some(boot as f64 + started as f64 / TICKS_PER_SECOND);
        }
    }
}

/// The `btime` line of `/proc/stat`: when the machine booted.
pub(super) fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|n| n.trim().parse().ok())
}

/// The soft limit on open files in `/proc/self/limits`.
pub(super) fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = Figures::read();
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                figures.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                figures.virtual_bytes,
            ),
            ("process_threads", "Threads of the process", figures.threads),
            (
                "process_open_fds",
                "Open file descriptors",
                figures.open_fds,
            ),
            (
                "process_max_fds",
                "Limit on open file descriptors",
                figures.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value.and_then(|v| i64::try_from(v).ok()) {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        if let Some(start) = figures.start_time {
            let gauge = ConstGauge::new(start);
            let help = "Start time of the process since the Unix epoch, in seconds";
            let metric = encoder.encode_descriptor(
                "process_start_time_seconds",
                help,
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        if let Some(cpu) = figures.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            let help = "User and system CPU time spent, in seconds";
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                help,
                None,
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

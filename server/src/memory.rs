//! How much memory the server may use, for the sizes left to it: the smaller of the
//! machine's memory and the limits of the server's cgroup (a container's, or systemd's
//! `MemoryMax=`), so that a server started in a 64 MiB container sizes itself for 64 MiB.

use std::fs;
use std::path::Path;

/// Smallest default database cache: below this every mailbox listing goes to the disk.
const MIN_CACHE: usize = 2 << 20;

/// The database page cache when `[storage] cache_size` is not set: a sixteenth of the memory
/// the server may use, between 2 MiB and the store's default (16 MiB): 4 MiB in a 64 MiB
/// container, the full 16 MiB from 256 MiB up.
pub fn default_cache_size() -> usize {
    cache_size_for(available())
}

fn cache_size_for(available: Option<u64>) -> usize {
    let share = available.map_or(usize::MAX, |bytes| {
        usize::try_from(bytes / 16).unwrap_or(usize::MAX)
    });
    share.clamp(MIN_CACHE, store_redb::DEFAULT_CACHE_SIZE)
}

/// The memory the server may use, if any of it can be read.
fn available() -> Option<u64> {
    let machine = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total(&m));
    let cgroup = fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|c| cgroup_limit(&c, Path::new("/sys/fs/cgroup")));
    [machine, cgroup].into_iter().flatten().min()
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The tightest memory limit on the cgroup named in `/proc/self/cgroup` and its ancestors,
/// cgroup v2 (`memory.max`) or v1 (`memory.limit_in_bytes` in the memory hierarchy).
fn cgroup_limit(self_cgroup: &str, root: &Path) -> Option<u64> {
    let mut tightest = None;
    for line in self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let (dir, file) = match controllers {
            "" => (root.to_path_buf(), "memory.max"),
            list if list.split(',').any(|c| c == "memory") => {
                (root.join("memory"), "memory.limit_in_bytes")
            }
            _ => continue,
        };
        let mut cgroup = dir.join(path.trim_start_matches('/'));
        loop {
            let limit = fs::read_to_string(cgroup.join(file))
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok());
            if let Some(limit) = limit {
                tightest = Some(tightest.map_or(limit, |t: u64| t.min(limit)));
            }
            if cgroup == dir || !cgroup.pop() {
                break;
            }
        }
    }
    tightest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_64_mib_container_gets_a_4_mib_cache() {
        assert_eq!(cache_size_for(Some(64 << 20)), 4 << 20);
        assert_eq!(
            cache_size_for(Some(8 << 30)),
            store_redb::DEFAULT_CACHE_SIZE
        );
        assert_eq!(cache_size_for(Some(16 << 20)), MIN_CACHE);
        assert_eq!(cache_size_for(None), store_redb::DEFAULT_CACHE_SIZE);
    }

    proptest! {
        #[test]
        fn the_cache_stays_between_its_bounds(bytes in any::<u64>()) {
            let size = cache_size_for(Some(bytes));
            prop_assert!((MIN_CACHE..=store_redb::DEFAULT_CACHE_SIZE).contains(&size));
        }
    }

    #[test]
    fn reads_mem_total() {
        let meminfo = "MemTotal:        2014992 kB\nMemFree:          101204 kB\n";
        assert_eq!(mem_total(meminfo), Some(2014992 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_the_tightest_v2_limit_up_the_tree() {
        let root = tempfile::tempdir().unwrap();
        write(&root.path().join("system.slice/memory.max"), "268435456\n");
        write(
            &root.path().join("system.slice/postern.service/memory.max"),
            "max\n",
        );
        let limit = cgroup_limit("0::/system.slice/postern.service\n", root.path());
        assert_eq!(limit, Some(256 << 20));
    }

    #[test]
    fn reads_a_v1_memory_limit() {
        let root = tempfile::tempdir().unwrap();
        write(
            &root.path().join("memory/box/memory.limit_in_bytes"),
            "67108864\n",
        );
        write(
            &root.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        let cgroup = "12:cpu,cpuacct:/box\n4:memory:/box\n1:name=systemd:/box\n";
        assert_eq!(cgroup_limit(cgroup, root.path()), Some(64 << 20));
    }

    #[test]
    fn no_cgroup_no_limit() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(cgroup_limit("0::/\n", root.path()), None);
        assert_eq!(cgroup_limit("", root.path()), None);
    }
}

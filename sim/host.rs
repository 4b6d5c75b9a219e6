//! The machine certfleet runs on: how much memory this process may use.
//!
//! On Linux that is the smaller of the physical memory (`MemTotal` in
//! /proc/meminfo) and the cgroup memory limits of the process's own cgroup
//! and its parents — what a container, a Kubernetes pod's
//! `resources.limits.memory` or a systemd slice's `MemoryMax=` sets. Both
//! cgroup versions are read straight from their files: v2's `memory.max`
//! (the unified hierarchy) and v1's `memory.limit_in_bytes` (the `memory`
//! controller's hierarchy), found through /proc/self/cgroup and
//! /proc/self/mountinfo. On other systems (macOS, Windows) the physical
//! memory comes from the `sysinfo` crate; they have no cgroups.

use std::fmt;
use std::path::{Path, PathBuf};

/// What bounds the memory available to this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryBound {
    Physical,
    CgroupV1,
    CgroupV2,
}

/// The memory this process may use, and what sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvailableMemory {
    pub bytes: u64,
    pub bound: MemoryBound,
}

impl fmt::Display for MemoryBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryBound::Physical => "the physical memory",
            MemoryBound::CgroupV1 => "the cgroup v1 memory limit",
            MemoryBound::CgroupV2 => "the cgroup v2 memory limit",
        })
    }
}

/// The memory this process may use, or `None` if nothing can be read.
pub fn available_memory() -> Option<AvailableMemory> {
    available_memory_under(Path::new("/"))
}

/// As [`available_memory`], with /proc and /sys read under `root` (tests
/// point it at a fixture tree).
pub fn available_memory_under(root: &Path) -> Option<AvailableMemory> {
    let physical = physical_memory(root).map(|bytes| AvailableMemory {
        bytes,
        bound: MemoryBound::Physical,
    });
    let limits = cgroup_limits(root);
    physical.into_iter().chain(limits).min_by_key(|m| m.bytes)
}

#[cfg(target_os = "linux")]
fn physical_memory(root: &Path) -> Option<u64> {
    let info = std::fs::read_to_string(root.join("proc/meminfo")).ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

#[cfg(not(target_os = "linux"))]
fn physical_memory(_root: &Path) -> Option<u64> {
    use sysinfo::{MemoryRefreshKind, RefreshKind, System};
    let system = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    Some(system.total_memory()).filter(|&b| b > 0)
}

/// Limits at or above this mean "no limit" (cgroup v1 writes the largest
/// page-aligned i64, 9223372036854771712, for an unlimited group).
const UNLIMITED: u64 = 1 << 60;

/// The tightest memory limit of each cgroup version that applies to this
/// process: its own group's and every parent's up to the mount point.
fn cgroup_limits(root: &Path) -> Vec<AvailableMemory> {
    let Ok(membership) = std::fs::read_to_string(root.join("proc/self/cgroup")) else {
        return Vec::new();
    };
    let Ok(mounts) = std::fs::read_to_string(root.join("proc/self/mountinfo")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in membership.lines() {
        // `hierarchy-ID:controllers:path`; v2 is `0::path`.
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (bound, file, mount) = if id == "0" && controllers.is_empty() {
            (
                MemoryBound::CgroupV2,
                "memory.max",
                find_mount(&mounts, "cgroup2", None),
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                MemoryBound::CgroupV1,
                "memory.limit_in_bytes",
                find_mount(&mounts, "cgroup", Some("memory")),
            )
        } else {
            continue;
        };
        let Some((mount_root, mount_point)) = mount else {
            continue;
        };
        let dir = group_dir(root, &mount_point, &mount_root, path);
        let limit = ancestors_until(&dir, &root.join(strip_slash(&mount_point)))
            .filter_map(|d| read_limit(&d.join(file)))
            .min();
        if let Some(bytes) = limit {
            out.push(AvailableMemory { bytes, bound });
        }
    }
    out
}

/// The (root, mount point) of the first mount of `fstype` whose super
/// options include `option`. A mountinfo line reads
/// `id parent major:minor root mount-point options [optional…] - fstype source super-options`.
fn find_mount(mountinfo: &str, fstype: &str, option: Option<&str>) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let mut after = after.split_whitespace();
        if after.next()? != fstype {
            return None;
        }
        let super_options = after.nth(1).unwrap_or("");
        if let Some(option) = option {
            if !super_options.split(',').any(|o| o == option) {
                return None;
            }
        }
        let fields: Vec<&str> = before.split_whitespace().collect();
        Some((unescape(fields.get(3)?), unescape(fields.get(4)?)))
    })
}

/// mountinfo escapes spaces, tabs, newlines and backslashes as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn strip_slash(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// The folder of the group `path` (as /proc/self/cgroup names it) in the
/// hierarchy mounted at `mount_point` from `mount_root`. Inside a container
/// with a cgroup namespace, paths are relative to the namespace and the
/// mount root is `/`; without one, the mount root is the container's own
/// group and the path starts with it.
fn group_dir(root: &Path, mount_point: &str, mount_root: &str, path: &str) -> PathBuf {
    let relative = if mount_root == "/" {
        path
    } else {
        path.strip_prefix(mount_root).unwrap_or("")
    };
    let mut dir = root.join(strip_slash(mount_point));
    for part in relative.split('/').filter(|p| !p.is_empty() && *p != "..") {
        dir.push(part);
    }
    dir
}

/// `dir` and its parents, up to and including `top`.
fn ancestors_until<'a>(dir: &'a Path, top: &'a Path) -> impl Iterator<Item = &'a Path> {
    dir.ancestors().take_while(move |d| d.starts_with(top))
}

/// A limit file's value: bytes, or `None` for "max", unlimited or unreadable.
fn read_limit(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes < UNLIMITED).then_some(bytes)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/host")
            .join(name)
    }

    #[test]
    fn a_kubernetes_pod_on_cgroup_v2_is_bounded_by_its_limit() {
        // A container limited to 2 GiB on a 64 GiB node. Its cgroup
        // namespace makes its own group the root ("0::/"), so the limit
        // is /sys/fs/cgroup/memory.max itself.
        let m = available_memory_under(&fixture("cgroup-v2-pod")).unwrap();
        assert_eq!(
            m,
            AvailableMemory {
                bytes: 2 << 30,
                bound: MemoryBound::CgroupV2
            }
        );
    }

    #[test]
    fn a_systemd_slice_limits_its_children_on_cgroup_v2() {
        // memory.max = max in the service's group, 4 GiB on the slice above it.
        let m = available_memory_under(&fixture("cgroup-v2-slice")).unwrap();
        assert_eq!(
            m,
            AvailableMemory {
                bytes: 4 << 30,
                bound: MemoryBound::CgroupV2
            }
        );
    }

    #[test]
    fn a_docker_container_on_cgroup_v1_is_bounded_by_its_limit() {
        // Docker without a cgroup namespace: the mount root is the
        // container's own group, and /proc/self/cgroup names it in full.
        let m = available_memory_under(&fixture("cgroup-v1-docker")).unwrap();
        assert_eq!(
            m,
            AvailableMemory {
                bytes: 512 << 20,
                bound: MemoryBound::CgroupV1
            }
        );
    }

    #[test]
    fn without_a_limit_the_physical_memory_counts() {
        // A hybrid v1/v2 host (this project's own build machine): the
        // v1 memory group is unlimited (9223372036854771712) and the v2
        // hierarchy has no memory controller.
        let m = available_memory_under(&fixture("cgroup-hybrid-unlimited")).unwrap();
        assert_eq!(
            m,
            AvailableMemory {
                bytes: 24684084 * 1024,
                bound: MemoryBound::Physical
            }
        );
    }

    #[test]
    fn a_limit_above_the_physical_memory_does_not_count() {
        let m = available_memory_under(&fixture("cgroup-v2-generous")).unwrap();
        assert_eq!(m.bound, MemoryBound::Physical);
    }

    #[test]
    fn nothing_readable_is_none() {
        assert_eq!(available_memory_under(&fixture("does-not-exist")), None);
    }

    #[test]
    fn mountinfo_fields_are_parsed() {
        let line =
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n\
                    35 31 0:32 /docker/abc /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory";
        assert_eq!(
            find_mount(line, "cgroup2", None),
            Some(("/".into(), "/sys/fs/cgroup/unified".into()))
        );
        assert_eq!(
            find_mount(line, "cgroup", Some("memory")),
            Some(("/docker/abc".into(), "/sys/fs/cgroup/mem ory".into()))
        );
        assert_eq!(find_mount(line, "cgroup", Some("cpu")), None);
    }
}

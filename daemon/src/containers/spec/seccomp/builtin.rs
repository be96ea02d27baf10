//! Wharf's built-in default seccomp profile: the filter a container gets unless it is privileged or says
//! otherwise (`--security-opt seccomp=...`, `seccomp-profile` in daemon.json).
//!
//! It has the effect of dockerd's default profile (the reference dockerd is the oracle:
//! `tests/tests/seccomp.rs` compares the filters both daemons hand runc, capability set by capability
//! set): a syscall not named is refused with EPERM; what a capability makes safe is allowed only with
//! that capability (mount, unshare and setns with CAP_SYS_ADMIN, ptrace with CAP_SYS_PTRACE...); `clone`
//! without CAP_SYS_ADMIN may not create namespaces, and `clone3` (whose flags a filter cannot read)
//! answers ENOSYS so that libcs fall back to `clone`. Built in, it cannot go missing with a package, and
//! it is written as a table, so that what a capability grants reads in one place.

use nix::libc;

use super::{ArchMap, Arg, Filter, Profile, Rule};

/// Syscalls every container may make, whatever its capabilities.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
    "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futex", "futex_time64", "futex_waitv", "futimesat", "get_robust_list", "get_thread_area",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
    "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
    "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
    "io_uring_setup", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat",
    "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open",
    "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list", "set_thread_area",
    "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket",
    "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
    "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
];

/// Syscalls a capability makes safe to allow, by capability.
#[rustfmt::skip]
const BY_CAPABILITY: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
            "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
            "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
            "syslog", "umount", "umount2", "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    ("CAP_SYS_MODULE", &["delete_module", "init_module", "finit_module"]),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
    ),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    ("CAP_SYS_TIME", &["settimeofday", "stime", "clock_settime"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    ("CAP_SYS_NICE", &["get_mempolicy", "mbind", "set_mempolicy"]),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// Syscalls only some architectures have (Go's names, as the profile's `arches`).
#[rustfmt::skip]
const BY_ARCH: &[(&[&str], &[&str])] = &[
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (
        &["arm", "arm64"],
        &["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
    ),
    (&["ppc64le"], &["sync_file_range2"]),
    (&["s390", "s390x"], &["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"]),
];

/// Each native architecture with the ones its processes may also call as (a 64-bit x86 kernel runs
/// 32-bit and x32 code).
const ARCH_MAP: &[(&str, &[&str])] = &[
    ("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
    (
        "SCMP_ARCH_MIPS64",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    ),
    (
        "SCMP_ARCH_MIPS64N32",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
    ),
    (
        "SCMP_ARCH_MIPSEL64",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
    ),
    (
        "SCMP_ARCH_MIPSEL64N32",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
    ),
    ("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
    ("SCMP_ARCH_RISCV64", &[]),
];

/// The `personality` values a container may set: Linux (`PER_LINUX`), its 32-bit flavour
/// (`PER_LINUX32`), both with `UNAME26`, and the query (`0xffffffff`), which changes nothing.
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// The `clone` flags that create namespaces: without CAP_SYS_ADMIN, a `clone` must have none of them.
const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

const ALLOW: &str = "SCMP_ACT_ALLOW";

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

fn allow(list: &[&str]) -> Rule {
    Rule {
        names: names(list),
        action: ALLOW.to_owned(),
        ..Rule::default()
    }
}

fn arg(index: usize, value: u64, op: &str) -> Arg {
    Arg {
        index,
        value,
        value_two: 0,
        op: op.to_owned(),
    }
}

/// The built-in profile, in the same form a profile file is read into.
pub(crate) fn profile() -> Profile {
    let mut syscalls = vec![allow(ALLOWED)];
    // ptrace is safe without CAP_SYS_PTRACE since Linux 4.8, where seccomp runs after ptrace's changes.
    syscalls.push(Rule {
        includes: Filter {
            min_kernel: Some("4.8".to_owned()),
            ..Filter::default()
        },
        ..allow(&["ptrace"])
    });
    for &value in PERSONALITIES {
        syscalls.push(Rule {
            args: vec![arg(0, value, "SCMP_CMP_EQ")],
            ..allow(&["personality"])
        });
    }
    for (arches, list) in BY_ARCH {
        syscalls.push(Rule {
            includes: Filter {
                arches: names(arches),
                ..Filter::default()
            },
            ..allow(list)
        });
    }
    for (cap, list) in BY_CAPABILITY {
        syscalls.push(Rule {
            includes: Filter {
                caps: names(&[cap]),
                ..Filter::default()
            },
            ..allow(list)
        });
    }
    let without_sys_admin = Filter {
        caps: names(&["CAP_SYS_ADMIN"]),
        ..Filter::default()
    };
    // clone's flags are its first argument, except on s390, where they are its second.
    syscalls.push(Rule {
        args: vec![arg(0, NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ")],
        excludes: Filter {
            arches: names(&["s390", "s390x"]),
            ..without_sys_admin.clone()
        },
        ..allow(&["clone"])
    });
    syscalls.push(Rule {
        args: vec![arg(1, NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ")],
        includes: Filter {
            arches: names(&["s390", "s390x"]),
            ..Filter::default()
        },
        excludes: without_sys_admin.clone(),
        ..allow(&["clone"])
    });
    syscalls.push(Rule {
        names: names(&["clone3"]),
        action: "SCMP_ACT_ERRNO".to_owned(),
        errno_ret: Some(libc::ENOSYS as u32),
        excludes: without_sys_admin,
        ..Rule::default()
    });
    Profile {
        default_action: "SCMP_ACT_ERRNO".to_owned(),
        default_errno_ret: Some(libc::EPERM as u32),
        arch_map: ARCH_MAP
            .iter()
            .map(|(arch, subs)| ArchMap {
                architecture: (*arch).to_owned(),
                sub_architectures: names(subs),
            })
            .collect(),
        syscalls,
        ..Profile::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{to_oci, Choice};
    use super::*;
    use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

    /// What the filter answers a syscall with these arguments: `Ok(())` to allow, else the errno.
    fn decide(filter: &LinuxSeccomp, name: &str, args: &[u64]) -> Result<(), u32> {
        for rule in filter.syscalls().iter().flatten() {
            if !rule.names().iter().any(|n| n == name) {
                continue;
            }
            let holds = rule.args().iter().flatten().all(|a| {
                let v = args.get(a.index()).copied().unwrap_or(0);
                match a.op() {
                    LinuxSeccompOperator::ScmpCmpEq => v == a.value(),
                    LinuxSeccompOperator::ScmpCmpNe => v != a.value(),
                    LinuxSeccompOperator::ScmpCmpMaskedEq => {
                        v & a.value() == a.value_two().unwrap_or(0)
                    }
                    other => panic!("no test evaluator for {other:?}"),
                }
            });
            if holds {
                return match rule.action() {
                    LinuxSeccompAction::ScmpActAllow => Ok(()),
                    _ => Err(rule.errno_ret().unwrap_or(1)),
                };
            }
        }
        Err(filter.default_errno_ret().unwrap_or(1))
    }

    fn filter(caps: &[&str], arch: &str, kernel: (u32, u32)) -> LinuxSeccomp {
        let caps: Vec<String> = caps.iter().map(|c| (*c).to_owned()).collect();
        to_oci(&profile(), &caps, arch, Some(kernel)).unwrap()
    }

    fn default_caps() -> Vec<&'static str> {
        super::super::super::caps::DEFAULT_CAPS.to_vec()
    }

    const EPERM: u32 = libc::EPERM as u32;
    const ENOSYS: u32 = libc::ENOSYS as u32;

    #[test]
    fn default_capabilities_get_dockerds_refusals() {
        let f = filter(&default_caps(), "amd64", (6, 1));
        for allowed in [
            "read",
            "write",
            "openat",
            "execve",
            "arch_prctl",
            "chroot",
            "ptrace",
        ] {
            assert_eq!(decide(&f, allowed, &[]), Ok(()), "{allowed}");
        }
        for refused in [
            "unshare",
            "setns",
            "mount",
            "umount2",
            "keyctl",
            "add_key",
            "reboot",
            "bpf",
            "init_module",
            "kcmp",
            "userfaultfd",
            "open_by_handle_at",
            "clock_settime",
        ] {
            assert_eq!(decide(&f, refused, &[]), Err(EPERM), "{refused}");
        }
        let fork = libc::SIGCHLD as u64;
        assert_eq!(decide(&f, "clone", &[fork]), Ok(()));
        let threads = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(decide(&f, "clone", &[threads]), Ok(()));
        for ns in [libc::CLONE_NEWUSER, libc::CLONE_NEWNS, libc::CLONE_NEWNET] {
            assert_eq!(decide(&f, "clone", &[fork | ns as u64]), Err(EPERM));
        }
        assert_eq!(decide(&f, "clone3", &[]), Err(ENOSYS));
        assert_eq!(decide(&f, "personality", &[0xffff_ffff]), Ok(()));
        assert_eq!(decide(&f, "personality", &[0x8]), Ok(()));
        assert_eq!(decide(&f, "personality", &[0x6]), Err(EPERM));
    }

    #[test]
    fn capabilities_unlock_their_syscalls() {
        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN");
        let f = filter(&caps, "amd64", (6, 1));
        for allowed in ["unshare", "setns", "mount", "clone3"] {
            assert_eq!(decide(&f, allowed, &[]), Ok(()), "{allowed}");
        }
        let newuser = (libc::SIGCHLD | libc::CLONE_NEWUSER) as u64;
        assert_eq!(decide(&f, "clone", &[newuser]), Ok(()));
        assert_eq!(decide(&f, "keyctl", &[]), Err(EPERM));

        let f = filter(&["CAP_SYS_PTRACE", "CAP_SYS_TIME"], "amd64", (6, 1));
        assert_eq!(decide(&f, "kcmp", &[]), Ok(()));
        assert_eq!(decide(&f, "clock_settime", &[]), Ok(()));
        // Without CAP_SYS_CHROOT (--cap-drop ALL), no chroot.
        assert_eq!(decide(&f, "chroot", &[]), Err(EPERM));
    }

    #[test]
    fn old_kernels_and_other_architectures() {
        let f = filter(&default_caps(), "amd64", (4, 4));
        assert_eq!(decide(&f, "ptrace", &[]), Err(EPERM));
        let f = filter(&default_caps(), "arm64", (6, 1));
        assert_eq!(decide(&f, "arch_prctl", &[]), Err(EPERM));
        assert_eq!(decide(&f, "set_tls", &[]), Ok(()));
        let arches: Vec<String> = f
            .architectures()
            .iter()
            .flatten()
            .map(|a| format!("{a:?}"))
            .collect();
        assert_eq!(arches, ["ScmpArchAarch64", "ScmpArchArm"]);
        // s390's clone takes its flags second.
        let f = filter(&default_caps(), "s390x", (6, 1));
        let newuser = (libc::SIGCHLD | libc::CLONE_NEWUSER) as u64;
        assert_eq!(decide(&f, "clone", &[0, newuser]), Err(EPERM));
        assert_eq!(decide(&f, "clone", &[newuser, 0]), Ok(()));
    }

    #[test]
    fn the_daemon_setting_picks_builtin_unconfined_or_a_file() {
        use super::super::DaemonProfile;
        let builtin = DaemonProfile::load(None).unwrap();
        assert!(builtin.is_builtin());
        assert_eq!(builtin.profile, Some(profile()));
        assert_eq!(DaemonProfile::load(Some("builtin")).unwrap(), builtin);
        let unconfined = DaemonProfile::load(Some("unconfined")).unwrap();
        assert_eq!(
            (unconfined.setting.as_str(), unconfined.profile),
            ("unconfined", None)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
        let file = DaemonProfile::load(path.to_str()).unwrap();
        assert!(!file.is_builtin());
        assert_eq!(file.profile.unwrap().default_action, "SCMP_ACT_ALLOW");
        let missing = dir.path().join("missing.json");
        let e = DaemonProfile::load(missing.to_str()).unwrap_err();
        assert!(e.starts_with("cannot read seccomp profile"), "{e}");
        assert_eq!(super::super::choice(&[]).unwrap(), Choice::Default);
    }
}

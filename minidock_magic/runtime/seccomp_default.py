"""The engine's default seccomp profile: docker's default policy, written out here as data.

The semantics are docker's (an allow-list; everything else fails with EPERM), expressed in
docker's JSON profile format so that one loader (``seccomp``) reads this profile and any
``--security-opt seccomp=FILE.json``. What it keeps from a container, in short: new namespaces
(``unshare``/``setns``, ``clone`` with namespace flags — ``clone3`` answers ENOSYS so libc falls
back to ``clone``, whose flags a filter can see), mounting, the kernel keyrings (``keyctl``,
``add_key``, ``request_key``), loading kernels or modules, ``bpf``/``perf_event_open``,
``userfaultfd``, swap, accounting, clock setting and reboot unless the matching capability is
granted, ``open_by_handle_at`` (the "shocker" escape), ``personality`` other than the few
harmless domains, and ``AF_VSOCK`` sockets.
"""

from __future__ import annotations

from typing import Any

# Ordinary process life: files, memory, signals, time, ids, sockets, IPC. Names a kernel does
# not know on this architecture are skipped by the loader, as docker's are.
ALLOWED = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock
fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu
getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc
kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr
link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod
mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2
pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64
statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime
utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
arch_prctl modify_ldt
arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls
riscv_flush_icache
""".split()

#: ``personality`` only for the execution domains programs really ask for: PER_LINUX,
#: PER_LINUX | UNAME26, PER_LINUX32, PER_LINUX32 | UNAME26, and the query 0xffffffff.
PERSONALITY_DOMAINS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

#: CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP.
CLONE_NAMESPACE_FLAGS = 0x7E020000
AF_VSOCK = 40
ENOSYS = 38

#: Syscalls allowed only to a container that holds the capability (docker's gating).
BY_CAPABILITY = {
    "CAP_SYS_ADMIN": "bpf clone fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
                     "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd "
                     "setdomainname sethostname setns syslog umount umount2 unshare",
    "CAP_SYS_BOOT": "reboot",
    "CAP_SYS_CHROOT": "chroot",
    "CAP_SYS_MODULE": "delete_module init_module finit_module",
    "CAP_SYS_PACCT": "acct",
    "CAP_SYS_PTRACE": "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    "CAP_SYS_RAWIO": "iopl ioperm",
    "CAP_SYS_TIME": "settimeofday stime clock_settime clock_settime64",
    "CAP_SYS_TTY_CONFIG": "vhangup",
    "CAP_SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    "CAP_SYSLOG": "syslog",
    "CAP_BPF": "bpf",
    "CAP_PERFMON": "perf_event_open",
    "CAP_DAC_READ_SEARCH": "open_by_handle_at",
}


def _arg(index: int, value: int, op: str, value_two: int = 0) -> dict[str, Any]:
    return {"index": index, "value": value, "valueTwo": value_two, "op": op}


def profile() -> dict[str, Any]:
    """The default profile, in docker's JSON format."""
    syscalls: list[dict[str, Any]] = [{"names": list(ALLOWED), "action": "SCMP_ACT_ALLOW"}]
    # Since 4.8 the kernel checks seccomp again after a tracer changed a syscall, so tracing
    # one's own children (strace, gdb) cannot be used to slip past the filter.
    syscalls.append({"names": ["ptrace", "process_vm_readv", "process_vm_writev"],
                     "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}})
    syscalls += [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [_arg(0, domain, "SCMP_CMP_EQ")]} for domain in PERSONALITY_DOMAINS]
    syscalls.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                     "args": [_arg(0, AF_VSOCK, "SCMP_CMP_NE")]})
    syscalls += [{"names": names.split(), "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}}
                 for cap, names in BY_CAPABILITY.items()]
    # Without CAP_SYS_ADMIN: threads and processes yes, new namespaces no.
    syscalls.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                     "args": [_arg(0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ", 0)],
                     "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
                     "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ALLOW",
                     "includes": {"caps": ["CAP_SYS_ADMIN"]}})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "archMap": ARCH_MAP,
            "syscalls": syscalls}


#: The other ABIs a 64-bit kernel runs (32-bit binaries in an image): the same rules apply to
#: them; any other ABI is killed.
ARCH_MAP = [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
]

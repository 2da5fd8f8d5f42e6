/* sysprobe: try syscalls a hostile container would use; print NAME=OK or NAME=ERRNO-NAME.
 *
 * Built static (gcc -static) by the security tests and copied into busybox containers, which
 * have no tool that makes these calls. Every probe is harmless where it succeeds: it reads or
 * creates something private to the probe and undoes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static long child_exit(long pid) {
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, __WALL);
    return pid < 0 ? -1 : 0;
}

static long run(const char *name) {
    if (!strcmp(name, "keyctl")) /* KEYCTL_GET_KEYRING_ID of the session keyring */
        return syscall(SYS_keyctl, 0, -3, 0);
    if (!strcmp(name, "add_key"))
        return syscall(SYS_add_key, "user", "minidock-probe", "x", 1, -3);
    if (!strcmp(name, "request_key"))
        return syscall(SYS_request_key, "user", "minidock-probe", NULL, -3);
    if (!strcmp(name, "unshare_user_mnt_cgroup"))
        return unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP);
    if (!strcmp(name, "unshare_user"))
        return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "unshare_mnt"))
        return unshare(CLONE_NEWNS);
    if (!strcmp(name, "clone_newuser"))
        return child_exit(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(name, "clone_plain"))
        return child_exit(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(name, "clone3")) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.exit_signal = SIGCHLD;
        return child_exit(syscall(SYS_clone3, &args, sizeof args));
    }
    if (!strcmp(name, "setns")) {
        int fd = open("/proc/self/ns/mnt", O_RDONLY);
        return syscall(SYS_setns, fd, 0);
    }
    if (!strcmp(name, "mount_tmpfs"))
        return mkdir("/probe-mnt", 0700), mount("none", "/probe-mnt", "tmpfs", 0, "");
    if (!strcmp(name, "mount_proc"))
        return mkdir("/probe-mnt", 0700), mount("proc", "/probe-mnt", "proc", 0, NULL);
    if (!strcmp(name, "mount_cgroup"))
        return mkdir("/probe-mnt", 0700), mount("cgroup", "/probe-mnt", "cgroup", 0, "memory");
    if (!strcmp(name, "mount_sysfs"))
        return mkdir("/probe-mnt", 0700), mount("sysfs", "/probe-mnt", "sysfs", 0, NULL);
    if (!strcmp(name, "umount_proc_sys"))
        return umount2("/proc/sys", MNT_DETACH);
    if (!strcmp(name, "pivot_root"))
        return syscall(SYS_pivot_root, "/", "/");
    if (!strcmp(name, "kexec_load"))
        return syscall(SYS_kexec_load, 0, 0, NULL, 0);
    if (!strcmp(name, "init_module"))
        return syscall(SYS_init_module, NULL, 0, "");
    if (!strcmp(name, "delete_module"))
        return syscall(SYS_delete_module, "minidock_probe", 0);
    if (!strcmp(name, "open_by_handle_at"))
        return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0);
    if (!strcmp(name, "bpf"))
        return syscall(SYS_bpf, 0, NULL, 0);
    if (!strcmp(name, "perf_event_open"))
        return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
    if (!strcmp(name, "userfaultfd"))
        return syscall(SYS_userfaultfd, 0);
    if (!strcmp(name, "swapon"))
        return syscall(SYS_swapon, "/probe-none", 0);
    if (!strcmp(name, "acct"))
        return syscall(SYS_acct, NULL);
    if (!strcmp(name, "settimeofday")) /* a NULL time and zone change nothing */
        return syscall(SYS_settimeofday, NULL, NULL);
    if (!strcmp(name, "reboot")) /* a bad magic number: EINVAL if it got through */
        return syscall(SYS_reboot, 0, 0, 0, NULL);
    if (!strcmp(name, "syslog")) /* SYSLOG_ACTION_SIZE_BUFFER */
        return syscall(SYS_syslog, 10, NULL, 0);
    if (!strcmp(name, "iopl"))
        return syscall(SYS_iopl, 3);
    if (!strcmp(name, "personality_no_aslr"))
        return personality(ADDR_NO_RANDOMIZE);
    if (!strcmp(name, "personality_query"))
        return personality(0xffffffff) < 0 ? -1 : 0;
    if (!strcmp(name, "socket_vsock"))
        return socket(40, SOCK_STREAM, 0);
    if (!strcmp(name, "socket_unix"))
        return socket(AF_UNIX, SOCK_STREAM, 0);
    if (!strcmp(name, "mkdir"))
        return mkdir("/tmp", 0755) < 0 && errno == EEXIST ? 0 : mkdir("/tmp", 0755);
    if (!strcmp(name, "ptrace_attach_pid1"))
        return ptrace(PTRACE_ATTACH, 1, NULL, NULL);
    if (!strcmp(name, "mknod_block_open")) { /* a loop device node; nodev must refuse it */
        unlink("/dev/probe-loop");
        if (mknod("/dev/probe-loop", S_IFBLK | 0600, makedev(7, 0)) < 0) return -1;
        return open("/dev/probe-loop", O_RDONLY);
    }
    errno = ENOSYS;
    fprintf(stderr, "sysprobe: unknown probe %s\n", name);
    return -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long result = run(argv[i]);
        if (result < 0)
            printf("%s=%s\n", argv[i], strerrorname_np(errno));
        else
            printf("%s=OK\n", argv[i]);
        fflush(stdout);
    }
    return 0;
}

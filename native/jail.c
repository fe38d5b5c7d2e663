/* The built-in jail: see jail.h for what it does and how it is described. */
#define _GNU_SOURCE
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Landlock's interface, spelled out here: the C library's headers on older systems stop at ABI 2. */
struct oc_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};
struct oc_path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#define LL_RULE_PATH_BENEATH 1
#define LL_VERSION (1U << 0)
#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* Every file system right the ABI knows (13 rights in ABI 1, REFER in 2, TRUNCATE in 3, IOCTL_DEV in 5). */
static uint64_t fs_rights(int abi) {
  uint64_t all = (1ULL << 13) - 1;
  if (abi >= 2) all |= 1ULL << 13;
  if (abi >= 3) all |= FS_TRUNCATE;
  if (abi >= 5) all |= FS_IOCTL_DEV;
  return all;
}

/* Rights that make sense on a file (Landlock refuses directory rights on a file rule). */
static uint64_t file_only(uint64_t rights) {
  return rights & (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV);
}

int jail_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_VERSION);
  return v < 0 ? 0 : (int)v;
}

static int add_rule(int ruleset, const char *path, uint64_t rights) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : errno; /* a path that is not there grants nothing */
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  struct oc_path_beneath rule = {S_ISDIR(st.st_mode) ? rights : file_only(rights), fd};
  long r = syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
  int e = r < 0 ? errno : 0;
  close(fd);
  return e;
}

static int64_t number(const char *s) {
  char *end;
  long long v = strtoll(s, &end, 10);
  return (*s && !*end && v >= 0) ? v : -2;
}

/* The Landlock ruleset, made when the first file rule comes: a spec of limits alone confines nothing else. */
static int ruleset(jail_t *j, const char **why) {
  if (j->ruleset_fd >= 0) return 0;
  j->abi = jail_landlock_abi();
  if (j->abi < 1) {
    *why = "Landlock is not available in this kernel";
    return ENOSYS;
  }
  struct oc_ruleset_attr attr = {fs_rights(j->abi), 0, 0};
  size_t size = offsetof(struct oc_ruleset_attr, handled_access_net);
  if (j->abi >= 4) {
    attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
    size = offsetof(struct oc_ruleset_attr, scoped);
  }
  if (j->abi >= 6) {
    attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
    size = sizeof attr;
  }
  long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) {
    *why = "landlock_create_ruleset";
    return errno;
  }
  j->ruleset_fd = (int)fd;
  return 0;
}

int jail_prepare(jail_t *j, char *const *spec, int n, const char **why) {
  memset(j, 0, sizeof *j);
  j->ruleset_fd = -1;
  j->as = j->nproc = j->fsize = j->cpu = j->nofile = j->pids = -1;
  for (int i = 0; i < n; i++) {
    const char *s = spec[i], *colon = strchr(s, ':');
    const char *v = colon ? colon + 1 : "";
    size_t k = colon ? (size_t)(colon - s) : 0;
    int e = 0;
    int64_t *limit = NULL;
    if (k == 1 && strchr("rwd", s[0])) {
      if ((e = ruleset(j, why))) {
        jail_release(j);
        return e; /* *why says it */
      }
      uint64_t all = fs_rights(j->abi);
      uint64_t rights = s[0] == 'w'   ? all
                        : s[0] == 'r' ? FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
                                      : FS_READ_FILE | FS_WRITE_FILE | (all & FS_TRUNCATE);
      e = add_rule(j->ruleset_fd, v, rights);
      if (!e && s[0] == 'w') {
        if (j->n_writable == 8) e = E2BIG;
        else if (!(j->writable[j->n_writable] = strdup(v))) e = ENOMEM;
        else j->n_writable++;
      }
    } else if (k == 2 && !strncmp(s, "cg", 2)) {
      if (j->n_cgroups == 4) e = E2BIG;
      else if (!(j->cgroup[j->n_cgroups] = strdup(v))) e = ENOMEM;
      else j->n_cgroups++;
    } else if (k == 2 && !strncmp(s, "as", 2)) limit = &j->as;
    else if (k == 5 && !strncmp(s, "nproc", 5)) limit = &j->nproc;
    else if (k == 4 && !strncmp(s, "pids", 4)) limit = &j->pids;
    else if (k == 5 && !strncmp(s, "fsize", 5)) limit = &j->fsize;
    else if (k == 3 && !strncmp(s, "cpu", 3)) limit = &j->cpu;
    else if (k == 6 && !strncmp(s, "nofile", 6)) limit = &j->nofile;
    else if (k == 3 && !strncmp(s, "shm", 3)) {
      free(j->shm);
      if (!(j->shm = strdup(v))) e = ENOMEM;
    }
    else if (k == 6 && !strncmp(s, "nosuid", 6)) j->nosuid = !strcmp(v, "1");
    else if (k == 5 && !strncmp(s, "rodev", 5)) {
      if (j->n_rodev == 8) e = E2BIG;
      else if (!(j->rodev[j->n_rodev] = strdup(v))) e = ENOMEM;
      else j->n_rodev++;
    }
    else e = EINVAL;
    if (limit && (*limit = number(v)) < 0) e = EINVAL;
    if (e) {
      *why = s;
      jail_release(j);
      return e;
    }
  }
  /* The directory that the mount step binds on /dev/shm is writable. The rule must name that directory
   * itself: Landlock does not look at the mount point a mount hides. */
  if (j->shm && j->ruleset_fd >= 0 && add_rule(j->ruleset_fd, j->shm, fs_rights(j->abi)) != 0) {
    *why = "shm";
    jail_release(j);
    return EINVAL;
  }
  return 0;
}

void jail_release(jail_t *j) {
  if (j->ruleset_fd >= 0) close(j->ruleset_fd);
  j->ruleset_fd = -1;
  for (int i = 0; i < j->n_cgroups; i++) free(j->cgroup[i]);
  j->n_cgroups = 0;
  for (int i = 0; i < j->n_writable; i++) free(j->writable[i]);
  j->n_writable = 0;
  free(j->shm);
  j->shm = NULL;
  for (int i = 0; i < j->n_rodev; i++) free(j->rodev[i]);
  j->n_rodev = 0;
}

/* --- seccomp ------------------------------------------------------------------------------------------ */

#if defined(__x86_64__)
#define OC_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define OC_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define NAMESPACES                                                                                          \
  (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)

/* System calls a command never needs and a hostile one could use against the host or to leave the jail. */
static const int denied[] = {
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2, SYS_pivot_root,
    SYS_chroot, SYS_unshare, SYS_setns, SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_keyctl,
    SYS_add_key, SYS_request_key, SYS_kexec_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
    SYS_swapon, SYS_swapoff, SYS_reboot, SYS_acct, SYS_quotactl, SYS_open_by_handle_at,
    SYS_name_to_handle_at, SYS_syslog, SYS_settimeofday, SYS_clock_settime, SYS_adjtimex, SYS_sethostname,
    SYS_setdomainname, SYS_vhangup,
    /* A process that left the command's process group would outlive it: the server ends a command, and
     * everything it started, by signalling that group. */
    SYS_setsid, SYS_setpgid,
#ifdef SYS_kexec_file_load
    SYS_kexec_file_load,
#endif
#ifdef SYS_io_uring_setup
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
#ifdef SYS_open_tree
    SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
#endif
#ifdef SYS_mount_setattr
    SYS_mount_setattr,
#endif
#ifdef SYS_pidfd_getfd
    SYS_pidfd_getfd,
#endif
#if defined(__x86_64__)
    SYS_iopl, SYS_ioperm,
#endif
};
#define N_DENIED ((int)(sizeof denied / sizeof denied[0]))

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6; the C library's headers may not know it yet */
#endif

/* Calls whose mode argument could carry the setuid or setgid bit, and which argument it is. */
static const struct {
  int nr, arg;
} mode_args[] = {
    {SYS_fchmod, 1}, {SYS_fchmodat, 2}, {SYS_openat, 3}, {SYS_mknodat, 2},
#ifdef SYS_chmod /* the old calls that newer architectures (aarch64) no longer have */
    {SYS_chmod, 1},  {SYS_open, 2},     {SYS_creat, 1},  {SYS_mknod, 1},
#endif
    {SYS_fchmodat2, 2},
};
#define N_MODE_ARGS ((int)(sizeof mode_args / sizeof mode_args[0]))

#define STMT(code, k) (f[n++] = (struct sock_filter)BPF_STMT((code), (k)))
#define JUMP(code, k, jt, jf) (f[n++] = (struct sock_filter)BPF_JUMP((code), (k), (jt), (jf)))
#define LOAD_NR() STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/* full: the whole jail's filter; else only the architecture check and the setuid/setgid rule (for commands
 * that bubblewrap jails, whose namespaces confine the rest). */
static int load_seccomp(int full) {
#ifndef OC_AUDIT_ARCH
  (void)full;
  return ENOSYS; /* no filter written for this architecture: refuse rather than run without one */
#else
  struct sock_filter f[N_DENIED * 2 + N_MODE_ARGS * 5 + 32];
  int n = 0;
  STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  JUMP(BPF_JMP | BPF_JEQ | BPF_K, OC_AUDIT_ARCH, 1, 0);
  STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS); /* a foreign ABI (i386 via int 0x80) */
  /* No mode with S_ISUID or S_ISGID: a file planted in the workspace must not make anyone root. */
  for (int i = 0; i < N_MODE_ARGS; i++) {
    LOAD_NR();
    JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)mode_args[i].nr, 0, 3);
    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[mode_args[i].arg]));
    JUMP(BPF_JMP | BPF_JSET | BPF_K, 06000, 0, 1);
    STMT(BPF_RET | BPF_K, DENY_ERRNO(EPERM));
  }
  LOAD_NR();
#ifdef SYS_io_uring_setup
  /* io_uring runs opens and chmods of its own that this filter never sees. */
  JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1);
  STMT(BPF_RET | BPF_K, DENY_ERRNO(EPERM));
#endif
#ifdef SYS_openat2
  /* openat2 passes its mode in memory a filter cannot read: ENOSYS makes callers fall back to openat. */
  JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1);
  STMT(BPF_RET | BPF_K, DENY_ERRNO(ENOSYS));
#endif
  if (full) {
#if defined(__x86_64__)
    JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1); /* x32 numbers */
    STMT(BPF_RET | BPF_K, DENY_ERRNO(EPERM));
#endif
    for (int i = 0; i < N_DENIED; i++) {
      JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i], 0, 1);
      STMT(BPF_RET | BPF_K, DENY_ERRNO(EPERM));
    }
    /* No socket of any family: no TCP/UDP, no host UNIX sockets, no netlink. socketpair() stays allowed. */
    JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1);
    STMT(BPF_RET | BPF_K, DENY_ERRNO(EACCES));
    /* clone3 passes its flags in memory too: ENOSYS makes the C library fall back to clone. */
#ifdef SYS_clone3
    JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
    STMT(BPF_RET | BPF_K, DENY_ERRNO(ENOSYS));
#endif
    /* clone: threads and processes yes, new namespaces no (flags are the low word of the first argument). */
    JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    JUMP(BPF_JMP | BPF_JSET | BPF_K, NAMESPACES, 0, 1);
    STMT(BPF_RET | BPF_K, DENY_ERRNO(EPERM));
  }
  STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {(unsigned short)n, f};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return errno;
  return 0;
#endif
}

/* --- the mount step ----------------------------------------------------------------------------------- */

struct oc_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define MOUNT_RDONLY 0x1
#define MOUNT_NOSUID 0x2
#define MOUNT_NODEV 0x4
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t w = write(fd, text, strlen(text));
  int e = w < 0 ? errno : 0;
  close(fd);
  return e;
}

static int set_mount_attr(const char *path, unsigned flags, uint64_t set, uint64_t clear) {
  struct oc_mount_attr attr = {set, clear, 0, 0};
  return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr) < 0 ? errno : 0;
}

/*
 * A mount namespace where everything but the writable paths is read-only (nosuid, nodev for those). As root
 * the namespace comes directly; otherwise inside a user namespace mapping the user to itself, where the kernel
 * allows one (ENOTSUP where it does not: Landlock alone then guards the files, not their modes and times).
 */
static int readonly_host(const jail_t *j) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (uid == 0) {
    if (unshare(CLONE_NEWNS) < 0) return errno;
  } else {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return ENOTSUP;
    char map[48];
    int e = write_text("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (!e) e = write_text("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (!e) e = write_text("/proc/self/gid_map", map);
    if (e) return e;
  }
  /* Private first: nothing done here may reach the host's mount table. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return errno;
  for (int i = 0; i < j->n_writable; i++)
    if (mount(j->writable[i], j->writable[i], NULL, MS_BIND | MS_REC, NULL) < 0) return errno;
  if (j->shm && mount(j->shm, "/dev/shm", NULL, MS_BIND, NULL) < 0) return errno;
  int e = set_mount_attr("/", AT_RECURSIVE, MOUNT_RDONLY, 0);
  for (int i = 0; !e && i < j->n_writable; i++)
    e = set_mount_attr(j->writable[i], AT_RECURSIVE, MOUNT_NOSUID | MOUNT_NODEV, MOUNT_RDONLY);
  if (!e && j->shm) e = set_mount_attr("/dev/shm", 0, MOUNT_NOSUID | MOUNT_NODEV, MOUNT_RDONLY);
  if (e) return e;
  /* The working directory was entered before these mounts: enter it again, through them. */
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) && chdir(cwd) < 0) return errno;
  return 0;
}

/* As root, before bubblewrap: a mount namespace where the device nodes it will bind are read-only. */
static int readonly_devices(const jail_t *j) {
  if (unshare(CLONE_NEWNS) < 0) return errno;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return errno;
  for (int i = 0; i < j->n_rodev; i++) {
    if (access(j->rodev[i], F_OK) != 0) continue;
    if (mount(j->rodev[i], j->rodev[i], NULL, MS_BIND, NULL) < 0) return errno;
    int e = set_mount_attr(j->rodev[i], 0, MOUNT_RDONLY, 0);
    if (e) return e;
  }
  return 0;
}

/* --- cgroups ----------------------------------------------------------------------------------------- */

int jail_command_group(char *out, size_t size, const char *dir, pid_t pid) {
  return snprintf(out, size, "%s/c%d", dir, (int)pid);
}

/* Each command gets a group of its own under each "cg:" directory, with pids.max from "pids:": a fork bomb
 * exhausts its own budget, not the other commands'. */
static int join_cgroups(const jail_t *j) {
  char path[4200];
  for (int i = 0; i < j->n_cgroups; i++) {
    jail_command_group(path, sizeof path - 16, j->cgroup[i], getpid());
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return errno;
    size_t len = strlen(path);
    char value[32];
    snprintf(value, sizeof value, "%lld\n", (long long)j->pids);
    int e = 0;
    if (j->pids >= 0) {
      strcpy(path + len, "/pids.max");
      e = write_text(path, value);
    }
    strcpy(path + len, "/cgroup.procs");
    if (!e) e = write_text(path, "0\n");
    if (e) return e;
  }
  return 0;
}


/* --- entering ----------------------------------------------------------------------------------------- */

static int limit(int resource, int64_t value) {
  if (value < 0) return 0;
  /* CPU: SIGXCPU at the limit (a clear "CPU time limit exceeded"), SIGKILL a second later if ignored. */
  struct rlimit rl = {(rlim_t)value, (rlim_t)value + (resource == RLIMIT_CPU)};
  return setrlimit(resource, &rl) < 0 ? errno : 0;
}

/* Root keeps no capability: bounding set emptied, securebits locked so that no exec gives any back. */
static int drop_root_powers(void) {
  const unsigned long bits = 0x2f; /* NOROOT, NOROOT_LOCKED, NO_SETUID_FIXUP(+_LOCKED), KEEP_CAPS_LOCKED */
  if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0) return errno;
  for (int cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return errno;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &head, data) < 0) return errno;
  return 0;
}

int jail_enter(const jail_t *j) {
  int e;
  if ((e = join_cgroups(j))) return e;
  if ((e = limit(RLIMIT_AS, j->as)) || (e = limit(RLIMIT_NPROC, j->nproc)) ||
      (e = limit(RLIMIT_FSIZE, j->fsize)) || (e = limit(RLIMIT_CPU, j->cpu)) ||
      (e = limit(RLIMIT_NOFILE, j->nofile)) || (e = limit(RLIMIT_CORE, 0)))
    return e;
  if (j->ruleset_fd < 0) {
    /* Limits alone: another jail (bubblewrap) confines the rest; with nosuid:1 the setuid rule applies too
     * (root may load a filter without no_new_privs, which a setuid bubblewrap would not survive). */
    if (geteuid() == 0 && j->n_rodev > 0 && (e = readonly_devices(j))) return e;
    if (!j->nosuid) return 0;
    if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
    return load_seccomp(0);
  }
  e = readonly_host(j);
  if (e && !(e == ENOTSUP && geteuid() != 0)) return e;
  if (geteuid() == 0 && (e = drop_root_powers())) return e;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
  if (syscall(SYS_landlock_restrict_self, j->ruleset_fd, 0) < 0) return errno;
  return load_seccomp(1);
}

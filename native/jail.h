/*
 * The built-in jail of ollama-coder: confines one command before it executes, with no package to install.
 *
 *   Landlock   file system: read and execute beneath the "r:" paths, full access beneath the "w:" paths,
 *              read and write on the "d:" device files, nothing else at all; TCP bind and connect denied;
 *              signals and abstract UNIX sockets scoped to the jail (each as far as the kernel's ABI goes).
 *   seccomp    no socket() of any family, no ptrace, no mounts, no new namespaces, no io_uring, no keyrings,
 *              no BPF, no kernel modules, no setsid/setpgid (nothing leaves the command's process group, so
 *              nothing outlives it); see jail.c for the list.
 *   privileges no_new_privs; as root every capability is dropped for good (securebits locked), and a "uid:"
 *              moves the command to an unprivileged user.
 *   limits     rlimits for address space, processes, file size, CPU seconds and open files; "cg:" cgroup
 *              directories the command joins (their pids.max and memory limits are set by the server).
 *
 * A jail is described by spec strings, one rule each (the server builds them; see src/sandbox/builtin-jail.ts):
 *   r:PATH  w:PATH  d:PATH  as:BYTES  nproc:N  fsize:BYTES  cpu:SECONDS  nofile:N  uid:N  gid:N  cg:DIR
 * A spec without any r:/w:/d: rule sets the limits and cgroups alone (for commands that bubblewrap jails).
 * jail_prepare() runs in the parent (it opens the paths and builds the rules); jail_enter() runs in the forked
 * child just before execve and makes only system calls.
 */
#ifndef OC_JAIL_H
#define OC_JAIL_H

#include <stdint.h>
#include <sys/types.h>

typedef struct {
  int ruleset_fd;  /* Landlock ruleset, -1 when none */
  int abi;         /* Landlock ABI in force */
  int64_t as, nproc, fsize, cpu, nofile; /* -1: leave as is */
  int64_t uid, gid;                      /* -1: keep */
  char *cgroup[4];                       /* cgroup.procs files to join (one per hierarchy) */
  int n_cgroups;
} jail_t;

/* The kernel's Landlock ABI version (0 when Landlock is missing or disabled). */
int jail_landlock_abi(void);

/* Builds a jail from n spec strings. 0 on success, else an errno value; *why names what failed. */
int jail_prepare(jail_t *j, char *const *spec, int n, const char **why);

/* Releases what jail_prepare opened. */
void jail_release(jail_t *j);

/* Confines the calling process (call in the child, right before execve). 0, or an errno value. */
int jail_enter(const jail_t *j);

#endif

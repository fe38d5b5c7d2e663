/*
 * The built-in jail of ollama-coder: confines one command before it executes, with no package to install.
 *
 *   Landlock   file system: read and execute beneath the "r:" paths, full access beneath the "w:" paths,
 *              read and write on the "d:" device files, nothing else at all; TCP bind and connect denied;
 *              signals and abstract UNIX sockets scoped to the jail (each as far as the kernel's ABI goes).
 *   seccomp    no socket() of any family, no ptrace, no mounts, no new namespaces, no io_uring, no keyrings,
 *              no BPF, no kernel modules, no setsid/setpgid (nothing leaves the command's process group, so
 *              nothing outlives it); see jail.c for the list.
 *              No mode with the setuid or setgid bit (chmod, open/creat, mknod): nothing planted in the
 *              workspace can make another user root.
 *   mounts     a mount namespace of the command's own where everything but the "w:" paths is read-only (as
 *              root directly, else in a user namespace where the kernel allows one): Landlock does not cover
 *              mode, owner, time and extended-attribute changes, a read-only mount refuses them all. With
 *              "shm:DIR", DIR (writable) is bound on /dev/shm (for Python's multiprocessing and the like).
 *   privileges no_new_privs; as root every capability is dropped for good (securebits locked).
 *   limits     rlimits for address space, processes, file size, CPU seconds and open files; under each
 *              "cg:" directory a cgroup of the command's own (c<pid>, pids.max from "pids:"), so that one
 *              command's fork bomb does not starve the others.
 *
 * A jail is described by spec strings, one rule each (the server builds them; see src/sandbox/builtin-jail.ts):
 *   r:PATH  w:PATH  d:PATH  as:BYTES  nproc:N  fsize:BYTES  cpu:SECONDS  nofile:N  cg:DIR  pids:N  shm:DIR  nosuid:1  rodev:PATH
 * A spec without any r:/w:/d: rule sets the limits and cgroups alone (for commands that bubblewrap jails),
 * with "nosuid:1" the setuid/setgid filter too, and with "rodev:PATH" (as root) a mount namespace where those
 * device nodes are bound read-only: the jailed user, root's owner without its powers, cannot chmod the host's
 * /dev/null through bubblewrap's binds of them.
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
  int64_t pids;                          /* pids.max of each command's own cgroup, -1: none set */
  char *cgroup[4];                       /* server cgroup directories (one per hierarchy) */
  int n_cgroups;
  char *writable[8];                     /* the "w:" paths, left writable by the mount step */
  int n_writable;
  char *shm;                             /* directory bound on /dev/shm, or NULL */
  char *rodev[8];                        /* device nodes made read-only before bubblewrap binds them */
  int n_rodev;
  int nosuid;
} jail_t;

/* The kernel's Landlock ABI version (0 when Landlock is missing or disabled). */
int jail_landlock_abi(void);

/* Builds a jail from n spec strings. 0 on success, else an errno value; *why names what failed. */
int jail_prepare(jail_t *j, char *const *spec, int n, const char **why);

/* Releases what jail_prepare opened. */
void jail_release(jail_t *j);

/* The path of a command's own cgroup under a server's cgroup directory (DIR/c<pid>), as snprintf. */
int jail_command_group(char *out, size_t size, const char *dir, pid_t pid);

/* Confines the calling process (call in the child, right before execve). 0, or an errno value. */
int jail_enter(const jail_t *j);

#endif

/*
 * oc-spawner: a small long-lived process that starts commands for the ollama-coder server.
 *
 * Why: Node's child_process.spawn forks the whole server process and blocks its event loop until the child
 * has exec'd. This helper is tiny and uses posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc), so
 * starting a command costs what it costs xargs, and the server's event loop never waits on it.
 *
 * Protocol (all integers little-endian u32 unless noted). The server writes requests on our stdin:
 *   u32 length of the rest | u8 'S' | u32 id | u32 argc | u32 envc | u32 jailc |
 *   cwd\0 argv[0]\0 ... env[0]\0 ... jail[0]\0 ...
 * jailc > 0: the command is confined by the built-in jail (jail.h) described by the jail strings before it
 * executes (it is then started with fork, since posix_spawn runs no code of ours in the child).
 * We write events on our stdout:
 *   u8 type | u32 id | u32 length | payload
 *   'P' started        payload: i32 pid (the child leads its own process group: pgid == pid)
 *   'F' failed to start payload: i32 errno
 *   'O' / 'R'          stdout / stderr bytes
 *   'X' ended          payload: i32 exit code (-1 if killed), i32 signal (0 if exited); sent once the child
 *                      has been reaped and both of its pipes are closed
 * When the child exits, whatever it left in its process group is killed (no orphans holding the pipes); if
 * something that left the group still holds them, the end is reported DRAIN_MS later anyway.
 * On EOF of stdin (the server is gone) every running group is killed and we exit.
 * Timeouts and cancellation are the server's: it signals the group (-pid) itself.
 *
 * Other ways to run it:
 *   oc-spawner --jail SPEC... -- PROGRAM ARG...   confine this process as the specs say, then exec PROGRAM
 *   oc-spawner --landlock-abi                     print the kernel's Landlock ABI version (0: none)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jail.h"

/* How long the pipes may stay open after the program exited: something that left its process group (setsid)
 * and kept them must not hold the command's end forever. */
#define DRAIN_MS 2000

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
  uint32_t id;
  pid_t pid;
  int out_fd; /* -1 once closed */
  int err_fd;
  int exited;
  long long drain_deadline; /* after exit: when to stop waiting for the pipes (ms, monotonic) */
  int32_t code;
  int32_t sig;
  char *cgroups; /* the command's own cgroups (jail.h), NUL-separated, ending with an empty string; or NULL */
} child_t;

static child_t *children;
static size_t n_children, cap_children;

static void die(const char *what) {
  fprintf(stderr, "oc-spawner: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void write_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(1, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the server is gone */
    }
    p += w;
    len -= (size_t)w;
  }
}

static void put_u32(unsigned char *b, uint32_t v) {
  b[0] = v & 0xff;
  b[1] = (v >> 8) & 0xff;
  b[2] = (v >> 16) & 0xff;
  b[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const unsigned char *b) {
  return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

/* Events wait here and go out in one write per turn of the loop: fewer system calls, fewer wake-ups. */
static unsigned char *out_buf;
static size_t out_len, out_cap;

static void flush_events(void) {
  if (out_len == 0) return;
  write_all(out_buf, out_len);
  out_len = 0;
}

static void emit(char type, uint32_t id, const void *payload, uint32_t len) {
  size_t need = out_len + 9 + len;
  if (need > out_cap) {
    out_cap = need > 2 * out_cap ? need : 2 * out_cap;
    out_buf = realloc(out_buf, out_cap);
    if (!out_buf) die("realloc");
  }
  unsigned char *h = out_buf + out_len;
  h[0] = (unsigned char)type;
  put_u32(h + 1, id);
  put_u32(h + 5, len);
  if (len) memcpy(h + 9, payload, len);
  out_len += 9 + len;
  if (out_len >= (1u << 18)) flush_events(); /* chatty commands: do not hold much */
}

static void emit_i32(char type, uint32_t id, int32_t a) {
  unsigned char b[4];
  put_u32(b, (uint32_t)a);
  emit(type, id, b, 4);
}

/* How a program is started once its full path is known: posix_spawn, or execve in a jailed child. */
typedef struct {
  const posix_spawn_file_actions_t *fa;
  const posix_spawnattr_t *attr;
  pid_t *pid;
} spawn_how;

static int try_path(const spawn_how *how, const char *full, char *const argv[], char *const envp[]) {
  if (!how) {
    execve(full, argv, envp);
    return errno;
  }
  return posix_spawn(how->pid, full, how->fa, how->attr, argv, envp);
}

/* Like execvpe: a name without a slash is looked up on the PATH of the child's environment. `how` NULL: exec
 * in this process (returns only on failure). Returns 0 or an errno value. */
static int run_path(const spawn_how *how, const char *file, char *const argv[], char *const envp[]) {
  if (strchr(file, '/')) return try_path(how, file, argv, envp);
  const char *path = NULL;
  for (char *const *e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  size_t flen = strlen(file);
  int err = ENOENT, seen_eacces = 0;
  const char *p = path;
  char full[4096];
  for (;;) {
    const char *end = strchr(p, ':');
    size_t dlen = end ? (size_t)(end - p) : strlen(p);
    if (dlen + flen + 2 <= sizeof full) {
      if (dlen == 0) {
        full[0] = '.';
        dlen = 1;
      } else {
        memcpy(full, p, dlen);
      }
      full[dlen] = '/';
      memcpy(full + dlen + 1, file, flen + 1);
      err = try_path(how, full, argv, envp);
      if (err == 0) return 0;
      if (err == EACCES) seen_eacces = 1;
      else if (err != ENOENT && err != ENOTDIR) return err;
    }
    if (!end) break;
    p = end + 1;
  }
  return seen_eacces ? EACCES : err;
}

/* The jail of the last jailed request, kept while requests keep naming the same one. */
static jail_t jail;
static char *jail_key;
static size_t jail_key_len;

static int jail_for(char **spec, uint32_t n) {
  size_t len = 0;
  for (uint32_t i = 0; i < n; i++) len += strlen(spec[i]) + 1;
  if (jail_key && len == jail_key_len && memcmp(jail_key, spec[0], len) == 0) return 0; /* strings are contiguous */
  if (jail_key) jail_release(&jail); /* the one before (a zeroed jail_t holds no descriptor) */
  free(jail_key);
  jail_key = NULL;
  const char *why = "";
  int e = jail_prepare(&jail, spec, (int)n, &why);
  if (e) {
    fprintf(stderr, "oc-spawner: jail: %s: %s\n", why, strerror(e));
    return e;
  }
  jail_key = malloc(len);
  if (!jail_key) die("malloc");
  memcpy(jail_key, spec[0], len);
  jail_key_len = len;
  return 0;
}

/* Starts a jailed command: fork, confine the child, exec. Errors before the exec come back on a pipe. */
static int spawn_jailed(pid_t *pid, const char *cwd, char **argv, char **envp, int out_w, int err_w) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) return errno;
  pid_t p = fork();
  if (p < 0) {
    int e = errno;
    close(ep[0]);
    close(ep[1]);
    return e;
  }
  if (p == 0) {
    int e = 0;
    sigset_t none;
    sigemptyset(&none);
    /* An ignored signal stays ignored across exec: the command gets every default back. */
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 || chdir(cwd) < 0) e = errno;
    if (!e) e = jail_enter(&jail);
    if (!e) e = run_path(NULL, argv[0], argv, envp);
    ssize_t w = write(ep[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  setpgid(p, p); /* also here, so that the group exists before the server can signal it */
  close(ep[1]);
  int e = 0;
  ssize_t r;
  do r = read(ep[0], &e, sizeof e);
  while (r < 0 && errno == EINTR);
  close(ep[0]);
  *pid = p;
  if (r == (ssize_t)sizeof e) {
    waitpid(p, NULL, 0);
    return e ? e : EINVAL;
  }
  return 0;
}

/* The cgroups jail_enter made for the command (DIR/c<pid> under each "cg:" of the jail in force). */
static char *command_cgroups(pid_t pid) {
  if (jail.n_cgroups == 0) return NULL;
  size_t size = 1;
  for (int i = 0; i < jail.n_cgroups; i++) size += strlen(jail.cgroup[i]) + 16;
  char *list = malloc(size), *p = list;
  if (!list) die("malloc");
  for (int i = 0; i < jail.n_cgroups; i++)
    p += jail_command_group(p, strlen(jail.cgroup[i]) + 16, jail.cgroup[i], pid) + 1;
  *p = 0;
  return list;
}

/* Cgroups of ended commands whose last processes were still dying: removed on a later turn. */
static char **stale_groups;
static size_t n_stale, cap_stale;

static void remove_groups(char *list) {
  for (char *g = list; g && *g; g += strlen(g) + 1) {
    if (rmdir(g) == 0 || errno != EBUSY) continue;
    if (n_stale == cap_stale) {
      cap_stale = cap_stale ? 2 * cap_stale : 16;
      stale_groups = realloc(stale_groups, cap_stale * sizeof *stale_groups);
      if (!stale_groups) die("realloc");
    }
    stale_groups[n_stale] = strdup(g);
    if (!stale_groups[n_stale]) die("strdup");
    n_stale++;
  }
  free(list);
}

static void retry_stale_groups(void) {
  for (size_t i = n_stale; i-- > 0;) {
    if (rmdir(stale_groups[i]) < 0 && errno == EBUSY) continue;
    free(stale_groups[i]);
    stale_groups[i] = stale_groups[--n_stale];
  }
}

static void start(uint32_t id, const char *cwd, char **argv, char **envp, char **spec, uint32_t specc) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0) {
    emit_i32('F', id, errno);
    return;
  }
  if (pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    emit_i32('F', id, e);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc;
  if (specc == 0) {
    spawn_how how = {&fa, &attr, &pid};
    rc = run_path(&how, argv[0], argv, envp);
  } else {
    rc = jail_for(spec, specc);
    if (rc == 0) rc = spawn_jailed(&pid, cwd, argv, envp, out[1], err[1]);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    if (specc && pid > 0) remove_groups(command_cgroups(pid)); /* the child made them, then failed */
    emit_i32('F', id, rc);
    return;
  }
  if (n_children == cap_children) {
    cap_children = cap_children ? cap_children * 2 : 16;
    children = realloc(children, cap_children * sizeof *children);
    if (!children) die("realloc");
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  children[n_children++] = (child_t){id, pid, out[0], err[0], 0, 0, -1, 0, specc ? command_cgroups(pid) : NULL};
  emit_i32('P', id, pid);
}

/* Parses one request frame (without its length prefix). */
static void handle_request(unsigned char *msg, uint32_t len) {
  if (len < 17 || msg[0] != 'S') {
    fprintf(stderr, "oc-spawner: bad request\n");
    exit(2);
  }
  uint32_t id = get_u32(msg + 1), argc = get_u32(msg + 5), envc = get_u32(msg + 9), jailc = get_u32(msg + 13);
  if (argc == 0 || argc > len || envc > len || jailc > len) {
    emit_i32('F', id, EINVAL);
    return;
  }
  char **argv = calloc(argc + 1, sizeof(char *));
  char **envp = calloc(envc + 1, sizeof(char *));
  char **spec = calloc(jailc + 1, sizeof(char *));
  if (!argv || !envp || !spec) die("calloc");
  char *p = (char *)msg + 17, *end = (char *)msg + len;
  char *cwd = NULL;
  uint32_t want = 1 + argc + envc + jailc, got = 0;
  while (p < end && got < want) {
    char *z = memchr(p, 0, (size_t)(end - p));
    if (!z) break;
    if (got == 0) cwd = p;
    else if (got <= argc) argv[got - 1] = p;
    else if (got <= argc + envc) envp[got - 1 - argc] = p;
    else spec[got - 1 - argc - envc] = p;
    got++;
    p = z + 1;
  }
  if (got == want) start(id, cwd, argv, envp, spec, jailc);
  else emit_i32('F', id, EINVAL);
  free(argv);
  free(envp);
  free(spec);
}

static void finish_if_done(size_t i) {
  child_t *c = &children[i];
  if (!c->exited || c->out_fd >= 0 || c->err_fd >= 0) return;
  unsigned char b[8];
  put_u32(b, (uint32_t)c->code);
  put_u32(b + 4, (uint32_t)c->sig);
  emit('X', c->id, b, 8);
  children[i] = children[--n_children];
}

/* Reads what a pipe holds now (a bounded amount, so that one chatty child cannot starve the others). */
static void drain(child_t *c, int *fd, char type) {
  static char buf[65536];
  for (int round = 0; round < 16; round++) {
    ssize_t r = read(*fd, buf, sizeof buf);
    if (r > 0) {
      emit(type, c->id, buf, (uint32_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    close(*fd); /* EOF or error */
    *fd = -1;
    return;
  }
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < n_children; i++) {
      if (children[i].pid != pid) continue;
      children[i].exited = 1;
      children[i].drain_deadline = now_ms() + DRAIN_MS;
      if (WIFEXITED(status)) {
        children[i].code = WEXITSTATUS(status);
        children[i].sig = 0;
      } else {
        children[i].code = -1;
        children[i].sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      }
      kill(-pid, SIGKILL); /* whatever it left behind in its group */
      remove_groups(children[i].cgroups);
      children[i].cgroups = NULL;
      break;
    }
  }
}

/* `--jail SPEC... -- PROGRAM ARG...`: confine this process, then exec the program (for Node's spawn). */
static int exec_jailed(int argc, char **argv) {
  int sep = 2;
  while (sep < argc && strcmp(argv[sep], "--") != 0) sep++;
  if (sep + 1 >= argc) {
    fprintf(stderr, "usage: oc-spawner --jail SPEC... -- PROGRAM [ARG...]\n");
    return 2;
  }
  const char *why = "";
  int e = jail_prepare(&jail, argv + 2, sep - 2, &why);
  if (!e) why = "entering the jail", e = jail_enter(&jail);
  if (!e) why = argv[sep + 1], e = run_path(NULL, argv[sep + 1], argv + sep + 1, environ);
  fprintf(stderr, "oc-spawner: %s: %s\n", why, strerror(e));
  return e == ENOENT ? 127 : 126;
}

/* Descriptors the server inherited from whoever started it (a shell's `200>>file`) are not ours to pass on:
 * close everything above stderr before any command can inherit it. */
static void close_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3, ~0U, 0) == 0) return;
#endif
  for (int fd = 3; fd < 65536; fd++) close(fd);
}

int main(int argc, char **argv) {
  close_inherited();
  if (argc > 1 && strcmp(argv[1], "--jail") == 0) return exec_jailed(argc, argv);
  if (argc > 1 && strcmp(argv[1], "--landlock-abi") == 0) {
    printf("%d\n", jail_landlock_abi());
    return 0;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) die("sigprocmask");
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  signal(SIGPIPE, SIG_IGN);
  /* A terminal's Ctrl-C, or a service manager's SIGTERM, goes to the server's whole process group, this
   * helper included: the server decides when commands stop (it closes our stdin); we do not die under them. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);

  size_t in_cap = 1 << 16, in_len = 0;
  unsigned char *in = malloc(in_cap);
  if (!in) die("malloc");
  struct pollfd *pfds = NULL;
  size_t pfd_cap = 0;

  for (;;) {
    size_t need = 2 + 2 * n_children;
    if (need > pfd_cap) {
      pfd_cap = need * 2;
      pfds = realloc(pfds, pfd_cap * sizeof *pfds);
      if (!pfds) die("realloc");
    }
    pfds[0] = (struct pollfd){0, POLLIN, 0};
    pfds[1] = (struct pollfd){sfd, POLLIN, 0};
    size_t n = 2;
    for (size_t i = 0; i < n_children; i++) {
      pfds[n++] = (struct pollfd){children[i].out_fd, POLLIN, 0}; /* fd -1 is ignored by poll */
      pfds[n++] = (struct pollfd){children[i].err_fd, POLLIN, 0};
    }
    flush_events();
    retry_stale_groups();
    int timeout = n_stale ? 100 : -1;
    long long now = now_ms();
    for (size_t i = 0; i < n_children; i++) {
      if (!children[i].exited) continue;
      long long left = children[i].drain_deadline - now;
      int t = left < 0 ? 0 : (int)left;
      if (timeout < 0 || t < timeout) timeout = t;
    }
    if (poll(pfds, n, timeout) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Output first, so that a child's last bytes go out before its end. */
    for (size_t i = 0; i < n_children; i++) {
      short ro = pfds[2 + 2 * i].revents, re = pfds[3 + 2 * i].revents;
      if (ro && children[i].out_fd >= 0) drain(&children[i], &children[i].out_fd, 'O');
      if (re && children[i].err_fd >= 0) drain(&children[i], &children[i].err_fd, 'R');
    }
    if (pfds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      reap();
    }
    now = now_ms();
    for (size_t i = 0; i < n_children; i++) {
      child_t *c = &children[i];
      if (!c->exited || now < c->drain_deadline) continue;
      if (c->out_fd >= 0) close(c->out_fd);
      if (c->err_fd >= 0) close(c->err_fd);
      c->out_fd = c->err_fd = -1;
    }
    for (size_t i = n_children; i-- > 0;) finish_if_done(i);
    if (pfds[0].revents) {
      if (in_len == in_cap) {
        in_cap *= 2;
        in = realloc(in, in_cap);
        if (!in) die("realloc");
      }
      ssize_t r = read(0, in + in_len, in_cap - in_len);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { /* the server is gone: so is everything it started */
        flush_events();
        for (size_t i = 0; i < n_children; i++) kill(-children[i].pid, SIGKILL);
        return 0;
      }
      in_len += (size_t)r;
      size_t off = 0;
      while (in_len - off >= 4) {
        uint32_t len = get_u32(in + off);
        if (in_len - off - 4 < len) break; /* the rest comes with a later read */
        handle_request(in + off + 4, len);
        off += 4 + len;
      }
      memmove(in, in + off, in_len - off);
      in_len -= off;
    }
  }
}

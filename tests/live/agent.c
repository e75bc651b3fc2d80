// SPDX-License-Identifier: LGPL-2.1-or-later
/* Agents: attacher processes driven by a live test; see agent.h. */
#include "agent.h"

#include <fcntl.h>
#include <libmshare.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 20000

/* ---- test side ---- */

static pid_t live_agents[64];
static int n_live_agents;

static void agents_cleanup(void)
{
	for (int i = 0; i < n_live_agents; i++)
		if (live_agents[i] > 0)
			kill(live_agents[i], SIGKILL);
	/* reap them: the harness unmounts right after the last test */
	for (int i = 0; i < n_live_agents; i++)
		if (live_agents[i] > 0)
			waitpid(live_agents[i], NULL, 0);
}

static void agent_track(pid_t pid)
{
	if (!n_live_agents)
		live_atexit(agents_cleanup);
	for (int i = 0; i < n_live_agents; i++) {
		if (live_agents[i] <= 0) {
			live_agents[i] = pid;
			return;
		}
	}
	if (n_live_agents < (int)(sizeof(live_agents) / sizeof(live_agents[0])))
		live_agents[n_live_agents++] = pid;
}

static void agent_untrack(pid_t pid)
{
	for (int i = 0; i < n_live_agents; i++)
		if (live_agents[i] == pid)
			live_agents[i] = 0;
}

static void agent_start(struct agent *a, const char *name, bool exec)
{
	int to[2], from[2];
	const char *path = NULL;
	pid_t ppid = getpid();

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (exec) {
		path = sibling("mshare-agent");
		CHECKF(path != NULL, "helper mshare-agent not found next to %s", bindir());
	}
	CHECK(pipe2(to, O_CLOEXEC) == 0 && pipe2(from, O_CLOEXEC) == 0);
	a->pid = fork();
	CHECK(a->pid >= 0);
	if (a->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(99);
		alarm(0);
		if (!exec) {
			close(to[1]);
			close(from[0]);
			_exit(agent_serve(to[0], from[1]));
		}
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(98);
		execl(path, "mshare-agent", (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	a->to = to[1];
	a->from = from[0];
	agent_track(a->pid);
}

void agent_fork(struct agent *a, const char *name)
{
	agent_start(a, name, false);
}

void agent_exec(struct agent *a, const char *name)
{
	agent_start(a, name, true);
}

/* One line from fd (without the newline), waiting at most timeout_ms. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;
	long end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = end - now_ms();
		char c;
		ssize_t r;

		if (timeout_ms >= 0) {
			if (left <= 0)
				return -2;
			if (poll(&p, 1, (int)left) == 0)
				return -2;
		}
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = 0;
	return (int)n;
}

static const char *agent_vcall(struct agent *a, const char *fmt, va_list ap,
			       int *why)
{
	static char reply[512];
	char cmd[512];
	int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap), r;

	cmd[n++] = '\n';
	cmd[n] = 0;
	*why = 0;
	if (write(a->to, cmd, (size_t)n) != n) {
		*why = -1;
		return NULL;
	}
	r = read_line(a->from, reply, sizeof(reply), (int)wait_ms(REPLY_TIMEOUT_MS));
	if (r < 0) {
		*why = r;
		return NULL;
	}
	return reply;
}

const char *agent_try(struct agent *a, const char *fmt, ...)
{
	const char *r;
	va_list ap;
	int why;

	va_start(ap, fmt);
	r = agent_vcall(a, fmt, ap, &why);
	va_end(ap);
	return r;
}

const char *agent_do(const char *file, int line, struct agent *a,
		     const char *fmt, ...)
{
	char cmd[256];
	const char *r;
	va_list ap;
	int why;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	r = agent_vcall(a, fmt, ap, &why);
	va_end(ap);
	live_checks++;
	if (!r)
		live_fail(file, line, cmd, 0, "agent %s (pid %d) %s", a->name,
			  (int)a->pid, why == -2 ?
			  "gave no answer in 20 s (stuck in a fault loop?)" :
			  "died (see its stderr and the kernel log)");
	if (strncmp(r, "ok", 2))
		live_fail(file, line, cmd, 0, "agent %s (pid %d): %s", a->name,
			  (int)a->pid, r);
	if (!strncmp(cmd, "attach", 6))
		a->addr = (void *)strtoul(r + 3, NULL, 16);
	return r[2] ? r + 3 : r + 2;
}

long reply_num(const char *reply, int index)
{
	const char *p = reply;
	char *end;
	long v = -1;

	for (int i = 0; i <= index; i++) {
		while (*p == ' ')
			p++;
		v = strtol(p, &end, 0);
		if (end == p)
			return -1;
		p = end;
	}
	return v;
}

void agent_stop(struct agent *a)
{
	int st;

	if (a->pid <= 0)
		return;
	(void)agent_try(a, "exit");
	close(a->to);
	close(a->from);
	st = wait_status(a->pid);
	agent_untrack(a->pid);
	CHECKF(st == 0, "agent %s (pid %d) exit status %d", a->name, (int)a->pid, st);
	a->pid = 0;
}

int agent_wait(struct agent *a)
{
	int st;

	CHECK(a->pid > 0);
	close(a->to);
	close(a->from);
	st = wait_status(a->pid);
	agent_untrack(a->pid);
	a->pid = 0;
	return st;
}

int agent_kill(struct agent *a)
{
	int st;

	CHECK(a->pid > 0);
	CHECK(kill(a->pid, SIGKILL) == 0);
	close(a->to);
	close(a->from);
	st = wait_status(a->pid);
	agent_untrack(a->pid);
	a->pid = 0;
	return st;
}

/* ---- agent side ---- */

struct agent_state {
	int fd;
	char *w;
	size_t size;
	bool lib;
};

static void touch_all(struct agent_state *s, bool write)
{
	size_t ps = (size_t)page_size();
	volatile char *w = s->w;
	unsigned long sum = 0;

	for (size_t o = 0; o < s->size; o += ps) {
		if (write)
			w[o] = w[o];
		else
			sum += (unsigned char)w[o];
	}
	(void)sum;
}

/* Pages of the window that /proc/self/pagemap says are not present. */
static long window_not_present(struct agent_state *s)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long ps = page_size(), n = 0;

	if (fd < 0)
		return -1;
	for (size_t o = 0; o < s->size; o += (size_t)ps) {
		uint64_t e = 0;
		off_t at = (off_t)(((uintptr_t)s->w + o) / (size_t)ps * sizeof(e));

		if (pread(fd, &e, sizeof(e), at) != sizeof(e) || !(e >> 63))
			n++;
	}
	close(fd);
	return n;
}

static int parse_prot(const char *p)
{
	if (!strcmp(p, "r"))
		return PROT_READ;
	if (!strcmp(p, "rw"))
		return PROT_READ | PROT_WRITE;
	if (!strcmp(p, "rx"))
		return PROT_READ | PROT_EXEC;
	if (!strcmp(p, "rwx"))
		return PROT_READ | PROT_WRITE | PROT_EXEC;
	return -1;
}

static void handle(struct agent_state *s, char *line, char *out, size_t olen,
		   int outfd)
{
	char *argv[8] = { 0 };
	int argc = 0;
	long f0, v0;

	for (char *t = strtok(line, " "); t && argc < 8; t = strtok(NULL, " "))
		argv[argc++] = t;
	if (!argc) {
		snprintf(out, olen, "err empty command");
		return;
	}
#define ARGS(n) do { if (argc < (n)) { snprintf(out, olen, "err %s: missing arguments", argv[0]); return; } } while (0)
#define NEED_WINDOW() do { if (!s->w) { snprintf(out, olen, "err %s: not attached", argv[0]); return; } } while (0)
	if (!strcmp(argv[0], "open") || !strcmp(argv[0], "lopen")) {
		int fl;

		ARGS(3);
		fl = !strcmp(argv[2], "ro") ? O_RDONLY : O_RDWR;
		if (argv[0][0] == 'l')
			s->fd = mcreate(argv[1], fl, 0);
		else
			s->fd = open(mpath(argv[1]), fl | O_CLOEXEC);
		if (s->fd < 0)
			snprintf(out, olen, "err open %s: %s", argv[1], live_errname(errno));
		else
			snprintf(out, olen, "ok %d", s->fd);
	} else if (!strcmp(argv[0], "attach")) {
		struct stat st;
		int prot;

		ARGS(2);
		prot = parse_prot(argv[1]);
		if (prot < 0 || s->w || fstat(s->fd, &st)) {
			snprintf(out, olen, "err attach: bad prot, attached, or no fd");
			return;
		}
		s->size = (size_t)st.st_size;
		s->lib = argc > 2 && !strcmp(argv[2], "lib");
		if (s->lib)
			s->w = mattach(s->fd, NULL, prot, 0);
		else
			s->w = mmap(NULL, s->size, prot, MAP_SHARED, s->fd, 0);
		if (s->w == MAP_FAILED) {
			s->w = NULL;
			snprintf(out, olen, "err attach: %s", live_errname(errno));
		} else {
			snprintf(out, olen, "ok %lx %zu", (unsigned long)s->w, s->size);
		}
	} else if (!strcmp(argv[0], "adopt")) {
		ARGS(3);
		s->w = (char *)strtoul(argv[1], NULL, 16);
		s->size = strtoul(argv[2], NULL, 0);
		s->lib = false;
		snprintf(out, olen, "ok %lx %zu", (unsigned long)s->w, s->size);
	} else if (!strcmp(argv[0], "forkcheck")) {
		int pfd[2], st;
		long res[4] = { -1, -1, -1, -1 };
		pid_t pid;

		ARGS(3);
		NEED_WINDOW();
		if (pipe(pfd)) {
			snprintf(out, olen, "err pipe");
			return;
		}
		pid = fork();
		if (pid == 0) {
			/*
			 * The grandchild: touch, verify, write.  Replies
			 * faults touching, VmPTE growth, faults of a second
			 * verify (window faults only: the first one breaks
			 * copy-on-write of whatever of its own the
			 * sequence writes), and window pages not present
			 * in pagemap after it (a link taken out).
			 */
			uint64_t seed = strtoull(argv[1], NULL, 0);
			long r[4];

			r[0] = fault_count();
			r[0] = fault_count();
			(void)verify_pattern(s->w, 0, 0);
			r[1] = status_kib(0, "VmPTE");
			r[0] = fault_count();
			touch_all(s, false);
			r[0] = fault_count() - r[0];
			r[1] = status_kib(0, "VmPTE") - r[1];
			for (int pass = 0; pass < 2; pass++) {
				r[2] = fault_count();
				r[3] = verify_pattern(s->w, s->size, seed);
				r[2] = fault_count() - r[2];
				if (r[3] != -1)
					break;
			}
			if (r[3] == -1)
				r[3] = -1 - window_not_present(s);
			fill_pattern(s->w, s->size, strtoull(argv[2], NULL, 0));
			_exit(write(pfd[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
		close(pfd[1]);
		if (pid < 0 || read(pfd[0], res, sizeof(res)) != sizeof(res) ||
		    waitpid(pid, &st, 0) != pid) {
			snprintf(out, olen, "err grandchild failed");
		} else if (res[3] >= 0) {
			snprintf(out, olen, "err grandchild: mismatch at %ld", res[3]);
		} else {
			snprintf(out, olen, "ok %ld %ld %ld %d %ld", res[0], res[1], res[2],
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
				 -1 - res[3]);
		}
		close(pfd[0]);
	} else if (!strcmp(argv[0], "detach")) {
		NEED_WINDOW();
		if (s->lib ? mdetach(s->w) : munmap(s->w, s->size))
			snprintf(out, olen, "err detach: %s", live_errname(errno));
		else
			snprintf(out, olen, "ok");
		s->w = NULL;
	} else if (!strcmp(argv[0], "close")) {
		close(s->fd);
		s->fd = -1;
		snprintf(out, olen, "ok");
	} else if (!strcmp(argv[0], "touch")) {
		long f1, v1;

		ARGS(2);
		NEED_WINDOW();
		v0 = status_kib(0, "VmPTE");
		f0 = fault_count();
		touch_all(s, argv[1][0] == 'w');
		f1 = fault_count();
		v1 = status_kib(0, "VmPTE");
		snprintf(out, olen, "ok %ld %ld", f1 - f0, v1 - v0);
	} else if (!strcmp(argv[0], "verify") || !strcmp(argv[0], "fill")) {
		uint64_t seed;
		long off = -1;

		ARGS(2);
		NEED_WINDOW();
		seed = strtoull(argv[1], NULL, 0);
		f0 = fault_count();
		if (argv[0][0] == 'v')
			off = verify_pattern(s->w, s->size, seed);
		else
			fill_pattern(s->w, s->size, seed);
		f0 = fault_count() - f0;
		if (off != -1)
			snprintf(out, olen, "err pattern %llu: mismatch at offset %ld (%#llx)",
				 (unsigned long long)seed, off,
				 (unsigned long long)*(uint64_t *)(s->w + off));
		else
			snprintf(out, olen, "ok %ld", f0);
	} else if (!strcmp(argv[0], "vpartial")) {
		const uint64_t *wd;
		uint64_t seed;
		long set = 0;

		ARGS(2);
		NEED_WINDOW();
		seed = strtoull(argv[1], NULL, 0);
		wd = (const uint64_t *)s->w;
		f0 = fault_count();
		for (size_t i = 0; i < s->size / 8; i++) {
			if (!wd[i])
				continue;
			if (wd[i] != pattern_word(seed, i)) {
				snprintf(out, olen, "err word at offset %zu is %#llx: neither 0 nor pattern %llu",
					 i * 8, (unsigned long long)wd[i],
					 (unsigned long long)seed);
				return;
			}
			set++;
		}
		snprintf(out, olen, "ok %ld %ld", fault_count() - f0, set);
	} else if (!strcmp(argv[0], "probe")) {
		size_t off;
		int sig;

		ARGS(3);
		NEED_WINDOW();
		off = strtoul(argv[2], NULL, 0);
		if (argv[1][0] == 'w')
			sig = probe_write(s->w + off, (unsigned char)s->w[off]);
		else
			sig = probe_read(s->w + off);
		snprintf(out, olen, "ok %d", sig);
	} else if (!strcmp(argv[0], "exec")) {
		ARGS(2);
		dprintf(outfd, "ok\n");
		execl(argv[1], argv[1], (char *)NULL);
		_exit(127);
	} else if (!strcmp(argv[0], "forkexec")) {
		pid_t pid;
		int st;

		ARGS(2);
		NEED_WINDOW();
		pid = fork();
		if (pid == 0) {
			touch_all(s, false);
			execl(argv[1], argv[1], (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			snprintf(out, olen, "err fork/wait: %s", live_errname(errno));
		else
			snprintf(out, olen, "ok %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	} else if (!strcmp(argv[0], "spin")) {
		NEED_WINDOW();
		dprintf(outfd, "ok\n");
		for (;;)
			touch_all(s, false);
	} else if (!strcmp(argv[0], "exit")) {
		dprintf(outfd, "ok\n");
		_exit(0);
	} else {
		snprintf(out, olen, "err unknown command %s", argv[0]);
	}
#undef ARGS
#undef NEED_WINDOW
}

int agent_serve(int in, int out)
{
	struct agent_state s = { .fd = -1 };
	char line[512], reply[512];

	live_name = "agent";
	for (;;) {
		if (read_line(in, line, sizeof(line), -1) < 0)
			return 0;
		reply[0] = 0;
		handle(&s, line, reply, sizeof(reply), out);
		strcat(reply, "\n");
		if (write(out, reply, strlen(reply)) != (ssize_t)strlen(reply))
			return 1;
	}
}

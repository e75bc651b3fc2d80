// SPDX-License-Identifier: LGPL-2.1-or-later
/* Helpers shared by the live tests; see common.h. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/msharefs.h>

unsigned long live_checks;
const char *live_name = "live";

static pid_t main_pid;
static long baseline_used = -1;
static bool failed;
static void (*exit_fns[8])(void);
static int n_exit_fns;

const char *live_errname(int err)
{
	static __thread char buf[64];
	const char *n = strerrorname_np(err);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

void live_fail(const char *file, int line, const char *what, int err,
	       const char *fmt, ...)
{
	char msg[512] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "%s[%d]: FAIL %s:%d: %s%s%s (errno %d %s)\n",
		live_name, (int)getpid(), file, line, what,
		fmt ? ": " : "", msg, err, live_errname(err));
	failed = true;
	exit(1);
}

/* Remove everything under dir except the root's mshare_info. */
static void remove_tree(const char *dir, bool root)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (root && !strcmp(de->d_name, "mshare_info"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			remove_tree(p, false);
			rmdir(p);
		} else {
			unlink(p);
		}
	}
	closedir(d);
}

static void live_exit_handler(void)
{
	if (getpid() != main_pid)
		return;
	for (int i = n_exit_fns - 1; i >= 0; i--)
		exit_fns[i]();
	if (failed)
		remove_tree(MNT, true);
}

void live_atexit(void (*fn)(void))
{
	if (n_exit_fns < (int)(sizeof(exit_fns) / sizeof(exit_fns[0])))
		exit_fns[n_exit_fns++] = fn;
}

void live_init(const char *name)
{
	struct statfs sf;

	live_name = name;
	main_pid = getpid();
	setvbuf(stdout, NULL, _IONBF, 0);
	atexit(live_exit_handler);
	/*
	 * Watchdog: a hung test dies of SIGALRM 20 s before the harness
	 * kills it (MSHARE_TIMEOUT_S, its time limit for this test: 120 s
	 * unless a slow kernel or a busy host made it longer).
	 */
	{
		const char *e = getenv("MSHARE_TIMEOUT_S");
		long limit = e ? strtol(e, NULL, 10) : 0;

		alarm(limit > 40 ? (unsigned int)(limit - 20) : 100);
	}
	CHECKF(geteuid() == 0, "live tests run as root");
	CHECKF(statfs(MNT, &sf) == 0, "statfs %s", MNT);
	CHECKF(sf.f_type == 0x4d534852, "%s is not msharefs (f_type %#lx)",
	       MNT, (unsigned long)sf.f_type);
	baseline_used = used_pages(MNT);
}

void live_done(void)
{
	DIR *d = opendir(MNT);
	struct dirent *de;
	long used;

	CHECK(d != NULL);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "mshare_info"))
			continue;
		CHECKF(0, "test left %s/%s behind", MNT, de->d_name);
	}
	closedir(d);
	used = wait_used_pages(MNT, baseline_used);
	CHECKF(used == baseline_used,
	       "mount holds %ld pages at the end, %ld at the start",
	       used, baseline_used);
	fprintf(stderr, "%s: PASS (%lu checks)\n", live_name, live_checks);
	exit(0);
}

long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

long used_pages(const char *mnt)
{
	struct statfs sf;

	CHECKF(statfs(mnt, &sf) == 0, "statfs %s", mnt);
	return (long)(sf.f_blocks - sf.f_bfree);
}

long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static long env_long(const char *name, long lo, long hi, long dflt)
{
	const char *e = getenv(name);
	char *end;
	long v;

	if (!e)
		return dflt;
	v = strtol(e, &end, 10);
	return end != e && !*end && v >= lo && v <= hi ? v : dflt;
}

int live_slowdown(void)
{
	return (int)env_long("MSHARE_SLOWDOWN", 1, 100, 1);
}

double live_speed(void)
{
	return (double)env_long("MSHARE_SPEED", 100, 10000, 100) / 100.0;
}

long wait_ms(long ms)
{
	return (long)((double)ms * live_slowdown() * live_speed());
}

long wait_used_pages(const char *mnt, long want)
{
	long end = now_ms() + wait_ms(2000), v;

	while ((v = used_pages(mnt)) != want && now_ms() < end)
		usleep(10000);
	return v;
}

/* ---- fault probes ---- */

static __thread sigjmp_buf probe_env;
static __thread volatile int probe_armed;

static void probe_handler(int sig)
{
	if (probe_armed)
		siglongjmp(probe_env, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int probe(volatile void *addr, bool write, unsigned char val)
{
	struct sigaction sa = { .sa_handler = probe_handler }, osegv, obus;
	int sig;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &osegv);
	sigaction(SIGBUS, &sa, &obus);
	sig = sigsetjmp(probe_env, 1);
	if (sig == 0) {
		probe_armed = 1;
		if (write)
			*(volatile unsigned char *)addr = val;
		else
			(void)*(volatile unsigned char *)addr;
	}
	probe_armed = 0;
	sigaction(SIGSEGV, &osegv, NULL);
	sigaction(SIGBUS, &obus, NULL);
	return sig;
}

int probe_read(const volatile void *addr)
{
	return probe((volatile void *)(uintptr_t)addr, false, 0);
}

int probe_write(volatile void *addr, unsigned char val)
{
	return probe(addr, true, val);
}

/* ---- patterns ---- */

static inline uint64_t pat(uint64_t seed, size_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (i * 0xbf58476d1ce4e5b9ULL);

	return x ^ (x >> 29);
}

void fill_pattern(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = pat(seed, i);
}

long verify_pattern(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != pat(seed, i))
			return (long)(i * 8);
	return -1;
}

long verify_pattern_part(const void *base, size_t off, size_t len, uint64_t seed)
{
	const uint64_t *w = base;

	for (size_t i = off / 8; i < (off + len) / 8; i++)
		if (w[i] != pat(seed, i))
			return (long)(i * 8);
	return -1;
}

long verify_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return (long)(i * 8);
	return -1;
}

void touch_pages(void *p, size_t len, unsigned char val)
{
	size_t ps = (size_t)page_size();

	for (size_t o = 0; o < len; o += ps)
		((volatile unsigned char *)p)[o] = val;
}

/* ---- regions through raw syscalls ---- */

const char *mpath(const char *name)
{
	static __thread char buf[4][PATH_MAX];
	static __thread int n;
	char *b = buf[n++ & 3];

	snprintf(b, PATH_MAX, "%s/%s", MNT, name);
	return b;
}

int raw_create(const char *name, size_t size)
{
	int fd = open(mpath(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	CHECKF(fd >= 0, "create %s", mpath(name));
	if (size)
		CHECKF(ftruncate(fd, (off_t)size) == 0, "ftruncate %s %zu",
		       name, size);
	return fd;
}

void *raw_attach(int fd, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	CHECKF(p != MAP_FAILED, "mmap fd %d size %zu", fd, size);
	return p;
}

void *attach_by_name(const char *name, size_t size, int prot)
{
	int rfd = open(mpath(name), (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
	void *p;

	if (rfd < 0)
		return NULL;
	p = mmap(NULL, size, prot, MAP_SHARED, rfd, 0);
	close(rfd);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- processes ---- */

pid_t spawn(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

pid_t spawn_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
			perror("spawn_as: drop privileges");
			_exit(99);
		}
		_exit(fn(arg));
	}
	return pid;
}

pid_t spawn_as_groups(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
		      int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups((size_t)ngroups, groups) || setgid(gid) ||
		    setuid(uid)) {
			perror("spawn_as_groups: drop privileges");
			_exit(99);
		}
		_exit(fn(arg));
	}
	return pid;
}

int wait_status(pid_t pid)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int run_child(int (*fn)(void *), void *arg)
{
	return wait_status(spawn(fn, arg));
}

int run_child_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	return wait_status(spawn_as(uid, gid, fn, arg));
}

int run_child_as_groups(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
			int (*fn)(void *), void *arg)
{
	return wait_status(spawn_as_groups(uid, gid, ngroups, groups, fn, arg));
}

const char *bindir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MSHARE_TEST_BINDIR");
	ssize_t n;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	CHECK(n > 0);
	dir[n] = 0;
	*strrchr(dir, '/') = 0;
	return dir;
}

const char *sibling(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", bindir(), name);
	if (access(p, X_OK) == 0)
		return p;
	/* build tree: examples/ and tests/live/ are siblings */
	snprintf(p, sizeof(p), "%s/../../examples/%s", bindir(), name);
	if (access(p, X_OK) == 0)
		return p;
	snprintf(p, sizeof(p), "%s/../tests/live/%s", bindir(), name);
	if (access(p, X_OK) == 0)
		return p;
	return NULL;
}

pid_t start_prog(char *const argv[], int *outfd)
{
	char path[PATH_MAX];
	int pfd[2];
	pid_t pid;

	if (strchr(argv[0], '/')) {
		snprintf(path, sizeof(path), "%s", argv[0]);
	} else {
		const char *s = sibling(argv[0]);

		CHECKF(s != NULL, "binary %s not found next to %s", argv[0],
		       bindir());
		snprintf(path, sizeof(path), "%s", s);
	}
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(path, argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (outfd)
		*outfd = pfd[0];
	else
		close(pfd[0]);
	return pid;
}

void read_all(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	char sink[256];

	for (;;) {
		ssize_t r;

		if (out && n + 1 < outlen)
			r = read(fd, out + n, outlen - 1 - n);
		else
			r = read(fd, sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out && n + 1 < outlen)
			n += (size_t)r;
	}
	if (out && outlen)
		out[n] = 0;
	close(fd);
}

int run_prog(char *const argv[], char *out, size_t outlen)
{
	int fd, st;
	pid_t pid = start_prog(argv, &fd);

	read_all(fd, out, outlen);
	st = wait_status(pid);
	if (out)
		fprintf(stderr, "  $ %s ... -> %d\n%s", argv[0], st, out);
	return st;
}

/* ---- address space ---- */

void *reserve_aligned_or_null(size_t len)
{
	size_t total = len + GRANULE;
	char *p = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + GRANULE - 1) & ~(uintptr_t)(GRANULE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + total)
		munmap(a + len, (size_t)(p + total - (a + len)));
	return a;
}

void *reserve_aligned(size_t len)
{
	void *a = reserve_aligned_or_null(len);

	CHECK(a != NULL);
	return a;
}

static int maps_scan(const void *start, size_t len, bool exact)
{
	uintptr_t s = (uintptr_t)start, e = s + len;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int hit = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (exact ? (a == s && b == e) : (a < e && b > s))
			hit = 1;
	}
	fclose(f);
	return hit;
}

bool maps_has(const void *start, size_t len)
{
	return maps_scan(start, len, true);
}

bool maps_overlaps(const void *start, size_t len)
{
	return maps_scan(start, len, false);
}

/* ---- shared page tables: observables ---- */

long fault_count(void)
{
	struct rusage ru;

	CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	return ru.ru_minflt + ru.ru_majflt;
}

/* "KEY:   N kB" anywhere in text; -1 if absent. */
static long kib_field(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtol(p + kl + 1, NULL, 10);
	}
	return -1;
}

static bool slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return false;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return true;
}

long status_kib(pid_t pid, const char *key)
{
	char path[64], buf[8192];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	if (!slurp(path, buf, sizeof(buf)))
		return -1;
	return kib_field(buf, key);
}

long smaps_kib(const void *start, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[256];
	unsigned long s, e;
	bool in = false;
	long v = -1;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		const char *sp = strchr(line, ' ');

		/* "start-end perms ..." heads a mapping; "Key:   N kB" follow it. */
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && sp && sp[-1] != ':')
			in = s == (unsigned long)start;
		else if (in && !strncmp(line, key, strlen(key)) &&
			 line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	}
	fclose(f);
	return v;
}

bool shmem_thp_works(void)
{
	static int known = -1;
	char dir[] = "/tmp/thp-probe-XXXXXX", path[64];
	bool works = false;
	char *p;
	int fd;

	if (known >= 0)
		return known;
	CHECK(mkdtemp(dir) != NULL);
	if (mount("tmpfs", dir, "tmpfs", 0, "huge=always") == 0) {
		snprintf(path, sizeof(path), "%s/f", dir);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		CHECK(fd >= 0 && ftruncate(fd, 4L << 20) == 0);
		/* A 2 MiB aligned view: reserve 4 MiB, map 2 MiB at its boundary. */
		p = mmap(NULL, 4L << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		p = (char *)(((uintptr_t)p + (2L << 20) - 1) & ~((2UL << 20) - 1));
		CHECK(mmap(p, 2L << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == p);
		p[0] = 1;
		works = smaps_kib(p, "ShmemPmdMapped") == 2048;
		close(fd);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
	known = works;
	return works;
}

long vmstat_num(const char *key)
{
	const char *t = proc_read("/proc/vmstat");
	size_t kl = strlen(key);

	for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return atol(p + kl + 1);
	return -1;
}

long meminfo_kib(const char *key)
{
	long v, prev = -1, end = now_ms() + (long)(2000 * live_speed());
	int same = 0;
	char buf[8192];

	/*
	 * Page tables are freed after an RCU grace period on newer kernels
	 * (7.x also takes them off PageTables only then, in an RCU callback,
	 * which may run after the next grace period has begun), and per-CPU
	 * vmstat deltas (up to ~100 KiB each) blur the counters: wait for a
	 * grace period (membarrier) and fold the per-CPU deltas (stat_refresh)
	 * until three readings in a row (two grace periods) agree.
	 */
	for (;;) {
		syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0);
		proc_write("/proc/sys/vm/stat_refresh", "1");
		CHECK(slurp("/proc/meminfo", buf, sizeof(buf)));
		v = kib_field(buf, key);
		CHECKF(v >= 0, "no %s in /proc/meminfo", key);
		same = v == prev ? same + 1 : 0;
		if (same == 2 || now_ms() > end)
			return v;
		prev = v;
	}
}

/* rd(key) once it has not changed for 0.5 s (at most 3 s). */
static long read_quiet(long (*rd)(const char *), const char *key)
{
	long v = rd(key), since = now_ms(), end = since + (long)(3000 * live_speed()), n;

	while (now_ms() < end) {
		usleep(50000);
		n = rd(key);
		if (n != v) {
			v = n;
			since = now_ms();
		} else if (now_ms() - since >= 500) {
			break;
		}
	}
	return v;
}

long meminfo_quiet_kib(const char *key)
{
	return read_quiet(meminfo_kib, key);
}

void klog_mark(const char *fmt, ...)
{
	char msg[300];
	int fd, n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "<5>%s[%d]: ", live_name, (int)getpid());
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = write(fd, msg, strlen(msg));

		(void)r;	/* only a marker */
		close(fd);
	}
}

int cpus_online(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

void cpu_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECKF(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to CPU %d", cpu);
}

const char *proc_read(const char *path)
{
	static __thread char buf[4096];
	size_t n;

	if (!slurp(path, buf, sizeof(buf)))
		return NULL;
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return buf;
}

int proc_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;
	int e;

	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return r == (ssize_t)strlen(text) ? 0 : -1;
}

uint64_t pattern_word(uint64_t seed, size_t i)
{
	return pat(seed, i);
}

/* ---- the module's pool of spare page tables (module/pt_pool.c) ---- */

long tables_pooled(void)
{
	struct msharefs_fs_stat st;
	int d = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	CHECK(d >= 0);
	memset(&st, 0, sizeof(st));
	CHECK(ioctl(d, MSHAREFS_GET_FS_STAT, &st) == 0);
	close(d);
	return (long)st.pt_pooled;
}

long pool_drain_here(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), MNT "/.pool-drain.%d", (int)getpid());
	fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, GRANULE) == 0);
	CHECK(unlink(name) == 0);
	CHECK(close(fd) == 0);
	return tables_pooled();
}

long pt_unpooled_kib(void)
{
	long kib_per_table = page_size() / 1024;

	for (;;) {
		long pooled = tables_pooled();
		long pt = meminfo_kib("PageTables");

		if (tables_pooled() == pooled)
			return pt - pooled * kib_per_table;
	}
}

static long pt_unpooled_any(const char *unused)
{
	(void)unused;
	return pt_unpooled_kib();
}

long pt_unpooled_quiet_kib(void)
{
	return read_quiet(pt_unpooled_any, NULL);
}

/* ---- a second msharefs instance ---- */

char m2[64];
bool m2_mounted;

static void mount2_cleanup(void)
{
	if (m2_mounted)
		umount2(m2, MNT_DETACH);
	if (m2[0])
		rmdir(m2);
}

void mount2_dir(void)
{
	snprintf(m2, sizeof(m2), "/tmp/%s-m2-XXXXXX", live_name);
	CHECK(mkdtemp(m2) != NULL);
	live_atexit(mount2_cleanup);
}

const char *p2(const char *name)
{
	static char buf[4][128];
	static int n;
	char *b = buf[n++ & 3];

	snprintf(b, 128, "%s/%s", m2, name);
	return b;
}

void live_run_parts(const char *test, const struct live_part *parts, size_t n,
		    int argc, char **argv)
{
	for (size_t i = 0; i < n; i++) {
		bool run = argc < 2;

		for (int a = 1; a < argc; a++)
			run |= !strcmp(argv[a], parts[i].name);
		if (!run)
			continue;
		fprintf(stderr, "%s: %s\n", test, parts[i].name);
		parts[i].fn();
	}
}

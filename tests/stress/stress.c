// SPDX-License-Identifier: LGPL-2.1-or-later
/* Helpers shared by the stress tests; see stress.h. */
#include "stress.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECKF(p != MAP_FAILED, "shared_alloc %zu", len);
	return p;
}

void shared_free(void *p, size_t len)
{
	munmap(p, len);
}

int sfail_local;

void sfail(struct stress_ctl *ctl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sfail_local++;
	atomic_fetch_add(&ctl->failures, 1);
	if (atomic_fetch_add(&ctl->printed, 1) < 20)
		fprintf(stderr, "%s[%d]: FAIL: %s\n", live_name, (int)getpid(), msg);
	atomic_store(&ctl->abort, 1);
}

bool past_deadline(const struct stress_ctl *ctl)
{
	return ctl->deadline && now_ms() > ctl->deadline;
}

bool stopping(struct stress_ctl *ctl)
{
	return atomic_load_explicit(&ctl->abort, memory_order_relaxed) ||
	       past_deadline(ctl);
}

/* ---- barrier ---- */

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

void sbar_init(struct sbar *b, unsigned int n)
{
	atomic_store(&b->count, 0);
	atomic_store(&b->gen, 0);
	b->n = n;
}

int sbar_wait(struct sbar *b, struct stress_ctl *ctl)
{
	uint32_t gen = atomic_load(&b->gen);

	if (atomic_fetch_add(&b->count, 1) + 1 == b->n) {
		atomic_store(&b->count, 0);
		atomic_fetch_add(&b->gen, 1);
		futex(&b->gen, FUTEX_WAKE, INT32_MAX, NULL);
		return stopping(ctl) ? -1 : 0;
	}
	while (atomic_load(&b->gen) == gen) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (stopping(ctl))
			return -1;
		futex(&b->gen, FUTEX_WAIT, gen, &ts);
	}
	return 0;
}

/* ---- misc ---- */

uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint64_t rng_seed(uint64_t unique)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = mix64(unique, (uint64_t)ts.tv_nsec, (uint64_t)getpid(), 0x5eed);
	return s ? s : 1;
}

uint64_t mix64(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL;

	x ^= b + 0x632be59bd9b4e019ULL + (x << 6) + (x >> 2);
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= c + 0x94d049bb133111ebULL + (x << 6) + (x >> 2);
	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= d + 0x2545F4914F6CDD1DULL + (x << 6) + (x >> 2);
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return x;
}

void child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

int stress_slowdown(void)
{
	return live_slowdown();
}

long stress_budget(long ms)
{
	return (long)((double)ms * live_speed());
}

int stress_scaled(int n)
{
	int v = n / stress_slowdown();

	return v > 0 ? v : 1;
}

void pin_cpu(int i)
{
	cpu_set_t set;
	int n = ncpus();

	if (n < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(i % n, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

pid_t wait_any_until(pid_t pid, int *status, long deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, deadline ? WNOHANG : 0);

		if (r != 0)
			return r;
		if (now_ms() > deadline)
			return 0;
		usleep(5000);
	}
}

/* ---- accounting ---- */

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0) {
		/* stat_refresh returns EINVAL when a counter is negative: fine */
	}
	close(fd);
}

static long meminfo_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void read_meminfo(long *pt, long *mf, long *slab, char *all, size_t alllen)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK(n > 0);
	buf[n] = 0;
	if (pt)
		*pt = meminfo_kb(buf, "\nPageTables:");
	if (mf)
		*mf = meminfo_kb(buf, "\nMemFree:");
	if (slab)
		*slab = meminfo_kb(buf, "\nSlab:");
	if (all)
		snprintf(all, alllen, "%s", buf);
}

/* Free pages held on the per-cpu lists (/proc/zoneinfo "count:"), in kB. */
static long pcp_free_kb(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256];
	long sum = 0, v;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &v) == 1)
			sum += v;
	fclose(f);
	return sum * (page_size() / 1024);
}

long pagetables_kb(void)
{
	long pt;

	write_file("/proc/sys/vm/stat_refresh", "1");
	read_meminfo(&pt, NULL, NULL, NULL, 0);
	return pt;
}

long pagetables_settled_kb(void)
{
	long v, prev = -1, end = now_ms() + wait_ms(3000);
	int same = 0;

	for (;;) {
		syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0);
		v = pagetables_kb();
		same = v == prev ? same + 1 : 0;
		if (same == 2 || now_ms() > end)
			return v;
		prev = v;
		usleep(50000);
	}
}

void acct_read(struct acct *a)
{
	/* Tables pooled by regions that died at exit count as in use. */
	pool_drain_here();
	write_file("/proc/sys/vm/drop_caches", "3");
	write_file("/proc/sys/vm/stat_refresh", "1");
	read_meminfo(&a->pagetables_kb, &a->memfree_kb, &a->slab_kb,
		     a->meminfo, sizeof(a->meminfo));
	a->mlocked_kb = meminfo_kb(a->meminfo, "\nMlocked:");
	a->pcp_kb = pcp_free_kb();
	a->free_kb = a->memfree_kb + a->pcp_kb;
	a->used_pages = used_pages(MNT);
}

/* The /proc/meminfo fields that changed by more than 1 MiB, on stderr. */
static void meminfo_diff(const char *before, const char *after)
{
	const char *p = after;

	fprintf(stderr, "  /proc/meminfo changes over 1 MiB:");
	while (p && *p) {
		char key[64];
		long v;
		int n;

		if (sscanf(p, "%63[^:]: %ld%n", key, &v, &n) == 2) {
			char k2[80];
			long b;

			snprintf(k2, sizeof(k2), "%s%s:", p == after ? "" : "\n", key);
			b = p == after ? strtol(before + strlen(key) + 1, NULL, 10)
				       : meminfo_kb(before, k2);
			if (labs(v - b) > 1024)
				fprintf(stderr, " %s %+ld", key, v - b);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fprintf(stderr, "\n");
}

/*
 * PageTables may end below the baseline (tables of an earlier test, or of
 * exited processes whose mm was still being torn down, freed meanwhile),
 * but not by much, and not above it by more than the tolerance.
 */
#define PT_DROP_KB 1024L

static bool pt_ok(long delta_kb, long tol_kb)
{
	return delta_kb <= tol_kb && delta_kb >= -PT_DROP_KB;
}

int acct_check(const char *label, const struct acct *base, long pt_tol_kb,
	       long free_tol_kb, struct acct *out)
{
	long t0 = now_ms(), end = t0 + 5000;
	struct acct a;
	int fails = 0;

	for (;;) {
		acct_read(&a);
		if (pt_ok(a.pagetables_kb - base->pagetables_kb, pt_tol_kb) &&
		    a.used_pages == base->used_pages && a.mlocked_kb <= base->mlocked_kb &&
		    base->free_kb - a.free_kb <= free_tol_kb)
			break;
		if (now_ms() > end)
			break;
		usleep(50000);
	}
	fprintf(stderr, "%s: accounting: PageTables %ld -> %ld kB (%+ld, tolerance +%ld), "
	        "Mlocked %ld -> %ld kB, mount used pages %ld -> %ld, MemFree+per-cpu lists %ld -> %ld kB (%+ld, tolerance -%ld; MemFree %+ld, per-cpu %+ld), Slab %+ld kB; read after %ld ms\n",
	        label, base->pagetables_kb, a.pagetables_kb,
	        a.pagetables_kb - base->pagetables_kb, pt_tol_kb,
	        base->mlocked_kb, a.mlocked_kb, base->used_pages, a.used_pages,
	        base->free_kb, a.free_kb,
	        a.free_kb - base->free_kb, free_tol_kb, a.memfree_kb - base->memfree_kb,
	        a.pcp_kb - base->pcp_kb,
	        a.slab_kb - base->slab_kb, now_ms() - t0);
	if (!pt_ok(a.pagetables_kb - base->pagetables_kb, pt_tol_kb)) {
		fprintf(stderr, "%s: FAIL: %s: PageTables %ld kB, baseline %ld kB: want %+ld..%+ld kB\n",
			live_name, label, a.pagetables_kb, base->pagetables_kb,
			-PT_DROP_KB, pt_tol_kb);
		fails++;
	}
	if (a.mlocked_kb > base->mlocked_kb) {
		fprintf(stderr, "%s: FAIL: %s: Mlocked %ld kB, baseline %ld kB\n",
			live_name, label, a.mlocked_kb, base->mlocked_kb);
		fails++;
	}
	if (a.used_pages != base->used_pages) {
		fprintf(stderr, "%s: FAIL: %s: mount holds %ld pages, baseline %ld\n",
			live_name, label, a.used_pages, base->used_pages);
		fails++;
	}
	if (base->free_kb - a.free_kb > free_tol_kb) {
		fprintf(stderr, "%s: FAIL: %s: MemFree + per-cpu free pages %ld kB, baseline %ld kB: lost more than %ld kB\n",
			live_name, label, a.free_kb, base->free_kb, free_tol_kb);
		meminfo_diff(base->meminfo, a.meminfo);
		fails++;
	}
	if (out)
		*out = a;
	return fails;
}

void summary(const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	fflush(stdout);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		char k[800];
		int n = snprintf(k, sizeof(k), "<5>mshare-stress: %s\n", line);

		if (write(fd, k, (size_t)n) < 0) {
			/* the summary is on stdout anyway */
		}
		close(fd);
	}
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-tlb: TLB coherence of shared tables.
 *
 * Same process: a thread pinned to CPU 1 spins reading (or writing) the
 * window through a linked table while the main thread on CPU 0 munmaps
 * (or mdetaches) it.  Once munmap returns, no access may succeed: the
 * spinner must take SIGSEGV within 2 s, after at most the one access that
 * was in flight; for the writer, no value written after munmap returned
 * may be in the region.  The window has neighbours on both sides, so the
 * core frees no page table and flushes nothing here (it finds the PMD
 * entries already cleared): this is the module's flush on every CPU.
 *
 * Same process, no detach: the spinner keeps reading correct data while
 * the main thread unlinks its tables again and again (MADV_DONTNEED); and
 * faults in a window complete while another thread invalidates unrelated
 * memory back to back (faults retry while any invalidation is running).
 *
 * Across processes: process A spins on CPU 1 on its own window (reading a
 * constant pattern, bumping a counter in the region) while process B on
 * CPU 0 attaches, links every table, checks A's counter moves, then
 * munmaps / exits / is killed, 30 times: A keeps going, takes no fault at
 * all and never reads a wrong byte.
 */
#include "agent.h"

#include <fcntl.h>
#include <libmshare.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(8 * MIB)
/*
 * The spinner cycles through one page per chunk, on consecutive page
 * numbers: few TLB entries, all different sets (TCG's TLB is direct
 * mapped; pages that evict each other would be re-walked and fault
 * anyway, hiding a missing flush).
 */
#define NSLOT		4
#define STRIDE		GRANULE
#define RW		(PROT_READ | PROT_WRITE)

struct spin {
	char *w;
	bool write;
	uint64_t seed;			/* reader: slots hold pattern words */
	_Atomic long count;		/* accesses that succeeded */
	_Atomic long at_fault;		/* count when the fault came */
	_Atomic int faulted;		/* signal number */
	_Atomic uintptr_t fault_addr;
	_Atomic long mismatches;
	_Atomic int stop;
};

static struct spin *cur;
static __thread sigjmp_buf spin_env;
static __thread int in_spinner;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!in_spinner) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	atomic_store(&cur->at_fault, atomic_load(&cur->count));
	atomic_store(&cur->fault_addr, (uintptr_t)si->si_addr);
	atomic_store(&cur->faulted, sig);
	siglongjmp(spin_env, 1);
}

static size_t slot_off(int k)
{
	return (size_t)k * STRIDE + (size_t)k * 4096;
}

static void *spinner(void *arg)
{
	struct spin *s = arg;

	cpu_pin(1);
	in_spinner = 1;
	if (sigsetjmp(spin_env, 1))
		return NULL;
	for (long n = 0; !atomic_load_explicit(&s->stop, memory_order_relaxed);) {
		for (int k = 0; k < NSLOT; k++) {
			volatile uint64_t *p = (volatile uint64_t *)(s->w + slot_off(k));

			if (s->write) {
				*p = (uint64_t)n;
			} else if (*p != pattern_word(s->seed, slot_off(k) / 8)) {
				atomic_fetch_add(&s->mismatches, 1);
			}
			n++;
			atomic_store_explicit(&s->count, n, memory_order_release);
		}
	}
	return NULL;
}

static void wait_running(struct spin *s, long n)
{
	long end = now_ms() + wait_ms(10000);

	while (atomic_load(&s->count) < n && !atomic_load(&s->faulted)) {
		CHECKF(now_ms() < end, "spinner not running (count %ld)", atomic_load(&s->count));
		usleep(1000);
	}
	CHECKF(!atomic_load(&s->faulted), "spinner faulted (signal %d at %#lx) before the unmap",
	       atomic_load(&s->faulted), (unsigned long)atomic_load(&s->fault_addr));
}

/* munmap (or mdetach) under a spinner; it must fault right after. */
static void unmap_under_spinner(int fd, bool write, bool lib)
{
	const char *what = lib ? (write ? "mdetach, writer" : "mdetach, reader")
			       : (write ? "munmap, writer" : "munmap, reader");
	struct spin *s = calloc(1, sizeof(*s));
	long c0, end, t;
	pthread_t th;
	char *w, *guard;

	CHECK(s != NULL);
	/*
	 * Neighbours on both sides keep the PMD page: were it freed, the core
	 * would flush the TLBs itself and hide a missing flush of the module.
	 */
	do {
		guard = reserve_aligned(SZ + 2 * GRANULE);
	} while (((uintptr_t)guard + GRANULE) % (1UL << 30) == 0 && munmap(guard, SZ + 2 * GRANULE) == 0);
	w = lib ? mattach(fd, guard + GRANULE, RW, MAP_FIXED) :
		  mmap(guard + GRANULE, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(w == guard + GRANULE);
	CHECK(maps_has(guard, GRANULE) && maps_has(w + SZ, GRANULE));
	s->w = w;
	s->write = write;
	s->seed = 5;
	if (write)
		for (int k = 0; k < NSLOT; k++)
			*(uint64_t *)(w + slot_off(k)) = 0;
	else
		fill_pattern(w, SZ, s->seed);
	cur = s;
	CHECK(pthread_create(&th, NULL, spinner, s) == 0);
	wait_running(s, 200000);
	klog_mark("%s: unmapping under the spinner", what);
	if (lib)
		CHECK(mdetach(w) == 0);
	else
		CHECK(munmap(w, SZ) == 0);
	c0 = atomic_load_explicit(&s->count, memory_order_acquire);
	t = now_ms();
	end = t + 2000;
	while (!atomic_load(&s->faulted) && now_ms() < end)
		usleep(200);
	t = now_ms() - t;
	if (!atomic_load(&s->faulted)) {
		long c1 = atomic_load(&s->count);

		atomic_store(&s->stop, 1);
		CHECKF(0, "%s: the spinner on CPU 1 still accessed the window 2 s after munmap "
		       "returned (%ld accesses since): stale TLB entries", what, c1 - c0);
	}
	CHECK(pthread_join(th, NULL) == 0);
	fprintf(stderr, "  %s: fault %ld accesses after munmap returned, %ld ms later\n", what,
		atomic_load(&s->at_fault) - c0, t);
	CHECKF(atomic_load(&s->faulted) == SIGSEGV, "%s: signal %d, want SIGSEGV", what,
	       atomic_load(&s->faulted));
	CHECKF(atomic_load(&s->fault_addr) >= (uintptr_t)w &&
	       atomic_load(&s->fault_addr) < (uintptr_t)w + SZ,
	       "%s: fault at %#lx, outside the window", what,
	       (unsigned long)atomic_load(&s->fault_addr));
	CHECKF(atomic_load(&s->at_fault) <= c0 + 1,
	       "%s: %ld accesses succeeded after munmap returned: stale TLB entries",
	       what, atomic_load(&s->at_fault) - c0);
	CHECKF(atomic_load(&s->mismatches) == 0, "%s: %ld wrong values read", what,
	       atomic_load(&s->mismatches));
	if (write) {
		/* no write after munmap returned landed in the region */
		char *v = raw_attach(fd, SZ, PROT_READ);
		uint64_t max = 0;

		for (int k = 0; k < NSLOT; k++) {
			uint64_t x = *(uint64_t *)(v + slot_off(k));

			if (x > max)
				max = x;
		}
		CHECKF(max <= (uint64_t)c0 + 1,
		       "%s: the region holds value %llu, written after munmap returned (at %ld)",
		       what, (unsigned long long)max, c0);
		CHECK(munmap(v, SZ) == 0);
	}
	CHECK(munmap(guard, SZ + 2 * GRANULE) == 0);
	free(s);
}

/* The spinner reads while the main thread unlinks its tables over and over. */
static void dontneed_under_spinner(int fd)
{
	struct spin *s = calloc(1, sizeof(*s));
	long f0, n = 0, end;
	pthread_t th;
	char *w = raw_attach(fd, SZ, RW);

	CHECK(s != NULL);
	s->w = w;
	s->seed = 6;
	fill_pattern(w, SZ, s->seed);
	cur = s;
	CHECK(pthread_create(&th, NULL, spinner, s) == 0);
	wait_running(s, 100000);
	f0 = fault_count();
	end = now_ms() + 1500;
	while (now_ms() < end) {
		CHECK(madvise(w, SZ, n & 1 ? MADV_DONTNEED : MADV_PAGEOUT) == 0);
		n++;
		usleep(500);
	}
	atomic_store(&s->stop, 1);
	CHECK(pthread_join(th, NULL) == 0);
	fprintf(stderr, "  %ld DONTNEED/PAGEOUT under a spinner: %ld faults, %ld accesses\n",
		n, fault_count() - f0, atomic_load(&s->count));
	CHECKF(!atomic_load(&s->faulted), "spinner took signal %d at %#lx",
	       atomic_load(&s->faulted), (unsigned long)atomic_load(&s->fault_addr));
	CHECKF(atomic_load(&s->mismatches) == 0, "spinner read %ld wrong values",
	       atomic_load(&s->mismatches));
	CHECK(verify_pattern(w, SZ, s->seed) == -1);
	CHECK(munmap(w, SZ) == 0);
	free(s);
}

/*
 * Faults in a window do not link while an invalidation of the mm is in
 * progress, anywhere in it: they retry.  They must still complete while
 * another thread invalidates unrelated memory of the mm back to back.
 */
static _Atomic int churn_stop;

static void *churn(void *arg)
{
	char *anon = arg;

	cpu_pin(1);
	while (!atomic_load(&churn_stop)) {
		anon[0] = 1;
		madvise(anon, GRANULE, MADV_DONTNEED);
	}
	return NULL;
}

static void faults_vs_unrelated_invalidations(int fd)
{
	char *anon = mmap(NULL, GRANULE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long worst = 0;
	pthread_t th;

	CHECK(anon != MAP_FAILED);
	CHECK(pthread_create(&th, NULL, churn, anon) == 0);
	usleep(20000);
	for (int i = 0; i < 5; i++) {
		char *w = raw_attach(fd, SZ, RW);
		long t0 = now_ms(), f0 = fault_count(), t;

		for (size_t o = 0; o < SZ; o += 4096)
			(void)((volatile char *)w)[o];
		t = now_ms() - t0;
		fprintf(stderr, "  faulting a window in under MADV_DONTNEED churn: %ld ms, %ld faults\n",
			t, fault_count() - f0);
		if (t > worst)
			worst = t;
		CHECK(munmap(w, SZ) == 0);
		CHECKF(t < 10000, "faulting in a %lu MiB window took %ld ms while another thread "
		       "invalidated unrelated memory: window faults starve", SZ / MIB, t);
	}
	atomic_store(&churn_stop, 1);
	CHECK(pthread_join(th, NULL) == 0);
	munmap(anon, GRANULE);
}

/* ---- across processes ---- */

struct xctl {
	_Atomic long count;
	_Atomic long mismatches;
	_Atomic int stop;
	_Atomic long faults;		/* A's faults while spinning */
	_Atomic int ready;
};

#define A_COUNTER_OFF	(SZ - 4096)	/* A bumps a counter here */

static int spinner_a(void *arg)
{
	struct xctl *x = arg;
	int fd = open(mpath("tlbx"), O_RDWR);
	char *w;
	long f0;

	cpu_pin(1);
	if (fd < 0)
		return 2;
	w = mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 3;
	touch_pages(w + A_COUNTER_OFF, 8, 0);
	if (verify_pattern(w, SZ / 2, 7) != -1)
		return 4;
	atomic_store(&x->count, 0);	/* fault the control page in first */
	/*
	 * And the loop's code: the count is the process's, and a first call
	 * of pattern_word() can fault its text page in (it did, 1 fault, once
	 * common.c grew).
	 */
	for (int k = 0; k < NSLOT / 2; k++)
		if (*(volatile uint64_t *)(w + slot_off(k)) != pattern_word(7, slot_off(k) / 8))
			return 4;
	f0 = fault_count();
	atomic_store(&x->ready, 1);
	for (long n = 1; !atomic_load_explicit(&x->stop, memory_order_relaxed); n++) {
		for (int k = 0; k < NSLOT / 2; k++) {
			size_t o = slot_off(k);

			if (*(volatile uint64_t *)(w + o) != pattern_word(7, o / 8))
				atomic_fetch_add(&x->mismatches, 1);
		}
		*(volatile uint64_t *)(w + A_COUNTER_OFF) = (uint64_t)n;
		atomic_store_explicit(&x->count, n, memory_order_relaxed);
	}
	atomic_store(&x->faults, fault_count() - f0);
	return verify_pattern(w, SZ / 2, 7) == -1 ? 0 : 5;
}

/* B: attach, link everything, see A's counter move, then go away. */
static int b_round(void *arg)
{
	int how = (int)(intptr_t)arg;
	int fd = open(mpath("tlbx"), O_RDWR);
	volatile uint64_t *ctr;
	uint64_t c0;
	char *w;
	long end;

	cpu_pin(0);
	if (fd < 0)
		return 2;
	w = mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 3;
	for (size_t o = 0; o < SZ; o += 4096)	/* link every table */
		(void)((volatile char *)w)[o];
	if (verify_pattern(w, 256 * 1024, 7) != -1)
		return 4;
	fill_pattern(w + SZ / 2, 256 * 1024, 8 + (uint64_t)how);
	ctr = (volatile uint64_t *)(w + A_COUNTER_OFF);
	c0 = *ctr;
	end = now_ms() + wait_ms(5000);
	while (*ctr == c0)
		if (now_ms() > end)
			return 6;	/* A's writes not visible to B */
	switch (how % 3) {
	case 0:
		return munmap(w, SZ) ? 7 : 0;
	case 1:
		return 0;	/* exit with the window */
	default:
		for (;;)
			(void)*ctr;	/* the test kills us */
	}
}

static void across_processes(void)
{
	struct xctl *x = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd = raw_create("tlbx", SZ), st;
	char *w = raw_attach(fd, SZ, RW);
	long end, c;
	pid_t a;

	CHECK(x != MAP_FAILED);
	fill_pattern(w, SZ / 2, 7);
	a = spawn(spinner_a, x);
	end = now_ms() + wait_ms(10000);
	while (!atomic_load(&x->ready)) {
		CHECKF(now_ms() < end, "spinner A did not start");
		usleep(1000);
	}
	for (int i = 0; i < 30; i++) {
		pid_t b;

		c = atomic_load(&x->count);
		klog_mark("process B round %d (%s)", i, (const char *[]){ "munmap", "exit", "SIGKILL" }[i % 3]);
		b = spawn(b_round, (void *)(intptr_t)i);
		if (i % 3 == 2) {
			/* let it link and spin, then kill it */
			usleep(20000);
			for (long e = now_ms() + 2000; atomic_load(&x->count) == c && now_ms() < e;)
				usleep(1000);
			usleep(5000);
			CHECK(kill(b, SIGKILL) == 0);
			st = wait_status(b);
			CHECKF(st == 128 + SIGKILL || st == 0, "B round %d: status %d", i, st);
		} else {
			st = wait_status(b);
			CHECKF(st == 0, "B round %d (%s): status %d", i, i % 3 ? "exit" : "munmap", st);
		}
		CHECKF(verify_pattern(w + SZ / 2, 256 * 1024, 8 + (uint64_t)i) == -1 || i % 3 == 2,
		       "B round %d: B's writes not in the region", i);
		/* A is still making progress */
		end = now_ms() + wait_ms(2000);
		while (atomic_load(&x->count) == c && now_ms() < end)
			usleep(1000);
		CHECKF(atomic_load(&x->count) > c, "A stopped after B round %d", i);
		CHECKF(atomic_load(&x->mismatches) == 0, "A read %ld wrong values by B round %d",
		       atomic_load(&x->mismatches), i);
	}
	atomic_store(&x->stop, 1);
	st = wait_status(a);
	CHECKF(st == 0, "spinner A status %d", st);
	fprintf(stderr, "  A: %ld rounds, %ld faults while 30 Bs came and went\n",
		atomic_load(&x->count), atomic_load(&x->faults));
	CHECKF(atomic_load(&x->faults) == 0,
	       "A took %ld faults on its linked window while B attached and left: B's "
	       "munmap/exit unlinked A's tables", atomic_load(&x->faults));
	CHECK(verify_pattern(w, SZ / 2, 7) == -1);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("tlbx")) == 0);
	munmap(x, 4096);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
	int fd;

	live_init("live-tlb");
	CHECKF(cpus_online() >= 2, "the VM must have 2 CPUs (has %d)", cpus_online());
	cpu_pin(0);
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0);
	fd = raw_create("tlb", SZ);

	for (int r = 0; r < 3; r++) {
		unmap_under_spinner(fd, false, false);
		unmap_under_spinner(fd, true, false);
		unmap_under_spinner(fd, false, true);
		unmap_under_spinner(fd, true, true);
	}
	dontneed_under_spinner(fd);
	faults_vs_unrelated_invalidations(fd);
	close(fd);
	CHECK(unlink(mpath("tlb")) == 0);

	across_processes();
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * munmap race: the threads of one process P race on a region that other
 * processes (helpers) hold and use the whole time:
 *   A0, A1  fault (touch + verify a whole chunk, a word per page) window W1
 *           continuously and bump their counter word, reading it back;
 *   B       MADV_DONTNEED over random ranges of W1, then reads the range
 *           again (refault) and checks it;
 *   C       munmap + mmap(MAP_FIXED_NOREPLACE) of a second window W2 at a
 *           fixed address, or mmap(MAP_FIXED) straight over it (implicit
 *           munmap), read-write or read-only in turn, sometimes with an
 *           anonymous mapping in between (which must read zero: no stale
 *           link); touches and checks it, bumps its counter through W2
 *           and reads it through W1;
 *   D       reads W2 at random while C remaps it (SIGSEGV caught): a read
 *           during which C did not touch W2 (a generation count, odd while
 *           C is at work) must return the right data;
 *   E       other mm operations, each checked to succeed, on W1 and on a
 *           third window W3 (mlock and mlock2(ONFAULT) + munlock it, so
 *           that B's DONTNEEDs on W1 are not refused): MADV_COLD,
 *           MADV_PAGEOUT, MADV_WILLNEED, MADV_POPULATE_READ/WRITE, msync,
 *           mincore, clear_refs 1 (young) and 4 (soft-dirty: invalidates
 *           the whole mm), /proc/self/smaps and pagemap reads,
 *           process_vm_readv; then checks a chunk of W3.
 * Threads run on both CPUs.  After round_ms, P's mm goes away while the
 * helpers go on: P exits after joining its threads, or is SIGKILLed while
 * they run, or one thread calls _exit() (exit_group) while the others run,
 * in turn.  Then the counters P wrote must be there (the last value, or
 * one more if P died between writing and publishing it), and the next P
 * starts.  Helpers: touch/verify chunks, bump their counters, check the
 * others' counters never go back, now and then zap their window or detach
 * and attach again.
 *
 * Layout (a word per 4 KiB page): chunk 0 page 1 + i is counter i
 * (0, 1: A0, A1; 2: C; 3..: helpers); every other page holds the pattern.
 */
#include "stress.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MR_NAME		"stress-munmap-race"
#define MR_SIZE		(16 * MIB)
#define MR_CHUNKS	((int)(MR_SIZE / GRANULE))
#define MR_INC		0x6d72
#define NCOUNTERS	16
#define PS		4096UL
#define RW		(PROT_READ | PROT_WRITE)

struct mctl {
	struct stress_ctl c;
	_Atomic uint64_t published[NCOUNTERS];	/* last value known written */
	_Atomic long touches, zaps, remaps, helper_ops, reads, misc;
	_Atomic int helpers_stop;
	_Atomic int round_stop;			/* P: stop now (mode 0) */
	_Atomic int helpers_ready;
};

static struct mctl *mc;
static const struct mrace_params *mp;

static char *w1, *w2, *w3;	/* P's windows; w2's address is fixed */
static int mfd = -1;
static _Atomic int p_stop;
static _Atomic unsigned int w2_gen;	/* odd while C remaps W2 */
static pthread_barrier_t p_start;	/* no thread runs before all exist:
					 * a new thread's stack could land
					 * in W2's hole */
static __thread sigjmp_buf d_env;
static __thread volatile int d_armed;

#define FAIL(...) sfail(&mc->c, __VA_ARGS__)

static uint64_t mpat(size_t page)
{
	return mix64(MR_INC, page, 0xc0de, 0) | 1;
}

static bool is_counter(int c, size_t pg)
{
	return c == 0 && pg >= 1 && pg <= NCOUNTERS;
}

static volatile uint64_t *counter(char *w, int i)
{
	return (volatile uint64_t *)(w + (size_t)(1 + i) * PS);
}

/* One word per page of chunk c of w: pattern, counters never below published. */
static bool mverify_chunk(const char *w, int c, const char *who)
{
	for (size_t pg = 0; pg < GRANULE / PS; pg++) {
		uint64_t v, want;

		if (is_counter(c, pg)) {
			uint64_t pub = atomic_load(&mc->published[pg - 1]);

			v = *(const volatile uint64_t *)(w + pg * PS);
			if (v < pub) {
				FAIL("%s: counter %zu reads %llu, below the published %llu (lost write)",
				     who, pg - 1, (unsigned long long)v, (unsigned long long)pub);
				return false;
			}
			continue;
		}
		v = *(const volatile uint64_t *)(w + (size_t)c * GRANULE + pg * PS);
		want = mpat((size_t)c * 512 + pg);
		if (v != want) {
			FAIL("%s: window %p chunk %d page %zu reads %#llx, want %#llx",
			     who, (const void *)w, c, pg, (unsigned long long)v,
			     (unsigned long long)want);
			return false;
		}
	}
	return true;
}

/* Bump counter i through w, read it back through r. */
static void bump(char *w, char *r, int i, const char *who)
{
	uint64_t v = *counter(w, i) + 1;

	*counter(w, i) = v;
	if (*counter(r, i) != v)
		FAIL("%s: counter %d reads %llu right after writing %llu",
		     who, i, (unsigned long long)*counter(r, i), (unsigned long long)v);
	atomic_store(&mc->published[i], v);
}

/* ---- P's threads ---- */

/* Every thread of P starts with this: all threads exist. */
static void p_started(void)
{
	pthread_barrier_wait(&p_start);
}

static bool p_running(void)
{
	return !atomic_load(&p_stop) && !stopping(&mc->c);
}

static void *thread_a(void *arg)
{
	int i = (int)(intptr_t)arg;
	uint64_t rng = rng_seed((uint64_t)i + 10);
	char who[16];

	snprintf(who, sizeof(who), "P/A%d", i);
	pin_cpu(i);
	p_started();
	while (p_running()) {
		if (!mverify_chunk(w1, (int)rng_below(&rng, MR_CHUNKS), who))
			break;
		bump(w1, w1, i, who);
		atomic_fetch_add(&mc->touches, 1);
	}
	return NULL;
}

static void *thread_b(void *arg)
{
	uint64_t rng = rng_seed(20);
	long mode = (long)(intptr_t)arg;
	long end = now_ms() + mp->round_ms;

	pin_cpu(1);
	p_started();
	while (p_running()) {
		size_t npages = MR_SIZE / PS;
		size_t start = rng_below(&rng, npages);
		size_t len = 1 + rng_below(&rng, npages - start);
		size_t probe;

		if (rng_below(&rng, 4) == 0) {	/* whole chunks */
			start &= ~(size_t)511;
			len = (len + 511) & ~(size_t)511;
			if (start + len > npages)
				len = npages - start;
		}
		if (madvise(w1 + start * PS, len * PS, MADV_DONTNEED)) {
			FAIL("P/B: madvise(DONTNEED) %zu pages at page %zu: %s",
			     len, start, strerror(errno));
			break;
		}
		probe = start + rng_below(&rng, len);
		if (!is_counter((int)(probe / 512), probe % 512) &&
		    *(volatile uint64_t *)(w1 + probe * PS) != mpat(probe)) {
			FAIL("P/B: page %zu after MADV_DONTNEED reads %#llx, want %#llx",
			     probe, (unsigned long long)*(volatile uint64_t *)(w1 + probe * PS),
			     (unsigned long long)mpat(probe));
			break;
		}
		atomic_fetch_add(&mc->zaps, 1);
		if (mode == 2 && now_ms() > end)
			_exit(0);	/* exit_group while the other threads run */
	}
	return NULL;
}

/*
 * Anonymous memory mapped where W2 was must read zero (a PMD entry still
 * linked to a region table would show the region's data); unmapped again.
 */
static bool anon_reads_zero(char *at, uint64_t *rng)
{
	char *p = mmap(at, MR_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	bool ok = true;

	if (p != at) {
		FAIL("P/C: anonymous mmap where W2 was: %p, %s", (void *)p, strerror(errno));
		return false;
	}
	for (int c = 0; c < MR_CHUNKS && ok; c++) {
		size_t off = (size_t)c * GRANULE + rng_below(rng, 512) * PS;

		if (*(volatile uint64_t *)(p + off)) {
			FAIL("P/C: anonymous memory where W2 was reads %#llx at +%#zx: stale link to a region table",
			     (unsigned long long)*(volatile uint64_t *)(p + off), off);
			ok = false;
		}
		*(volatile uint64_t *)(p + off) = 1;
	}
	if (munmap(p, MR_SIZE)) {
		FAIL("P/C: munmap anonymous: %s", strerror(errno));
		ok = false;
	}
	return ok;
}

static void *thread_c(void *arg)
{
	uint64_t rng = rng_seed(30);
	int prot = RW;

	(void)arg;
	pin_cpu(0);
	p_started();
	while (p_running()) {
		int nprot = rng_below(&rng, 2) ? RW : PROT_READ;
		void *p;

		atomic_fetch_add(&w2_gen, 1);	/* odd: W2 changing */
		if (rng_below(&rng, 2)) {
			if (munmap(w2, MR_SIZE)) {
				FAIL("P/C: munmap W2: %s", strerror(errno));
				break;
			}
			if (rng_below(&rng, 2) && !anon_reads_zero(w2, &rng))
				break;
			p = mmap(w2, MR_SIZE, nprot, MAP_SHARED | MAP_FIXED_NOREPLACE, mfd, 0);
		} else {
			p = mmap(w2, MR_SIZE, nprot, MAP_SHARED | MAP_FIXED, mfd, 0);
		}
		if (p != w2) {
			FAIL("P/C: re-mmap W2 at %p (%s): %p, %s", (void *)w2,
			     nprot == RW ? "RW" : "RO", p, strerror(errno));
			break;
		}
		atomic_fetch_add(&w2_gen, 1);	/* even: W2 is a window again */
		prot = nprot;
		for (int j = 0; j < 2; j++)
			if (!mverify_chunk(w2, (int)rng_below(&rng, MR_CHUNKS), "P/C"))
				goto out;
		if (prot == RW)
			bump(w2, w1, 2, "P/C");
		else
			bump(w1, w2, 2, "P/C");
		atomic_fetch_add(&mc->remaps, 1);
	}
out:
	return NULL;
}

static void d_handler(int sig)
{
	if (d_armed)
		siglongjmp(d_env, sig);
	signal(sig, SIG_DFL);	/* a real crash: let it happen */
}

static void *thread_d(void *arg)
{
	uint64_t rng = rng_seed(40);

	(void)arg;
	pin_cpu(1);
	p_started();
	while (p_running()) {
		unsigned int g1 = atomic_load(&w2_gen), g2;
		size_t pg = rng_below(&rng, MR_SIZE / PS);
		volatile uint64_t v = 0;
		int sig;

		if (g1 & 1) {
			sched_yield();
			continue;
		}
		sig = sigsetjmp(d_env, 1);
		if (sig == 0) {
			d_armed = 1;
			v = *(volatile uint64_t *)(w2 + pg * PS);
		}
		d_armed = 0;
		g2 = atomic_load(&w2_gen);
		if (g1 != g2)
			continue;	/* raced with C: nothing to say */
		if (sig) {
			FAIL("P/D: reading W2 page %zu raised signal %d while W2 stood still", pg, sig);
			break;
		}
		if (!is_counter((int)(pg / 512), pg % 512) && v != mpat(pg)) {
			FAIL("P/D: W2 page %zu reads %#llx, want %#llx", pg,
			     (unsigned long long)v, (unsigned long long)mpat(pg));
			break;
		}
		atomic_fetch_add(&mc->reads, 1);
	}
	return NULL;
}

static bool mr_proc_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool mr_proc_read(const char *path, off_t off, size_t len)
{
	static __thread char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0)
		return false;
	while (len && (n = pread(fd, buf, len < sizeof(buf) ? len : sizeof(buf), off)) > 0) {
		off += n;
		len -= (size_t)n;
	}
	close(fd);
	return n >= 0;
}

/* Thread E: one of the other mm operations; false (errno set) if it failed. */
static bool misc_op(int op, uint64_t *rng, const char **what)
{
	int c = (int)rng_below(rng, MR_CHUNKS);
	static unsigned char vec[MR_SIZE / PS];
	static uint64_t buf[GRANULE / 8];

	switch (op) {
	case 0:
		*what = "mlock(W3) + munlock";
		if (mlock(w3, MR_SIZE))
			return false;
		mverify_chunk(w3, c, "P/E (mlocked W3)");
		return munlock(w3, MR_SIZE) == 0;
	case 1:
		*what = "mlock2(W3, MLOCK_ONFAULT) + munlock";
		if (mlock2(w3, MR_SIZE, MLOCK_ONFAULT))
			return false;
		mverify_chunk(w3, c, "P/E (W3 mlocked on fault)");
		return munlock(w3, MR_SIZE) == 0;
	case 2:
		*what = "MADV_COLD W1";
		return madvise(w1, MR_SIZE, MADV_COLD) == 0;
	case 3:
		*what = "MADV_PAGEOUT W1";
		return madvise(w1, MR_SIZE, MADV_PAGEOUT) == 0;
	case 4:
		*what = "MADV_WILLNEED W1";
		return madvise(w1, MR_SIZE, MADV_WILLNEED) == 0;
	case 5:
		*what = "MADV_POPULATE_WRITE W3";
		return madvise(w3, MR_SIZE, MADV_POPULATE_WRITE) == 0;
	case 6:
		*what = "MADV_POPULATE_READ W1";
		return madvise(w1, MR_SIZE, MADV_POPULATE_READ) == 0;
	case 7:
		*what = "msync W1";
		return msync(w1, MR_SIZE, MS_SYNC) == 0;
	case 8:
		*what = "mincore W1";
		return mincore(w1, MR_SIZE, vec) == 0;
	case 9:
		*what = "clear_refs 1";
		return mr_proc_write("/proc/self/clear_refs", "1");
	case 10:
		*what = "clear_refs 4";
		return mr_proc_write("/proc/self/clear_refs", "4");
	case 11:
		*what = "read /proc/self/smaps";
		return mr_proc_read("/proc/self/smaps", 0, 1 << 20);
	case 12:
		*what = "read /proc/self/pagemap of W1";
		return mr_proc_read("/proc/self/pagemap", (off_t)((uintptr_t)w1 / PS * 8),
				 MR_SIZE / PS * 8);
	default: {
		struct iovec local = { buf, GRANULE }, remote = { w1 + (size_t)c * GRANULE, GRANULE };

		*what = "process_vm_readv W1";
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)GRANULE)
			return false;
		for (size_t pg = 0; pg < GRANULE / PS; pg++) {
			uint64_t want = mpat((size_t)c * 512 + pg);

			if (!is_counter(c, pg) && buf[pg * PS / 8] != want) {
				FAIL("P/E: process_vm_readv of W1 chunk %d page %zu: %#llx, want %#llx",
				     c, pg, (unsigned long long)buf[pg * PS / 8],
				     (unsigned long long)want);
				break;
			}
		}
		return true;
	}
	}
}

static void *thread_e(void *arg)
{
	uint64_t rng = rng_seed(50);

	(void)arg;
	pin_cpu(1);
	p_started();
	while (p_running()) {
		int op = (int)rng_below(&rng, 14);
		const char *what = "?";

		if (!misc_op(op, &rng, &what)) {
			FAIL("P/E: %s: %s", what, strerror(errno));
			break;
		}
		if (!mverify_chunk(w3, (int)rng_below(&rng, MR_CHUNKS), "P/E W3"))
			break;
		atomic_fetch_add(&mc->misc, 1);
	}
	return NULL;
}

static int p_main(int round)
{
	int mode = round % 3;
	pthread_t a0, a1, b, c, d, e;
	struct sigaction sa = { .sa_handler = d_handler };

	mfd = open(mpath(MR_NAME), O_RDWR | O_CLOEXEC);
	if (mfd < 0) {
		FAIL("P: open: %s", strerror(errno));
		return 1;
	}
	w1 = mmap(NULL, MR_SIZE, RW, MAP_SHARED, mfd, 0);
	w2 = mmap(NULL, MR_SIZE, RW, MAP_SHARED, mfd, 0);
	w3 = mmap(NULL, MR_SIZE, RW, MAP_SHARED, mfd, 0);
	if (w1 == MAP_FAILED || w2 == MAP_FAILED || w3 == MAP_FAILED) {
		FAIL("P: mmap: %s", strerror(errno));
		return 1;
	}
	/* counters P owns: what the region holds, P's predecessor may have died
	 * between writing and publishing */
	for (int i = 0; i < 3; i++) {
		uint64_t v = *counter(w1, i), pub = atomic_load(&mc->published[i]);

		if (v != pub && v != pub + 1)
			FAIL("P round %d: counter %d of the previous P reads %llu, published %llu",
			     round, i, (unsigned long long)v, (unsigned long long)pub);
		atomic_store(&mc->published[i], v);
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	pthread_barrier_init(&p_start, NULL, 7);
	if (pthread_create(&a0, NULL, thread_a, (void *)0) ||
	    pthread_create(&a1, NULL, thread_a, (void *)1) ||
	    pthread_create(&b, NULL, thread_b, (void *)(intptr_t)mode) ||
	    pthread_create(&c, NULL, thread_c, NULL) ||
	    pthread_create(&d, NULL, thread_d, NULL) ||
	    pthread_create(&e, NULL, thread_e, NULL)) {
		FAIL("P: pthread_create");
		return 1;
	}
	p_started();
	if (mode == 0) {
		while (!atomic_load(&mc->round_stop) && !stopping(&mc->c))
			usleep(10000);
		atomic_store(&p_stop, 1);
		pthread_join(a0, NULL);
		pthread_join(a1, NULL);
		pthread_join(b, NULL);
		pthread_join(c, NULL);
		pthread_join(d, NULL);
		pthread_join(e, NULL);
		return atomic_load(&mc->c.abort) ? 1 : 0;	/* exit with the windows attached */
	}
	/* mode 1: the parent kills us; mode 2: thread B exits the group */
	while (!stopping(&mc->c))
		usleep(10000);
	return 1;
}

/* ---- helpers ---- */

static int helper_main(int h)
{
	int ctr = 3 + h;
	uint64_t rng = rng_seed((uint64_t)100 + (uint64_t)h), seen[NCOUNTERS] = { 0 };
	int fd = open(mpath(MR_NAME), O_RDWR | O_CLOEXEC);
	char *w, who[32];

	snprintf(who, sizeof(who), "helper %d", h);
	pin_cpu(h);
	if (fd < 0) {
		FAIL("%s: open: %s", who, strerror(errno));
		return 1;
	}
	w = mmap(NULL, MR_SIZE, RW, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED) {
		FAIL("%s: mmap: %s", who, strerror(errno));
		return 1;
	}
	atomic_fetch_add(&mc->helpers_ready, 1);
	while (!atomic_load(&mc->helpers_stop) && !stopping(&mc->c)) {
		int x = (int)rng_below(&rng, 100);

		if (x < 3) {
			if (madvise(w, MR_SIZE, MADV_DONTNEED))
				FAIL("%s: madvise: %s", who, strerror(errno));
		} else if (x < 5) {
			char *nw;

			if (munmap(w, MR_SIZE))
				FAIL("%s: munmap: %s", who, strerror(errno));
			nw = mmap(NULL, MR_SIZE, RW, MAP_SHARED, fd, 0);
			if (nw == MAP_FAILED) {
				FAIL("%s: mmap: %s", who, strerror(errno));
				return 1;
			}
			w = nw;
		}
		if (!mverify_chunk(w, (int)rng_below(&rng, MR_CHUNKS), who))
			break;
		for (int i = 0; i < NCOUNTERS; i++) {
			uint64_t v = *counter(w, i);

			if (v < seen[i])
				FAIL("%s: counter %d went back from %llu to %llu", who, i,
				     (unsigned long long)seen[i], (unsigned long long)v);
			seen[i] = v;
		}
		bump(w, w, ctr, who);
		atomic_fetch_add(&mc->helper_ops, 1);
		usleep(200);	/* leave the CPUs to P mostly */
	}
	munmap(w, MR_SIZE);
	close(fd);
	return atomic_load(&mc->c.abort) ? 1 : 0;
}

int stress_mrace(const struct mrace_params *params, struct mrace_result *res)
{
	long start = now_ms(), base_used = used_pages(MNT);
	pid_t hpids[8];
	int fd, nh = 0;
	char *w;

	CHECK(params->helpers <= 8 && 3 + params->helpers <= NCOUNTERS);
	mp = params;
	memset(res, 0, sizeof(*res));
	mc = shared_alloc(sizeof(*mc));
	mc->c.deadline = start + params->budget_ms;

	fd = raw_create(MR_NAME, MR_SIZE);
	w = raw_attach(fd, MR_SIZE, RW);
	for (size_t pg = 0; pg < MR_SIZE / PS; pg++)
		if (!is_counter((int)(pg / 512), pg % 512))
			*(uint64_t *)(w + pg * PS) = mpat(pg);
	CHECK(munmap(w, MR_SIZE) == 0);

	for (int h = 0; h < params->helpers; h++) {
		pid_t pid = fork();

		if (pid == 0) {
			child_setup();
			_exit(helper_main(h));
		}
		if (pid < 0)
			FAIL("fork helper: %s", strerror(errno));
		else
			hpids[nh++] = pid;
	}
	while (atomic_load(&mc->helpers_ready) < nh && !stopping(&mc->c))
		usleep(10000);

	for (int round = 0; round < params->rounds && !stopping(&mc->c); round++) {
		int mode = round % 3, st;
		pid_t pid, got;

		atomic_store(&mc->round_stop, 0);
		pid = fork();
		if (pid == 0) {
			child_setup();
			_exit(p_main(round));
		}
		if (pid < 0) {
			FAIL("fork P: %s", strerror(errno));
			break;
		}
		/* let it run */
		for (long end = now_ms() + params->round_ms; now_ms() < end && !stopping(&mc->c);) {
			if (waitpid(pid, &st, WNOHANG) == pid) {
				pid = 0;
				break;
			}
			usleep(20000);
		}
		if (!pid) {
			if (mode != 2 || decode_status(st) != 0)
				FAIL("round %d: P ended early, status %d", round, decode_status(st));
			continue;
		}
		if (mode == 0)
			atomic_store(&mc->round_stop, 1);
		else if (mode == 1)
			kill(pid, SIGKILL);
		got = wait_any_until(pid, &st, now_ms() + wait_ms(20000));
		if (got == 0) {
			FAIL("round %d (mode %d): P does not exit; killing it", round, mode);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		} else if (decode_status(st) != (mode == 1 ? 128 + SIGKILL : 0) &&
			   !atomic_load(&mc->c.abort)) {
			FAIL("round %d (mode %d): P exit status %d", round, mode, decode_status(st));
		}
		if (params->verbose)
			fprintf(stderr, "  round %d (%s): touches %ld zaps %ld remaps %ld racing reads %ld other ops %ld helper ops %ld\n",
			        round, mode == 0 ? "exit" : mode == 1 ? "SIGKILL" : "exit_group from a thread",
			        atomic_load(&mc->touches), atomic_load(&mc->zaps),
			        atomic_load(&mc->remaps), atomic_load(&mc->reads),
			        atomic_load(&mc->misc), atomic_load(&mc->helper_ops));
		res->ops++;
	}
	/* the helpers went on while P's mm went away: they check, then stop */
	usleep(300000);
	atomic_store(&mc->helpers_stop, 1);
	for (int h = 0; h < nh; h++) {
		int st;

		if (wait_any_until(hpids[h], &st, now_ms() + wait_ms(15000)) == 0) {
			FAIL("helper %d does not stop; killing it", h);
			kill(hpids[h], SIGKILL);
			waitpid(hpids[h], &st, 0);
		} else if (decode_status(st) != 0 && !atomic_load(&mc->c.abort)) {
			FAIL("helper %d: exit status %d", h, decode_status(st));
		}
	}
	/* everything still there, every counter as last published (or +1) */
	w = raw_attach(fd, MR_SIZE, PROT_READ);
	for (int c = 0; c < MR_CHUNKS; c++)
		if (!mverify_chunk(w, c, "final check"))
			break;
	for (int i = 0; i < 3 + nh; i++) {
		uint64_t v = *counter(w, i), pub = atomic_load(&mc->published[i]);

		if (v != pub && v != pub + 1)
			FAIL("final check: counter %d reads %llu, published %llu",
			     i, (unsigned long long)v, (unsigned long long)pub);
	}
	munmap(w, MR_SIZE);
	close(fd);
	if (unlink(mpath(MR_NAME)))
		FAIL("unlink: %s", strerror(errno));
	if (wait_used_pages(MNT, base_used) != base_used)
		FAIL("mount still uses %ld pages, want %ld", used_pages(MNT), base_used);
	if (res->ops != params->rounds)
		FAIL("only %ld of %d rounds ran", res->ops, params->rounds);
	res->touches = atomic_load(&mc->touches);
	res->zaps = atomic_load(&mc->zaps);
	res->remaps = atomic_load(&mc->remaps);
	res->helper_ops = atomic_load(&mc->helper_ops);
	res->reads = atomic_load(&mc->reads);
	res->misc = atomic_load(&mc->misc);
	res->failures = atomic_load(&mc->c.failures);
	res->ms = now_ms() - start;
	shared_free(mc, sizeof(*mc));
	return res->failures ? 1 : 0;
}

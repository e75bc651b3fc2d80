// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-park: links that an invalidation takes out while walkers of the mm
 * may run are parked, never cleared (module/pt_shared.c, "Parking").
 * - MADV_DONTNEED of a linked window: its links go (pt_links), mincore
 *   shows nothing mapped, the bytes stay, and the next accesses link the
 *   same tables again: no new region table, no private table (VmPTE).
 * - The race that parking closes: in one process a thread zaps the window
 *   with MADV_DONTNEED, one walks it with mincore, one reads it and one
 *   writes it, while another process changes the protection of the same
 *   granules (PROTECT to read-write: the tables go, the bytes stay).
 *   Clearing a PMD entry there let a walker lock an entry that had just
 *   become empty: a NULL split lock on PREEMPT_RT and lockdep kernels
 *   (the harness's kernel log check), the PTEs of page frame 0 elsewhere.
 *   Every read must see the bytes it should.
 * - Writes racing PROTECT of their granule between read-only and
 *   read-write: a read links the read-only table, the change takes it out
 *   and waits for this mm's mmap_lock, and a write to the stale read-only
 *   entry reaches ->page_mkwrite.  It must get SIGSEGV (read-only then)
 *   or succeed, never SIGBUS: ->page_mkwrite cannot drop the fault lock
 *   (the core calls it with FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE only),
 *   so it takes the stale link out and retries.
 * - Afterwards the region's links and tables are exactly what one more
 *   pass over the window needs, and every page is still the region's.
 * The race runs 4 s (times MSHARE_SLOWDOWN), or MSHARE_PARK_MS.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCH	4
#define SZ	(NCH * GRANULE)
#define RW	(PROT_READ | PROT_WRITE)
#define PS	4096L
#define SEED	0x9a4bULL
#define WCHUNK	(NCH - 1)	/* the writer's granule; the others keep SEED */

static char *win;
static _Atomic int stop;
static _Atomic long n_zap, n_walk, n_read, n_write, n_protect, bad_reads;

static struct msharefs_region_stat rstat(int fd)
{
	struct msharefs_region_stat st;

	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	return st;
}

/* Pages of [p, p + len) that mincore reports resident. */
static long resident(void *p, size_t len)
{
	unsigned char vec[SZ / 4096];
	long n = 0;

	EXPECT_OK(mincore(p, len, vec));
	for (size_t i = 0; i < len / PS; i++)
		n += vec[i] & 1;
	return n;
}

static void *zapper(void *arg)
{
	cpu_pin(0);
	while (!atomic_load(&stop)) {
		CHECK(madvise(win, SZ, MADV_DONTNEED) == 0);
		atomic_fetch_add(&n_zap, 1);
	}
	return arg;
}

static void *walker(void *arg)
{
	cpu_pin(cpus_online() > 1 ? 1 : 0);
	while (!atomic_load(&stop)) {
		(void)resident(win, SZ);
		atomic_fetch_add(&n_walk, 1);
	}
	return arg;
}

/* One word per page of the granules nobody writes, in turn. */
static void *reader(void *arg)
{
	size_t words = (size_t)(NCH - 1) * GRANULE / 8, i = 0;
	const volatile uint64_t *w = (const volatile uint64_t *)win;

	cpu_pin(cpus_online() > 1 ? 1 : 0);
	while (!atomic_load(&stop)) {
		if (w[i] != pattern_word(SEED, i))
			atomic_fetch_add(&bad_reads, 1);
		i = (i + PS / 8 + 1) % words;
		atomic_fetch_add(&n_read, 1);
	}
	return arg;
}

/* Writes a counter across the last granule and reads each one back. */
static void *writer(void *arg)
{
	volatile uint64_t *w = (volatile uint64_t *)(win + WCHUNK * GRANULE);
	size_t words = GRANULE / 8, i = 0;
	uint64_t v = 1;

	cpu_pin(0);
	while (!atomic_load(&stop)) {
		w[i] = v;
		if (w[i] != v)
			atomic_fetch_add(&bad_reads, 1);
		i = (i + PS / 8 + 3) % words;
		v++;
		atomic_fetch_add(&n_write, 1);
	}
	return arg;
}

/*
 * A read then a write of each page of the writer's granule in turn, for
 * @ms, while another process flips that granule between read-only and
 * read-write.
 */
static void mkwrite_race(int fd, long ms)
{
	char *g = win + WCHUNK * GRANULE;
	long n_ok = 0, n_segv = 0, n_bus = 0, n_other = 0, i = 0, t0;
	long *shared = mmap(NULL, PS, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t changer;
	int status;

	CHECK(shared != MAP_FAILED);
	changer = fork();
	CHECK(changer >= 0);
	if (changer == 0) {
		struct mshare_protect mp = { .region_offset = WCHUNK * GRANULE,
					     .size = GRANULE };
		long n = 0;

		cpu_pin(cpus_online() > 1 ? 1 : 0);
		while (!__atomic_load_n(&shared[0], __ATOMIC_ACQUIRE)) {
			mp.prot = (n & 1) ? RW : PROT_READ;
			if (ioctl(fd, MSHAREFS_PROTECT, &mp))
				_exit(1);
			n++;
		}
		mp.prot = RW;
		if (ioctl(fd, MSHAREFS_PROTECT, &mp))
			_exit(1);
		shared[1] = n;
		_exit(0);
	}
	cpu_pin(0);
	t0 = now_ms();
	while (now_ms() - t0 < ms) {
		char *p = g + (i++ % (GRANULE / PS)) * PS;
		int sig = probe_read(p);

		if (!sig)
			sig = probe_write(p, 0x5a);
		if (!sig)
			n_ok++;
		else if (sig == SIGSEGV)
			n_segv++;
		else if (sig == SIGBUS)
			n_bus++;
		else
			n_other++;
	}
	__atomic_store_n(&shared[0], 1, __ATOMIC_RELEASE);
	CHECK(waitpid(changer, &status, 0) == changer);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "changer: status %#x", status);
	klog_mark("writes racing PROTECT r <-> rw, %ld ms: %ld PROTECT, %ld read+write ok, %ld SIGSEGV, %ld SIGBUS",
	       now_ms() - t0, shared[1], n_ok, n_segv, n_bus);
	CHECKF(n_bus == 0 && n_other == 0,
	       "%ld of %ld accesses got SIGBUS (%ld another signal); only SIGSEGV, while read-only, is allowed",
	       n_bus, i, n_other);
	CHECKF(n_ok > 0 && shared[1] > 1, "%ld accesses worked, %ld PROTECT",
	       n_ok, shared[1]);
	EXPECT_OK(munmap(shared, PS));
}

static int protect_rw(int fd)
{
	struct mshare_protect mp = { .region_offset = 0, .size = SZ, .prot = RW };

	return ioctl(fd, MSHAREFS_PROTECT, &mp);
}

int main(void)
{
	struct msharefs_region_stat st;
	long ms = 4000, faults, vmpte, t0;
	const char *slow = getenv("MSHARE_SLOWDOWN");
	pthread_t th[4];
	long *shared;
	pid_t changer;
	int fd, status;

	live_init("live-park");
	if (slow && atol(slow) > 1)
		ms *= atol(slow);
	if (getenv("MSHARE_PARK_MS"))
		ms = atol(getenv("MSHARE_PARK_MS"));

	fd = raw_create("park", SZ);
	win = raw_attach(fd, SZ, RW);
	fill_pattern(win, SZ, SEED);
	st = rstat(fd);
	CHECKF(st.pt_tables == NCH && st.pt_links == NCH,
	       "after filling: %llu tables, %llu links", st.pt_tables, st.pt_links);
	CHECK(resident(win, SZ) == SZ / PS);

	/* ---- MADV_DONTNEED parks the links; the next access relinks ---- */
	vmpte = status_kib(0, "VmPTE");
	CHECK(madvise(win, SZ, MADV_DONTNEED) == 0);
	st = rstat(fd);
	CHECKF(st.pt_links == 0 && st.pt_tables == NCH,
	       "after MADV_DONTNEED: %llu tables, %llu links", st.pt_tables,
	       st.pt_links);
	CHECK(resident(win, SZ) == 0);
	faults = fault_count();
	CHECK(verify_pattern(win, SZ, SEED) == -1);
	faults = fault_count() - faults;
	st = rstat(fd);
	CHECKF(st.pt_links == NCH && st.pt_tables == NCH,
	       "after reading again: %llu tables, %llu links", st.pt_tables,
	       st.pt_links);
	CHECKF(faults >= NCH && faults <= 4 * NCH,
	       "%ld faults to read %d granules again", faults, NCH);
	CHECKF(status_kib(0, "VmPTE") == vmpte, "VmPTE %ld kB, was %ld kB",
	       status_kib(0, "VmPTE"), vmpte);
	CHECK(resident(win, SZ) == SZ / PS);
	klog_mark("MADV_DONTNEED: links %d -> 0 -> %d, %ld faults, VmPTE %ld kB both times",
	       NCH, NCH, faults, vmpte);

	/* ---- the race ---- */
	shared = mmap(NULL, PS, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	changer = fork();
	CHECK(changer >= 0);
	if (changer == 0) {
		/* Another process, attached too: its links go as well. */
		char *w2 = raw_attach(fd, SZ, RW);
		long n = 0;

		cpu_pin(cpus_online() > 1 ? 1 : 0);
		while (!__atomic_load_n(&shared[0], __ATOMIC_ACQUIRE)) {
			if (protect_rw(fd))
				_exit(1);
			if (verify_pattern(w2, GRANULE, SEED) != -1)
				_exit(2);
			n++;
		}
		shared[1] = n;
		_exit(0);
	}
	t0 = now_ms();
	CHECK(pthread_create(&th[0], NULL, zapper, NULL) == 0);
	CHECK(pthread_create(&th[1], NULL, walker, NULL) == 0);
	CHECK(pthread_create(&th[2], NULL, reader, NULL) == 0);
	CHECK(pthread_create(&th[3], NULL, writer, NULL) == 0);
	while (now_ms() - t0 < ms)
		usleep(10000);
	atomic_store(&stop, 1);
	__atomic_store_n(&shared[0], 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	CHECK(waitpid(changer, &status, 0) == changer);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "changer: status %#x", status);
	n_protect = shared[1];
	klog_mark("race, %ld ms: %ld MADV_DONTNEED, %ld mincore, %ld reads, %ld writes, %ld PROTECT",
	       now_ms() - t0, atomic_load(&n_zap), atomic_load(&n_walk),
	       atomic_load(&n_read), atomic_load(&n_write),
	       atomic_load(&n_protect));
	CHECKF(atomic_load(&bad_reads) == 0, "%ld reads saw the wrong bytes",
	       atomic_load(&bad_reads));
	CHECK(atomic_load(&n_zap) > 0 && atomic_load(&n_walk) > 0 &&
	      atomic_load(&n_read) > 0 && atomic_load(&n_write) > 0 &&
	      atomic_load(&n_protect) > 0);

	/* ---- writes racing PROTECT r <-> rw: ->page_mkwrite retries ---- */
	mkwrite_race(fd, ms / 2);

	/* ---- afterwards: one pass links exactly one table per granule ---- */
	vmpte = status_kib(0, "VmPTE");	/* the threads' stacks have theirs */
	CHECK(verify_pattern(win, (NCH - 1) * GRANULE, SEED) == -1);
	touch_pages(win + WCHUNK * GRANULE, GRANULE, 0x5a);
	st = rstat(fd);
	CHECKF(st.pt_links == NCH && st.pt_tables == NCH && st.attachers == 1,
	       "after the race: %llu tables, %llu links, %llu attachers",
	       st.pt_tables, st.pt_links, st.attachers);
	CHECK(st.resident_pages == SZ / PS);
	CHECKF(status_kib(0, "VmPTE") == vmpte, "VmPTE %ld kB, was %ld kB",
	       status_kib(0, "VmPTE"), vmpte);

	EXPECT_OK(munmap(win, SZ));
	st = rstat(fd);
	CHECK(st.pt_links == 0 && st.attachers == 0);
	close(fd);
	EXPECT_OK(unlink(mpath("park")));
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-coremm: core-mm paths the team did not write, run on a region while
 * two other attachers write and verify it on both CPUs (HACKING.md "Map of
 * hazards").  For each step below a fresh writer (CPU 0: a generation
 * number into the first word pair of every page of the first half, pass
 * after pass) and a fresh reader (CPU 1: the second half's pattern, over
 * and over) run in their own processes with their own windows; the step
 * runs in the test process, which holds a third window.  After the step
 * the writer finishes its pass and stops, and the test process checks that
 * every page holds the writer's last generation (a write that went
 * through a stale translation to a page the region no longer maps would
 * leave an older one), that the pattern is intact, and that the reader
 * never saw a wrong word.  The harness scans the kernel log after the test
 * and checks for leaks after the unmount.
 *
 *  compact   /proc/sys/vm/compact_memory, three times.
 *  reclaim   drop_caches 3, memory.reclaim of the root cgroup (0 or
 *            EAGAIN), MADV_COLD and MADV_PAGEOUT on the test's window.
 *  ksm       ksmd running flat out over this mm (a mergeable private
 *            mapping of identical pages registers it: they merge),
 *            MADV_MERGEABLE on the window (the core ignores it on shared
 *            mappings: 0), PR_SET_MEMORY_MERGE in the writer where the
 *            kernel has it; two full scans; no region page may become a
 *            KSM page (pages_sharing grows by the private pages only).
 *  uffd      userfaultfd registration of a window in every mode: refused
 *            with EINVAL (the core allows it on anonymous, shmem and
 *            hugetlb mappings only; man/msharefs.7).
 *  thp       MADV_HUGEPAGE, khugepaged scanning with no sleep, and
 *            MADV_COLLAPSE (refused: the window is VM_NOHUGEPAGE-born and
 *            not anonymous or shmem); the RT kernels have no THP.
 *  pins      vmsplice of window pages into a pipe (a GUP-fast pin), then
 *            munmap of the window, MSHAREFS_UNMAP of the range, PROTECT,
 *            and exit of the pinning process while the pipe holds the
 *            pages: the pipe gives back what the pages held when pinned.
 *            io_uring fixed buffers (IORING_REGISTER_BUFFERS, a long-term
 *            pin) on a window: the outcome is printed; when the kernel
 *            takes them, munmap and UNMAP while registered, then
 *            unregister.
 *  hwpoison  memory failure on region pages, as root: MADV_SOFT_OFFLINE
 *            of a page the reader checks and MADV_HWPOISON of one the
 *            writer writes.  memory_failure() finds no mapping of a
 *            region page to remove (windows map the region file, not the
 *            page's shmem file) and the region holds a reference of its
 *            own: soft offline fails (EBUSY: migration fails) and moves
 *            nothing; MADV_HWPOISON marks the page (kpageflags HWPOISON),
 *            gives up on it and fails with EBUSY, and the page stays
 *            mapped, at the same PFN, in every attacher (a fresh window
 *            too): never unmapped from one attacher only.  The poisoned
 *            page is never given back to the allocator (one page per
 *            run).  Every kernel the suite boots has
 *            CONFIG_MEMORY_FAILURE, userfaultfd and io_uring (the debug
 *            build's config asks for them): a kernel without fails.
 *  numa     with two NUMA nodes (the two-node boot, live-numa-RELEASE,
 *            MSHARE_NUMA_NODES=2; one node elsewhere: a note): a private
 *            control buffer moves between the nodes (move_pages,
 *            migrate_pages: migration works in this VM), while every
 *            region page stays where it is, at the same PFN in this window
 *            and a fresh one, through move_pages to the other node,
 *            migrate_pages, mbind(MPOL_BIND, MPOL_MF_MOVE) and 3 s of NUMA
 *            balancing with the writer and the reader on CPUs of the two
 *            nodes.
 *  gupfast   vmsplice (GUP-fast) and futex waits on the window in one
 *            thread while another does MADV_DONTNEED, PROTECT RO/RW and
 *            munmap + mmap again, for a few seconds.  It found a deadlock:
 *            the futex key's FOLL_WRITE GUP spun on ->page_mkwrite's
 *            VM_FAULT_NOPAGE over a read-only table PROTECT RW had taken
 *            out, holding the mmap_lock the PROTECT waited for.  If the
 *            step hangs, a watchdog child prints the threads' kernel
 *            stacks after 30 s.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/msharefs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(16 * MIB)
#define HALF		(SZ / 2)
#define RW		(PROT_READ | PROT_WRITE)
#define NAME		"coremm"
#define SEED		0xc0e3ULL
#define KSM_PRIV	((long)(4 * MIB))

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE	67
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define KPF_HWPOISON		19
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE		14
#endif

struct ctl {
	atomic_int stop;
	atomic_int ready;
	atomic_long gen_done;	/* last complete pass of the writer */
	atomic_long reads;	/* reader passes */
	atomic_long bad;	/* wrong words the reader saw */
	atomic_long bad_off;	/* offset of the first one */
};

static struct ctl *ctl;
static int fd;
static char *win;
static size_t ps;

static int writer(void *arg)
{
	bool merge = arg != NULL;
	char *w;
	long gen = 0;

	cpu_pin(0);
	w = attach_by_name(NAME, SZ, RW);
	if (!w)
		return 10;
	if (merge && prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) && errno != EINVAL)
		return 11;
	atomic_fetch_add(&ctl->ready, 1);
	while (!atomic_load(&ctl->stop)) {
		gen++;
		for (size_t off = 0; off < HALF; off += ps) {
			volatile uint64_t *q = (volatile uint64_t *)(w + off);

			q[0] = (uint64_t)gen;
			q[1] = ~(uint64_t)gen;
		}
		atomic_store(&ctl->gen_done, gen);
	}
	return 0;
}

static int reader(void *arg)
{
	const volatile uint64_t *r;
	char *w;

	(void)arg;
	cpu_pin(cpus_online() > 1 ? 1 : 0);
	w = attach_by_name(NAME, SZ, PROT_READ);
	if (!w)
		return 10;
	r = (const volatile uint64_t *)(w + HALF);
	atomic_fetch_add(&ctl->ready, 1);
	while (!atomic_load(&ctl->stop)) {
		for (size_t i = 0; i < HALF / 8; i += 7) {
			if (r[i] != pattern_word(SEED, i)) {
				if (atomic_fetch_add(&ctl->bad, 1) == 0)
					atomic_store(&ctl->bad_off, (long)(HALF + 8 * i));
			}
		}
		atomic_fetch_add(&ctl->reads, 1);
	}
	return 0;
}

static pid_t wpid, rpid;

static void workers_start(bool merge)
{
	long t0 = now_ms();

	atomic_store(&ctl->stop, 0);
	atomic_store(&ctl->ready, 0);
	atomic_store(&ctl->gen_done, 0);
	atomic_store(&ctl->reads, 0);
	atomic_store(&ctl->bad, 0);
	wpid = spawn(writer, merge ? (void *)1 : NULL);
	rpid = spawn(reader, NULL);
	while (atomic_load(&ctl->ready) < 2 || atomic_load(&ctl->gen_done) < 1 ||
	       atomic_load(&ctl->reads) < 1) {
		CHECKF(now_ms() - t0 < wait_ms(20000), "workers did not start");
		usleep(10000);
	}
}

/* Stop the workers and check what the region holds, from this process. */
static void workers_check(const char *step)
{
	long gen, wrong = 0, first = -1;
	int st;

	atomic_store(&ctl->stop, 1);
	st = wait_status(wpid);
	CHECKF(st == 0, "%s: writer ended with status %d", step, st);
	st = wait_status(rpid);
	CHECKF(st == 0, "%s: reader ended with status %d", step, st);
	gen = atomic_load(&ctl->gen_done);
	for (size_t off = 0; off < HALF; off += ps) {
		const uint64_t *q = (const uint64_t *)(win + off);

		if (q[0] != (uint64_t)gen || q[1] != ~(uint64_t)gen) {
			if (first < 0)
				first = (long)off;
			wrong++;
		}
	}
	CHECKF(wrong == 0, "%s: %ld pages do not hold the writer's last generation %ld "
	       "(first at offset %ld holds %llu): a write went astray", step, wrong, gen,
	       first, first < 0 ? 0ULL : (unsigned long long)*(uint64_t *)(win + first));
	CHECKF(verify_pattern(win + HALF, HALF, SEED) < 0,
	       "%s: the pattern half changed", step);
	CHECKF(atomic_load(&ctl->bad) == 0, "%s: the reader saw %ld wrong words (first at %ld)",
	       step, atomic_load(&ctl->bad), atomic_load(&ctl->bad_off));
	printf("note: %s: writer %ld passes, reader %ld passes, region intact\n", step, gen,
	       atomic_load(&ctl->reads));
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	usleep((useconds_t)(ms * 1000));
}

static void step_compact(void)
{
	workers_start(false);
	for (int i = 0; i < 3; i++) {
		CHECKF(proc_write("/proc/sys/vm/compact_memory", "1") == 0,
		       "compact_memory: %s", strerror(errno));
		sleep_ms(200);
	}
	workers_check("compact");
}

static void step_reclaim(void)
{
	int r;

	workers_start(false);
	CHECKF(proc_write("/proc/sys/vm/drop_caches", "3") == 0, "drop_caches");
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	if (access("/sys/fs/cgroup/memory.reclaim", F_OK) == 0) {
		r = proc_write("/sys/fs/cgroup/memory.reclaim", "256M");
		CHECKF(r == 0 || errno == EAGAIN, "memory.reclaim: %s", strerror(errno));
		printf("note: reclaim: memory.reclaim 256M of the root cgroup: %s\n",
		       r == 0 ? "0" : "EAGAIN");
	} else {
		printf("note: reclaim: no memory.reclaim in the root cgroup on this kernel\n");
	}
	CHECKF(madvise(win, SZ, MADV_COLD) == 0, "MADV_COLD");
	CHECKF(madvise(win, SZ, MADV_PAGEOUT) == 0, "MADV_PAGEOUT");
	CHECKF(proc_write("/proc/sys/vm/drop_caches", "3") == 0, "drop_caches");
	workers_check("reclaim");
}

static long ksm_num(const char *f)
{
	char path[128];
	const char *s;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", f);
	s = proc_read(path);
	return s ? atol(s) : -1;
}

static char ksm_saved[3][32];
static const char *const ksm_knobs[3] = { "run", "pages_to_scan", "sleep_millisecs" };

static void ksm_restore(void)
{
	char path[128];

	for (int i = 2; i >= 0; i--) {
		if (!ksm_saved[i][0])
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", ksm_knobs[i]);
		proc_write(path, i == 0 ? "2" : ksm_saved[i]);
		if (i == 0)
			proc_write(path, ksm_saved[0]);
	}
}

static void step_ksm(void)
{
	long scans0, sharing0, sharing1;
	char *priv;
	int r;

	if (access("/sys/kernel/mm/ksm/run", F_OK)) {
		printf("note: ksm: this kernel has no KSM\n");
		return;
	}
	for (int i = 0; i < 3; i++) {
		char path[128];

		snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", ksm_knobs[i]);
		snprintf(ksm_saved[i], sizeof(ksm_saved[i]), "%s", proc_read(path));
	}
	live_atexit(ksm_restore);
	CHECK(proc_write("/sys/kernel/mm/ksm/pages_to_scan", "4096") == 0);
	CHECK(proc_write("/sys/kernel/mm/ksm/sleep_millisecs", "0") == 0);
	/* The workers first: fork children inherit a mergeable mm and mapping. */
	sharing0 = ksm_num("pages_sharing");
	workers_start(true);
	/*
	 * ksmd scans only mms that have a mergeable VMA: 1024 identical
	 * private pages make this one such an mm (and give ksmd something
	 * to merge beside the windows, which it must skip).
	 */
	priv = mmap(NULL, KSM_PRIV, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(priv != MAP_FAILED);
	memset(priv, 0x5a, KSM_PRIV);
	CHECKF(madvise(priv, KSM_PRIV, MADV_MERGEABLE) == 0, "MADV_MERGEABLE: %s",
	       strerror(errno));
	r = madvise(win, SZ, MADV_MERGEABLE);
	CHECKF(r == 0, "MADV_MERGEABLE on a window: %s", strerror(errno));
	CHECK(proc_write("/sys/kernel/mm/ksm/run", "1") == 0);
	scans0 = ksm_num("full_scans");
	for (long t0 = now_ms(); ksm_num("full_scans") < scans0 + 2;) {
		CHECKF(now_ms() - t0 < wait_ms(30000), "ksmd made no two full scans");
		sleep_ms(50);
	}
	sharing1 = ksm_num("pages_sharing");
	workers_check("ksm");
	CHECK(proc_write("/sys/kernel/mm/ksm/run", "2") == 0);
	CHECK(proc_write("/sys/kernel/mm/ksm/run", "0") == 0);
	printf("note: ksm: 2 full scans with the windows mergeable; pages_sharing %ld -> %ld\n",
	       sharing0, sharing1);
	/*
	 * The private pages merge into one (1023 sharing).  The 2048 pages
	 * of the first half hold the same two words after every pass:
	 * merged, they would add about 2000 more.  The writer's own private
	 * memory (PR_SET_MEMORY_MERGE) may add a few dozen.
	 */
	CHECKF(sharing1 >= sharing0 + KSM_PRIV / 4096 / 2,
	       "ksm: pages_sharing %ld -> %ld: ksmd merged not even the private pages",
	       sharing0, sharing1);
	CHECKF(sharing1 <= sharing0 + KSM_PRIV / 4096 + 256,
	       "ksm: pages_sharing grew by %ld: region pages merged?", sharing1 - sharing0);
	CHECK(munmap(priv, KSM_PRIV) == 0);
}

static void step_uffd(void)
{
	static const struct { __u64 mode; const char *name; } modes[] = {
		{ UFFDIO_REGISTER_MODE_MISSING, "MISSING" },
#ifdef UFFDIO_REGISTER_MODE_WP
		{ UFFDIO_REGISTER_MODE_WP, "WP" },
#endif
#ifdef UFFDIO_REGISTER_MODE_MINOR
		{ UFFDIO_REGISTER_MODE_MINOR, "MINOR" },
#endif
	};
	struct uffdio_api api = { .api = UFFD_API };
	int ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* Every kernel the suite boots has userfaultfd (the debug one too). */
	CHECKF(ufd >= 0, "userfaultfd: %s", strerror(errno));
	CHECKF(ioctl(ufd, UFFDIO_API, &api) == 0, "UFFDIO_API");
	workers_start(false);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct uffdio_register reg = {
			.range = { .start = (unsigned long)win, .len = SZ },
			.mode = modes[i].mode,
		};
		int r = ioctl(ufd, UFFDIO_REGISTER, &reg);

		CHECKF(r == -1 && errno == EINVAL,
		       "UFFDIO_REGISTER MODE_%s of a window: %d (%s), want EINVAL",
		       modes[i].name, r, r ? strerror(errno) : "registered");
	}
	close(ufd);
	workers_check("uffd");
	printf("note: uffd: registration refused with EINVAL in every mode\n");
}

static void step_thp(void)
{
#define KH "/sys/kernel/mm/transparent_hugepage/khugepaged/"
	char sleep_saved[32], scan_saved[32];
	long full0, t0;
	int r;

	if (access(KH "full_scans", F_OK)) {
		printf("note: thp: no transparent huge pages on this kernel (PREEMPT_RT)\n");
		return;
	}
	snprintf(sleep_saved, sizeof(sleep_saved), "%s", proc_read(KH "scan_sleep_millisecs"));
	snprintf(scan_saved, sizeof(scan_saved), "%s", proc_read(KH "pages_to_scan"));
	workers_start(false);
	CHECKF(madvise(win, SZ, MADV_HUGEPAGE) == 0, "MADV_HUGEPAGE: %s", strerror(errno));
	CHECK(proc_write(KH "scan_sleep_millisecs", "0") == 0);
	CHECK(proc_write(KH "pages_to_scan", "8192") == 0);
	full0 = atol(proc_read(KH "full_scans"));
	for (t0 = now_ms(); atol(proc_read(KH "full_scans")) < full0 + 2;) {
		CHECKF(now_ms() - t0 < wait_ms(30000), "khugepaged made no two full scans");
		sleep_ms(50);
	}
	r = madvise(win, SZ, MADV_COLLAPSE);
	printf("note: thp: khugepaged 2 full scans over MADV_HUGEPAGE windows; MADV_COLLAPSE: %s\n",
	       r == 0 ? "0" : strerror(errno));
	CHECKF(r == -1 && errno == EINVAL, "MADV_COLLAPSE of a window: %d (%s), want EINVAL",
	       r, r ? strerror(errno) : "collapsed");
	proc_write(KH "scan_sleep_millisecs", sleep_saved);
	proc_write(KH "pages_to_scan", scan_saved);
	workers_check("thp");
#undef KH
}

/* vmsplice len bytes at p into a new pipe; the pipe's read end. */
static int pin_into_pipe(char *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };
	int pfd[2];
	ssize_t n;

	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	CHECK(fcntl(pfd[1], F_SETPIPE_SZ, (int)(2 * len)) >= (int)len);
	n = vmsplice(pfd[1], &iov, 1, 0);
	CHECKF(n == (ssize_t)len, "vmsplice: %zd (%s)", n, strerror(errno));
	close(pfd[1]);
	return pfd[0];
}

static void pipe_holds(int rfd, size_t len, uint64_t seed, size_t pat_off, const char *what)
{
	char *buf = malloc(len);
	size_t got = 0;

	CHECK(buf);
	while (got < len) {
		ssize_t n = read(rfd, buf + got, len - got);

		CHECKF(n > 0, "%s: pipe read %zd", what, n);
		got += (size_t)n;
	}
	for (size_t i = 0; i < len / 8; i++)
		CHECKF(((uint64_t *)buf)[i] == pattern_word(seed, pat_off / 8 + i),
		       "%s: the pinned pages changed at word %zu", what, i);
	free(buf);
	close(rfd);
}

/* A child pins window pages into the parent's pipe (*arg: its write end) and exits. */
static int pin_and_exit(void *arg)
{
	char *w = attach_by_name(NAME, SZ, RW);
	struct iovec iov;

	if (!w)
		return 10;
	iov.iov_base = w + HALF;
	iov.iov_len = 64 * 1024;
	return vmsplice(*(int *)arg, &iov, 1, 0) == 64 * 1024 ? 0 : 11;
}

/* Map anonymous memory back at region offset off (a granule) after an UNMAP. */
static void granule_back(size_t off)
{
	struct mshare_create mc = {
		.region_offset = off, .size = GRANULE, .prot = RW,
		.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, .fd = (__u32)-1,
	};

	CHECKF(ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc) == 0, "CREATE_MAPPING back: %s",
	       strerror(errno));
	CHECK(verify_zero(win + off, GRANULE) < 0);
}

static void io_uring_pins(void)
{
	struct io_uring_params params;
	struct iovec iov;
	char *w = attach_by_name(NAME, SZ, RW);
	int ring, r;

	CHECK(w);
	memset(&params, 0, sizeof(params));
	ring = (int)syscall(SYS_io_uring_setup, 4, &params);
	/* Every kernel the suite boots has io_uring (the debug one too). */
	CHECKF(ring >= 0, "io_uring_setup: %s", strerror(errno));
	iov.iov_base = w + SZ - GRANULE;
	iov.iov_len = GRANULE;
	r = (int)syscall(SYS_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
	printf("note: pins: IORING_REGISTER_BUFFERS of a window: %s\n",
	       r == 0 ? "registered (long-term pin)" : strerror(errno));
	CHECKF(r == 0 || errno == EOPNOTSUPP || errno == EFAULT,
	       "IORING_REGISTER_BUFFERS: %s", strerror(errno));
	if (r == 0) {
		struct mshare_unmap mu = { .region_offset = SZ - GRANULE, .size = GRANULE };

		/* munmap and UNMAP while registered, then unregister. */
		CHECK(munmap(w, SZ) == 0);
		w = NULL;
		CHECKF(ioctl(fd, MSHAREFS_UNMAP, &mu) == 0, "UNMAP while pinned: %s",
		       strerror(errno));
		CHECK(syscall(SYS_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0) == 0);
		granule_back(SZ - GRANULE);
		fill_pattern(win + HALF, HALF, SEED);
	}
	close(ring);
	if (w)
		munmap(w, SZ);
}

static void step_pins(void)
{
	struct mshare_protect mp = { .region_offset = HALF, .size = GRANULE, .prot = PROT_READ };
	size_t len = 64 * 1024;
	char *w;
	int r1, r2, pfd[2];
	pid_t pid;

	workers_start(false);
	/* munmap of the pinning window. */
	w = attach_by_name(NAME, SZ, RW);
	CHECK(w);
	r1 = pin_into_pipe(w + HALF, len);
	CHECK(munmap(w, SZ) == 0);
	pipe_holds(r1, len, SEED, 0, "pin + munmap");
	/* PROTECT the pinned range read-only, and back. */
	r2 = pin_into_pipe(win + HALF + ps, len);
	CHECKF(ioctl(fd, MSHAREFS_PROTECT, &mp) == 0, "PROTECT RO while pinned: %s",
	       strerror(errno));
	mp.prot = RW;
	CHECKF(ioctl(fd, MSHAREFS_PROTECT, &mp) == 0, "PROTECT RW while pinned: %s",
	       strerror(errno));
	pipe_holds(r2, len, SEED, ps, "pin + PROTECT");
	/* The pinning process exits. */
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	CHECK(fcntl(pfd[1], F_SETPIPE_SZ, (int)(2 * len)) >= (int)len);
	pid = spawn(pin_and_exit, &pfd[1]);
	CHECKF(wait_status(pid) == 0, "pinning child failed");
	close(pfd[1]);
	pipe_holds(pfd[0], len, SEED, 0, "pin + exit");
	workers_check("pins");
	io_uring_pins();
}

/* UNMAP of the upper granule while pinned, then the mapping back. */
static void step_pin_unmap(void)
{
	struct mshare_unmap mu = { .region_offset = SZ - GRANULE, .size = GRANULE };
	size_t off = SZ - GRANULE, len = 64 * 1024;
	int r;

	r = pin_into_pipe(win + off, len);
	CHECKF(ioctl(fd, MSHAREFS_UNMAP, &mu) == 0, "UNMAP while pinned: %s", strerror(errno));
	pipe_holds(r, len, SEED, off - HALF, "pin + UNMAP");
	CHECKF(probe_read(win + off) == SIGSEGV, "the unmapped range still reads");
	granule_back(off);
	fill_pattern(win + HALF, HALF, SEED);
}

static atomic_int race_stop;
static atomic_long race_splices, race_faults;

static void *race_gup(void *arg)
{
	int pfd[2];
	char sink[16384];

	(void)arg;
	cpu_pin(0);
	CHECK(pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0);
	while (!atomic_load(&race_stop)) {
		struct iovec iov = { .iov_base = win + HALF, .iov_len = 16384 };
		struct timespec ts = { 0, 1000 };
		uint32_t *f = (uint32_t *)(win + HALF + 3 * ps);

		if (vmsplice(pfd[1], &iov, 1, 0) > 0) {
			atomic_fetch_add(&race_splices, 1);
			while (read(pfd[0], sink, sizeof(sink)) > 0)
				;
		} else {
			atomic_fetch_add(&race_faults, 1);
		}
		/* A futex wait on the window: EAGAIN, ETIMEDOUT or EFAULT. */
		syscall(SYS_futex, f, FUTEX_WAIT, 0x12345678, &ts, NULL, 0);
	}
	close(pfd[0]);
	close(pfd[1]);
	return NULL;
}

/*
 * A child that, unless killed first, waits ms and then prints where every
 * thread of this process waits (kernel stacks, root only): the step hung
 * on 6.1 and 6.12 with a clean kernel log (issue 13 note).
 */
static pid_t stack_watchdog(long ms)
{
	pid_t parent = getpid(), pid = fork();
	char cmd[200];

	CHECK(pid >= 0);
	if (pid)
		return pid;
	usleep((useconds_t)(ms * 1000));
	snprintf(cmd, sizeof(cmd),
		 "for t in /proc/%d/task/*; do echo \"== $t $(cat $t/comm) $(cat $t/wchan)\"; "
		 "cat $t/stack; done >&2", (int)parent);
	_exit(system(cmd) ? 1 : 0);
}

static void step_gupfast(void)
{
	struct mshare_protect mp = { .region_offset = HALF, .size = GRANULE };
	long t0 = now_ms(), rounds = 0;
	pthread_t th;

	pid_t dog = stack_watchdog(wait_ms(30000));

	atomic_store(&race_stop, 0);
	CHECK(pthread_create(&th, NULL, race_gup, NULL) == 0);
	cpu_pin(cpus_online() > 1 ? 1 : 0);
	while (now_ms() - t0 < 3000) {
		void *p;

		CHECK(madvise(win + HALF, GRANULE, MADV_DONTNEED) == 0);
		mp.prot = PROT_READ;
		CHECK(ioctl(fd, MSHAREFS_PROTECT, &mp) == 0);
		mp.prot = RW;
		CHECK(ioctl(fd, MSHAREFS_PROTECT, &mp) == 0);
		CHECK(munmap(win, SZ) == 0);
		p = mmap(win, SZ, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
		CHECKF(p == win, "mmap back at %p: %p (%s)", (void *)win, p, strerror(errno));
		rounds++;
	}
	atomic_store(&race_stop, 1);
	CHECK(pthread_join(th, NULL) == 0);
	kill(dog, SIGKILL);
	waitpid(dog, NULL, 0);
	printf("note: gupfast: %ld rounds of DONTNEED/PROTECT/munmap against %ld vmsplices "
	       "(%ld failed) and futex waits\n", rounds, atomic_load(&race_splices),
	       atomic_load(&race_faults));
	CHECK(verify_pattern(win + HALF, HALF, SEED) < 0);
}

/* The PFN pagemap gives for @addr in this process (as root), 0 if none. */
static uint64_t pfn_of(const void *addr)
{
	uint64_t e = 0;
	int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	CHECK(pfd >= 0);
	CHECK(pread(pfd, &e, 8, (off_t)((uintptr_t)addr / ps * 8)) == 8);
	close(pfd);
	return (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
}

static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t f = 0;
	int kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	CHECK(kfd >= 0);
	CHECK(pread(kfd, &f, 8, (off_t)(pfn * 8)) == 8);
	close(kfd);
	return f;
}

static void step_hwpoison(void)
{
	char *soft = win + HALF + 5 * ps;	/* a page the reader checks */
	char *poison = win + 3 * ps;		/* a page the writer writes */
	uint64_t pfn_soft, pfn_poison, pfn;
	char *fresh;
	int r, e;

	workers_start(false);
	CHECK(probe_read(soft) == 0 && probe_read(poison) == 0);
	pfn_soft = pfn_of(soft);
	pfn_poison = pfn_of(poison);
	CHECKF(pfn_soft && pfn_poison, "pagemap: no PFN for the window's pages");

	/* Every kernel the suite boots has CONFIG_MEMORY_FAILURE. */
	r = madvise(soft, ps, MADV_SOFT_OFFLINE);
	e = errno;
	printf("note: hwpoison: MADV_SOFT_OFFLINE of a region page: %s\n",
	       r ? strerrorname_np(e) : "0");
	CHECKF(r && e == EBUSY,
	       "MADV_SOFT_OFFLINE of a region page: %s, want EBUSY", r ? strerror(e) : "0");
	CHECK(probe_read(soft) == 0);
	pfn = pfn_of(soft);
	CHECKF(pfn == pfn_soft, "soft offline moved the page: PFN %#llx -> %#llx",
	       (unsigned long long)pfn_soft, (unsigned long long)pfn);

	r = madvise(poison, ps, MADV_HWPOISON);
	e = errno;
	printf("note: hwpoison: MADV_HWPOISON of a region page: %s\n",
	       r ? strerrorname_np(e) : "0");
	CHECKF(r && e == EBUSY, "MADV_HWPOISON of a region page: %s, want EBUSY",
	       r ? strerror(e) : "0");
	CHECKF(kpageflags(pfn_poison) & (1ULL << KPF_HWPOISON),
	       "the page at PFN %#llx is not marked HWPOISON", (unsigned long long)pfn_poison);
	/* Still the region's page, in this window and in a fresh one. */
	CHECK(probe_read(poison) == 0);
	pfn = pfn_of(poison);
	CHECKF(pfn == pfn_poison, "after MADV_HWPOISON: PFN %#llx -> %#llx in this window",
	       (unsigned long long)pfn_poison, (unsigned long long)pfn);
	fresh = attach_by_name(NAME, SZ, RW);
	CHECK(fresh != NULL);
	CHECK(probe_read(fresh + (poison - win)) == 0);
	pfn = pfn_of(fresh + (poison - win));
	CHECKF(pfn == pfn_poison, "after MADV_HWPOISON: PFN %#llx in a fresh window, %#llx before",
	       (unsigned long long)pfn, (unsigned long long)pfn_poison);
	CHECK(munmap(fresh, SZ) == 0);
	sleep_ms(200);	/* the writer writes the poisoned page meanwhile */
	workers_check("hwpoison");
}

/* Nodes in /sys/devices/system/node/online ("0", "0-1", "0,2-3"). */
static int nodes_online(void)
{
	const char *s = proc_read("/sys/devices/system/node/online");
	int n = 0;

	while (s && *s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += (int)(b - a + 1);
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

#define NUMA_PAGES	8

static char numa_saved[16];

/* The node of each page (move_pages query): a node, or a negative errno. */
static void nodes_of(void **pages, int n, int *status)
{
	CHECKF(syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0) == 0,
	       "move_pages (query): %s", strerror(errno));
}

static void step_numa(void)
{
	const char *want = getenv("MSHARE_NUMA_NODES");
	int nodes = nodes_online(), before[NUMA_PAGES], after[NUMA_PAGES];
	int st[NUMA_PAGES], to[NUMA_PAGES], cst[NUMA_PAGES], cto[NUMA_PAGES];
	void *pages[NUMA_PAGES], *ctl_pages[NUMA_PAGES];
	uint64_t pfn[NUMA_PAGES];
	unsigned long mask;
	long hint0, migr0, r;
	char *control, *fresh;
	const char *old;
	int moved = 0;

	if (want)
		CHECKF(nodes >= atoi(want), "MSHARE_NUMA_NODES=%s, but %d node(s) online", want,
		       nodes);
	if (nodes < 2) {
		printf("note: numa: one node here; the two-node boot (live-numa-*) migrates\n");
		return;
	}
	workers_start(false);
	control = mmap(NULL, NUMA_PAGES * ps, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(control != MAP_FAILED);
	for (int i = 0; i < NUMA_PAGES; i++) {
		control[i * ps] = 1;
		ctl_pages[i] = control + i * ps;
		/* Pages of both halves: the writer's and the reader's. */
		pages[i] = win + (size_t)i * (SZ / NUMA_PAGES) + 5 * ps;
		CHECK(probe_read(pages[i]) == 0);
		pfn[i] = pfn_of(pages[i]);
	}

	/* The control moves: migration between the nodes works here. */
	nodes_of(ctl_pages, NUMA_PAGES, cst);
	for (int i = 0; i < NUMA_PAGES; i++)
		cto[i] = cst[i] == 0 ? 1 : 0;
	CHECKF(syscall(SYS_move_pages, 0, NUMA_PAGES, ctl_pages, cto, cst, 1 << 1) == 0,
	       "move_pages of the control: %s", strerror(errno));
	for (int i = 0; i < NUMA_PAGES; i++)
		CHECKF(cst[i] == cto[i], "control page %d: status %d, want node %d", i, cst[i],
		       cto[i]);

	/* Region pages do not. */
	nodes_of(pages, NUMA_PAGES, before);
	for (int i = 0; i < NUMA_PAGES; i++) {
		CHECKF(before[i] >= 0, "region page %d: no node (%d)", i, before[i]);
		to[i] = before[i] == 0 ? 1 : 0;
	}
	r = syscall(SYS_move_pages, 0, NUMA_PAGES, pages, to, st, 1 << 1);
	printf("note: numa: move_pages of region pages to the other node: %s, status %d %d %d %d\n",
	       r < 0 ? strerrorname_np(errno) : "0", st[0], st[1], st[NUMA_PAGES - 2],
	       st[NUMA_PAGES - 1]);
	mask = (1UL << 0) | (1UL << 1);
	r = syscall(SYS_migrate_pages, 0, 64, &mask, &(unsigned long){ 1UL << to[0] });
	printf("note: numa: migrate_pages (nodes 0,1 -> %d): %ld%s%s\n", to[0], r,
	       r < 0 ? " " : "", r < 0 ? strerrorname_np(errno) : "");
	mask = 1UL << to[0];
	r = syscall(SYS_mbind, win, SZ, 2 /* MPOL_BIND */, &mask, 64, 1 << 1 /* MPOL_MF_MOVE */);
	printf("note: numa: mbind(MPOL_BIND node %d, MPOL_MF_MOVE) of the window: %s\n", to[0],
	       r ? strerrorname_np(errno) : "0");
	CHECK(syscall(SYS_mbind, win, SZ, 0 /* MPOL_DEFAULT */, NULL, 0, 0) == 0);

	/* NUMA balancing, the writer on CPU 0 and the reader on CPU 1. */
	old = proc_read("/proc/sys/kernel/numa_balancing");
	hint0 = vmstat_num("numa_hint_faults");
	migr0 = vmstat_num("numa_pages_migrated");
	if (old) {
		snprintf(numa_saved, sizeof(numa_saved), "%s", old);
		CHECK(proc_write("/proc/sys/kernel/numa_balancing", "1") == 0);
		sleep_ms(3000);
		/* Off while the pages are looked at: a scan parks our links. */
		CHECK(proc_write("/proc/sys/kernel/numa_balancing", "0") == 0);
		printf("note: numa: numa_balancing=1 for 3 s: numa_hint_faults +%ld, numa_pages_migrated +%ld\n",
		       vmstat_num("numa_hint_faults") - hint0, vmstat_num("numa_pages_migrated") - migr0);
	}

	/* Relink what a scan parked: move_pages and pagemap see mapped pages only. */
	for (int i = 0; i < NUMA_PAGES; i++)
		CHECK(probe_read(pages[i]) == 0);
	nodes_of(pages, NUMA_PAGES, after);
	fresh = attach_by_name(NAME, SZ, RW);
	CHECK(fresh != NULL);
	for (int i = 0; i < NUMA_PAGES; i++) {
		char *f = fresh + ((char *)pages[i] - win);

		CHECKF(after[i] == before[i], "region page %d moved: node %d -> %d", i, before[i],
		       after[i]);
		CHECKF(pfn_of(pages[i]) == pfn[i], "region page %d: PFN changed", i);
		CHECK(probe_read(f) == 0);
		CHECKF(pfn_of(f) == pfn[i], "region page %d: another PFN in a fresh window", i);
		moved += cst[i] == cto[i];
	}
	CHECK(munmap(fresh, SZ) == 0);
	CHECK(munmap(control, NUMA_PAGES * ps) == 0);
	if (old)
		proc_write("/proc/sys/kernel/numa_balancing", numa_saved);
	printf("note: numa: %d nodes; %d control pages moved, 0 of %d region pages (nodes %d..%d)\n",
	       nodes, moved, NUMA_PAGES, before[0], before[NUMA_PAGES - 1]);
	workers_check("numa");
}

/* Each step's start on stderr (a test killed by its watchdog shows where). */
#define STEP(fn) do {							\
	fprintf(stderr, "%s at %ld ms\n", #fn, now_ms() - t_start);	\
	fn();								\
} while (0)

int main(void)
{
	long t_start = now_ms();

	live_init("live-coremm");
	ps = (size_t)page_size();
	ctl = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ctl != MAP_FAILED);
	fd = raw_create(NAME, SZ);
	win = raw_attach(fd, SZ, RW);
	fill_pattern(win + HALF, HALF, SEED);

	STEP(step_compact);
	STEP(step_reclaim);
	STEP(step_ksm);
	STEP(step_uffd);
	STEP(step_thp);
	STEP(step_pins);
	STEP(step_pin_unmap);
	STEP(step_numa);
	STEP(step_gupfast);
	STEP(step_hwpoison);

	CHECK(munmap(win, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath(NAME)) == 0);
	live_done();
}

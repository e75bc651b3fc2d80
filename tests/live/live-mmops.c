// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-mmops: the core mm never zaps, edits or frees a shared table through
 * one process.  Three observers hold the region with every table linked
 * (a fork child RW, an exec'd library attacher RW, a fork child with an
 * O_RDONLY fd); the test process, one more attacher, then does to its own
 * window(s), one at a time:
 *   munmap (whole, of a covering range, MAP_FIXED over it), mremap (all
 *   refused forms), madvise DONTNEED (whole, part), COLD, PAGEOUT, WILLNEED,
 *   POPULATE_READ, POPULATE_WRITE, DONTFORK + fork, DOFORK + fork (refused
 *   on 7.x: the window is attached again instead), HUGEPAGE,
 *   NOHUGEPAGE, COLLAPSE, DONTDUMP/DODUMP, RANDOM/SEQUENTIAL/NORMAL,
 *   MERGEABLE/UNMERGEABLE, FREE, REMOVE, WIPEONFORK, mlock/munlock (whole,
 *   part), mlockall(MCL_CURRENT|MCL_FUTURE) (+ a new window populated by
 *   it), mlockall(MCL_ONFAULT), munlockall, msync, mincore, clear_refs
 *   1/4/5 (young bits, soft-dirty, hiwater), mbind, move_pages,
 *   migrate_pages, pkey_mprotect, process_madvise COLD/PAGEOUT
 *   from outside on an observer, and NUMA balancing (numa_balancing=1 while
 *   the test spins on its window; with one node, hinting faults are all the
 *   kernel can do; the two-node boot, live-numa-*, migrates as well).
 * After each: every observer re-reads the whole window with no fault at
 * all (its links are untouched; a zapped shared table would even make it
 * spin on faults forever), the test re-reads its window (re-faulting where
 * the operation unlinked it), and writes are seen both ways.  NUMA
 * balancing, on by default with two nodes, is off outside its own step:
 * its scans of an observer's mm park that observer's links (msharefs.7),
 * which costs it a fault per granule, and would be taken for another
 * process's operation.
 */
#include "agent.h"

#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(8 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define RW		(PROT_READ | PROT_WRITE)
#define NOBS		3

static struct agent obs[NOBS];	/* 0: fork RW, 1: exec RW lib, 2: fork O_RDONLY */
static int fd;
static char *w;			/* the test's RW window */
static char *wr;		/* the test's PROT_READ window */
static uint64_t seed = 1;
static size_t ps;
static char numa_saved[32];

static void observers_intact(const char *what, int line)
{
	for (int i = 0; i < NOBS; i++) {
		const char *r = AGENT(&obs[i], "verify %llu", (unsigned long long)seed);
		long f = reply_num(r, 0);

		CHECKF(f == 0, "after %s (line %d): observer %s took %ld faults re-reading its "
		       "window: another process's operation unlinked or zapped its tables",
		       what, line, obs[i].name, f);
	}
}

static void self_verify(char *win, const char *what, int line)
{
	long f0 = fault_count(), off, f;

	CHECKF((off = verify_pattern(win, SZ, seed)) == -1,
	       "after %s (line %d): the test's window %p differs at %ld", what, line,
	       (void *)win, off);
	f = fault_count() - f0;
	CHECKF(f <= NCH + 8, "after %s (line %d): %ld faults re-reading the test's window",
	       what, line, f);
}

/* After an operation: data intact everywhere, writes seen both ways. */
static void after(const char *what, int line)
{
	long f;

	observers_intact(what, line);
	if (w)
		self_verify(w, what, line);
	if (wr)
		self_verify(wr, what, line);
	if (w) {
		seed++;
		fill_pattern(w, SZ, seed);
		observers_intact(what, line);
	}
	seed++;
	f = reply_num(AGENT(&obs[seed & 1], "fill %llu", (unsigned long long)seed), 0);
	CHECKF(f == 0, "after %s (line %d): observer %s took %ld faults writing", what, line,
	       obs[seed & 1].name, f);
	observers_intact(what, line);
	if (w)
		self_verify(w, what, line);
	if (wr)
		self_verify(wr, what, line);
	klog_mark("done: %s", what);
}

#define AFTER(what) after(what, __LINE__)
#define OP(call, what) do { klog_mark("op: %s", what); CHECK((call) == 0); AFTER(what); } while (0)
#define OP_ERR(call, err, what) do { klog_mark("op: %s", what); EXPECT_ERRNO(call, err); AFTER(what); } while (0)
/* an operation whose result does not matter, only what it leaves behind */
#define OP_ANY(call, what) do {						\
	klog_mark("op: %s", what);					\
	errno = 0;							\
	long _r = (long)(call);						\
	fprintf(stderr, "  %s -> %ld (%s)\n", what, _r, _r == -1 ? live_errname(errno) : "ok"); \
	AFTER(what);							\
} while (0)

/*
 * Whether madvise(MADV_DOFORK) refuses a window: 7.x refuses it on every
 * VM_SPECIAL VMA (VM_DONTEXPAND is one), as all kernels refuse MADV_DODUMP;
 * 6.x refused it on VM_IO ones only (mm/madvise.c).
 */
static bool dofork_refused(void)
{
	struct utsname u;

	CHECK(uname(&u) == 0);
	return atoi(u.release) >= 7;
}

static int forked_sees_nothing(void *arg)
{
	(void)arg;
	return probe_read(w) == SIGSEGV && probe_read(w + SZ - 1) == SIGSEGV ? 0 : 1;
}

static int forked_sees_all(void *arg)
{
	long f0 = fault_count();

	(void)arg;
	if (verify_pattern(w, SZ, seed) != -1)
		return 1;
	if (fault_count() - f0 > NCH + 8)
		return 2;
	fill_pattern(w, SZ, seed + 1000);
	return 0;
}

static void restore_numa(void)
{
	if (numa_saved[0])
		proc_write("/proc/sys/kernel/numa_balancing", numa_saved);
}

/* NUMA balancing off until numa_balancing(), back as it was at exit. */
static void numa_off(void)
{
	const char *old = proc_read("/proc/sys/kernel/numa_balancing");

	if (!old)
		return;
	snprintf(numa_saved, sizeof(numa_saved), "%s", old);
	live_atexit(restore_numa);
	CHECKF(proc_write("/proc/sys/kernel/numa_balancing", "0") == 0,
	       "disable numa_balancing");
}

static void numa_balancing(void)
{
	const char *old = proc_read("/proc/sys/kernel/numa_balancing");
	long f0, upd0, hint0, end, passes = 0;

	if (!old) {
		fprintf(stderr, "  no /proc/sys/kernel/numa_balancing: NUMA balancing not built in\n");
		return;
	}
	klog_mark("op: numa_balancing=1");
	CHECKF(proc_write("/proc/sys/kernel/numa_balancing", "1") == 0, "enable numa_balancing");
	upd0 = vmstat_num("numa_pte_updates");
	hint0 = vmstat_num("numa_hint_faults");
	f0 = fault_count();
	/* NUMA scanning starts after ~1 s of CPU time of the task */
	end = now_ms() + 3000;
	while (now_ms() < end) {
		CHECK(verify_pattern(w, SZ, seed) == -1);
		w[(size_t)passes * ps % SZ] ^= 0;
		passes++;
	}
	fprintf(stderr, "  numa_balancing=1 for 3 s: %ld passes, %ld faults, numa_pte_updates +%ld, "
		"numa_hint_faults +%ld\n", passes, fault_count() - f0,
		vmstat_num("numa_pte_updates") - upd0, vmstat_num("numa_hint_faults") - hint0);
	CHECK(proc_write("/proc/sys/kernel/numa_balancing", "0") == 0);
	AFTER("numa_balancing=1");
}

static void clear_refs(const char *v)
{
	char what[64];

	snprintf(what, sizeof(what), "echo %s > /proc/self/clear_refs", v);
	OP(proc_write("/proc/self/clear_refs", v), what);
}

static void remote_madvise(int advice, const char *what)
{
	int pidfd = (int)syscall(SYS_pidfd_open, obs[0].pid, 0);
	struct iovec iov = { .iov_base = obs[0].addr, .iov_len = SZ };
	long r;

	CHECK(pidfd >= 0);
	klog_mark("op: %s", what);
	r = syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
	CHECKF(r == (long)SZ, "%s returned %ld", what, r);
	close(pidfd);
	/* the target itself may re-fault (its own operation); the others may not */
	CHECK(reply_num(AGENT(&obs[0], "verify %llu", (unsigned long long)seed), 0) <= NCH + 8);
	AFTER(what);
}

int main(void)
{
	char *res, *w2;
	unsigned char vec[SZ / 4096];
	pid_t pid;
	int st;

	live_init("live-mmops");
	ps = (size_t)page_size();
	numa_off();
	fd = raw_create("mmops", SZ);
	agent_fork(&obs[0], "O1(fork,rw)");
	agent_exec(&obs[1], "O2(exec,rw,lib)");
	agent_fork(&obs[2], "O3(fork,O_RDONLY)");
	AGENT(&obs[0], "open mmops rw");
	AGENT(&obs[0], "attach rw");
	AGENT(&obs[1], "lopen mmops rw");
	AGENT(&obs[1], "attach rw lib");
	AGENT(&obs[2], "open mmops ro");
	AGENT(&obs[2], "attach r");
	AGENT(&obs[0], "fill %llu", (unsigned long long)seed);
	for (int i = 0; i < NOBS; i++)
		AGENT(&obs[i], "touch r");
	w = raw_attach(fd, SZ, RW);
	wr = raw_attach(fd, SZ, PROT_READ);
	AFTER("setup");

	/* ---- munmap and friends ---- */
	klog_mark("op: munmap");
	CHECK(munmap(w, SZ) == 0);
	w = NULL;
	AFTER("munmap of the test's window");
	w = raw_attach(fd, SZ, RW);
	AFTER("re-attach");
	res = reserve_aligned(SZ + 2 * GRANULE);
	CHECK(munmap(w, SZ) == 0);
	w = mmap(res + GRANULE, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(w == res + GRANULE);
	AFTER("attach between reservations");
	klog_mark("op: munmap of a range covering the window");
	CHECK(munmap(res, SZ + 2 * GRANULE) == 0);
	w = NULL;
	AFTER("munmap of a range covering the window");
	w = raw_attach(fd, SZ, RW);
	AFTER("re-attach");
	klog_mark("op: MAP_FIXED anonymous over the window");
	res = mmap(w, SZ, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(res == w);
	memset(res, 0x77, SZ);
	CHECK(munmap(res, SZ) == 0);
	w = NULL;
	AFTER("MAP_FIXED anonymous over the window");
	w = raw_attach(fd, SZ, RW);
	AFTER("re-attach");
	klog_mark("op: MAP_FIXED window over the window");
	w2 = mmap(w, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(w2 == w);
	AFTER("MAP_FIXED window over the window");

	/* ---- mremap: refused, the window and everyone else intact ---- */
	OP_ERR(mremap(w, SZ, SZ / 2, 0), EINVAL, "mremap shrink");
	res = reserve_aligned(SZ);
	OP_ERR(mremap(w, SZ, SZ, MREMAP_MAYMOVE | MREMAP_FIXED, res), EINVAL, "mremap move");
	OP_ERR(mremap(w, SZ, SZ, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), EINVAL,
	       "mremap dontunmap");
	CHECK(munmap(res, SZ) == 0);
	OP_ERR(mremap(w, SZ, SZ + GRANULE, MREMAP_MAYMOVE), EFAULT, "mremap grow");
	OP_ERR(mremap(wr, SZ, SZ / 2, MREMAP_MAYMOVE), EINVAL, "mremap shrink of the RO window");

	/* ---- madvise ---- */
	OP(madvise(w, SZ, MADV_DONTNEED), "MADV_DONTNEED whole");
	OP(madvise(w + GRANULE + 5 * ps, 3 * ps, MADV_DONTNEED), "MADV_DONTNEED part");
	OP(madvise(wr, SZ, MADV_DONTNEED), "MADV_DONTNEED RO window");
	OP(madvise(w, SZ, MADV_COLD), "MADV_COLD");
	OP(madvise(wr, SZ, MADV_COLD), "MADV_COLD RO window");
	OP(madvise(w, SZ, MADV_PAGEOUT), "MADV_PAGEOUT");
	OP(madvise(wr + GRANULE, GRANULE, MADV_PAGEOUT), "MADV_PAGEOUT RO window chunk");
	OP(madvise(w, SZ, MADV_WILLNEED), "MADV_WILLNEED");
	OP(madvise(w, SZ, MADV_DONTNEED), "MADV_DONTNEED before POPULATE_READ");
	OP(madvise(w, SZ, MADV_POPULATE_READ), "MADV_POPULATE_READ");
	{
		long f0;

		CHECK(madvise(w, SZ, MADV_DONTNEED) == 0);
		CHECK(madvise(w, SZ, MADV_POPULATE_WRITE) == 0);
		CHECK(madvise(wr, SZ, MADV_DONTNEED) == 0);
		CHECK(madvise(wr, SZ, MADV_POPULATE_READ) == 0);
		f0 = fault_count();
		CHECK(verify_pattern(w, SZ, seed) == -1 && verify_pattern(wr, SZ, seed) == -1);
		CHECKF(fault_count() - f0 == 0, "%ld faults after MADV_POPULATE_*: not linked",
		       fault_count() - f0);
		AFTER("MADV_POPULATE_WRITE");
	}
	klog_mark("op: MADV_POPULATE_WRITE on the RO window");
	errno = 0;
	CHECKF(madvise(wr, SZ, MADV_POPULATE_WRITE) == -1 && (errno == EINVAL || errno == EFAULT),
	       "MADV_POPULATE_WRITE of a read-only window: want EINVAL/EFAULT");
	AFTER("MADV_POPULATE_WRITE on the RO window");
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0) {
		OP(madvise(w, SZ, MADV_HUGEPAGE), "MADV_HUGEPAGE");
		OP(madvise(w, SZ, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
	} else {
		/* no THP (PREEMPT_RT kernels): the core refuses these on any VMA */
		fprintf(stderr, "  no /sys/kernel/mm/transparent_hugepage: MADV_HUGEPAGE/NOHUGEPAGE must be EINVAL\n");
		OP_ERR(madvise(w, SZ, MADV_HUGEPAGE), EINVAL, "MADV_HUGEPAGE without THP");
		OP_ERR(madvise(w, SZ, MADV_NOHUGEPAGE), EINVAL, "MADV_NOHUGEPAGE without THP");
	}
	OP_ANY(madvise(w, SZ, MADV_COLLAPSE), "MADV_COLLAPSE");
	OP(madvise(w, SZ, MADV_DONTDUMP), "MADV_DONTDUMP");
	/* VM_DONTEXPAND is in VM_SPECIAL: the core refuses DODUMP on a window */
	OP_ERR(madvise(w, SZ, MADV_DODUMP), EINVAL, "MADV_DODUMP");
	OP(madvise(w, SZ, MADV_RANDOM), "MADV_RANDOM");
	OP(madvise(w, SZ, MADV_SEQUENTIAL), "MADV_SEQUENTIAL");
	OP(madvise(w, SZ, MADV_NORMAL), "MADV_NORMAL");
	OP_ANY(madvise(w, SZ, MADV_MERGEABLE), "MADV_MERGEABLE");
	OP_ANY(madvise(w, SZ, MADV_UNMERGEABLE), "MADV_UNMERGEABLE");
	OP_ERR(madvise(w, SZ, MADV_FREE), EINVAL, "MADV_FREE");
	OP_ERR(madvise(w, SZ, MADV_WIPEONFORK), EINVAL, "MADV_WIPEONFORK");
	klog_mark("op: MADV_REMOVE");
	CHECKF(madvise(w + GRANULE, GRANULE, MADV_REMOVE) == -1,
	       "MADV_REMOVE (hole punch) succeeded on a region");
	AFTER("MADV_REMOVE");

	/* ---- DONTFORK / DOFORK ---- */
	OP_ERR(madvise(w, GRANULE, MADV_DONTFORK), EINVAL, "MADV_DONTFORK of a part");
	OP(madvise(w, SZ, MADV_DONTFORK), "MADV_DONTFORK");
	st = run_child(forked_sees_nothing, NULL);
	CHECKF(st == 0, "after MADV_DONTFORK a fork child still has the window (status %d)", st);
	AFTER("fork after MADV_DONTFORK");
	if (dofork_refused()) {
		/* the window stays DONTCOPY: attach it again to undo that */
		OP_ERR(madvise(w, SZ, MADV_DOFORK), EINVAL, "MADV_DOFORK (7.x: VM_SPECIAL)");
		st = run_child(forked_sees_nothing, NULL);
		CHECKF(st == 0, "after a refused MADV_DOFORK a fork child has the window (status %d)", st);
		CHECK(munmap(w, SZ) == 0);
		w = raw_attach(fd, SZ, RW);
		fill_pattern(w, SZ, seed + 1000);	/* what the child writes below */
	} else {
		OP(madvise(w, SZ, MADV_DOFORK), "MADV_DOFORK");
		st = run_child(forked_sees_all, NULL);
		CHECKF(st == 0, "fork child after MADV_DOFORK: status %d", st);
	}
	seed += 1000;
	AFTER("fork after MADV_DOFORK");

	/* ---- mlock ---- */
	OP(mlock(w, SZ), "mlock");
	OP(munlock(w, SZ), "munlock");
	OP_ANY(mlock(w + GRANULE, GRANULE), "mlock of a part");
	OP_ANY(munlock(w, SZ), "munlock after mlock of a part");
	OP(mlock(wr, SZ), "mlock RO window");
	OP(munlock(wr, SZ), "munlock RO window");
	OP(mlockall(MCL_CURRENT | MCL_FUTURE), "mlockall(MCL_CURRENT|MCL_FUTURE)");
	{
		/* a window attached now is populated (linked) by mmap itself */
		char *w3 = raw_attach(fd, SZ, RW);
		long f0 = fault_count();

		CHECK(verify_pattern(w3, SZ, seed) == -1);
		CHECKF(fault_count() - f0 == 0, "%ld faults in a window mapped under MCL_FUTURE",
		       fault_count() - f0);
		CHECK(munmap(w3, SZ) == 0);
		AFTER("attach under MCL_FUTURE");
	}
	OP(munlockall(), "munlockall");
	OP(mlockall(MCL_CURRENT | MCL_ONFAULT), "mlockall(MCL_CURRENT|MCL_ONFAULT)");
	OP(munlockall(), "munlockall");

	/* ---- msync, mincore ---- */
	OP(msync(w, SZ, MS_SYNC), "msync MS_SYNC");
	OP(msync(w, SZ, MS_ASYNC | MS_INVALIDATE), "msync MS_INVALIDATE");
	OP(mincore(w, SZ, vec), "mincore");

	/* ---- /proc/self/clear_refs: young bits, soft-dirty, hiwater ---- */
	clear_refs("1");
	clear_refs("4");
	clear_refs("5");

	/* ---- NUMA policy and page migration calls (one node: nothing moves) ---- */
	{
		unsigned long node0 = 1;
		void *pages[4] = { w, w + GRANULE, w + 2 * GRANULE + ps, w + SZ - ps };
		int nodes[4] = { 0, 0, 0, 0 }, status[4] = { -1, -1, -1, -1 };

		OP_ANY(syscall(SYS_mbind, w, SZ, 2 /* MPOL_BIND */, &node0, 64,
			       (1 << 1) /* MPOL_MF_MOVE */), "mbind(MPOL_BIND, MPOL_MF_MOVE)");
		OP_ANY(syscall(SYS_mbind, w, SZ, 0 /* MPOL_DEFAULT */, NULL, 0, 0),
		       "mbind(MPOL_DEFAULT)");
		OP_ANY(syscall(SYS_move_pages, 0, 4, pages, NULL, status, 0), "move_pages (query)");
		fprintf(stderr, "  move_pages status: %d %d %d %d\n", status[0], status[1], status[2],
			status[3]);
		OP_ANY(syscall(SYS_move_pages, 0, 4, pages, nodes, status, 1 << 1),
		       "move_pages to node 0");
		OP_ANY(syscall(SYS_migrate_pages, 0, 64, &node0, &node0), "migrate_pages");
		OP_ERR(syscall(SYS_pkey_mprotect, w, SZ, PROT_READ, 0), EINVAL, "pkey_mprotect");
	}

	/* ---- process_madvise from outside, on an observer ---- */
	remote_madvise(MADV_COLD, "process_madvise(MADV_COLD) on O1");
	remote_madvise(MADV_PAGEOUT, "process_madvise(MADV_PAGEOUT) on O1");

	/* ---- NUMA balancing ---- */
	numa_balancing();

	/* ---- fork + exec from the test (the child had the window) ---- */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		(void)*(volatile char *)w;
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0);
	AFTER("fork + exec");

	for (int i = 0; i < NOBS; i++)
		agent_stop(&obs[i]);
	CHECK(munmap(w, SZ) == 0);
	CHECK(munmap(wr, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("mmops")) == 0);
	live_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress tests (live-stress-*): helpers shared by the storms, and the
 * storms themselves, so that live-stress-accounting can run small versions
 * of each and check the books after every one.
 *
 * Every storm is bounded in operations and in time: it stops when its
 * deadline passes and then counts as failed.  Processes of a storm share
 * a control block (MAP_SHARED | MAP_ANONYMOUS) with the abort flag, the
 * counters and the barriers; a failing process prints why on stderr, bumps
 * the failure count and raises the abort flag so that everyone stops soon.
 */
#ifndef STRESS_H
#define STRESS_H

#include "common.h"

#include <stdatomic.h>
#include <stdint.h>

/* ---- shared control ---- */

/* Zeroed MAP_SHARED | MAP_ANONYMOUS memory, inherited by children. */
void *shared_alloc(size_t len);
void shared_free(void *p, size_t len);

struct stress_ctl {
	_Atomic int abort;		/* stop everything */
	_Atomic long failures;		/* failures seen by any process */
	_Atomic int printed;		/* failure messages printed so far */
	long deadline;			/* now_ms() value after which we give up */
};

/*
 * Report a failure: print (the first 20 only) on stderr, count it, raise
 * abort.  Never exits.
 */
void sfail(struct stress_ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Failures reported by this process (fork children start from their parent's). */
extern int sfail_local;

/* Whether the storm should stop: abort raised or deadline passed. */
bool stopping(struct stress_ctl *ctl);
bool past_deadline(const struct stress_ctl *ctl);

/*
 * Barrier for n participants (threads of several processes) in shared
 * memory: futex based.  Returns 0, or -1 if abort was raised or the
 * deadline passed while waiting (the caller then stops).
 */
struct sbar {
	_Atomic uint32_t count;
	_Atomic uint32_t gen;
	uint32_t n;
};
void sbar_init(struct sbar *b, unsigned int n);
int sbar_wait(struct sbar *b, struct stress_ctl *ctl);

/* ---- misc ---- */

/* xorshift64*; seed with rng_seed(unique). */
uint64_t rng_next(uint64_t *s);
uint64_t rng_seed(uint64_t unique);
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* In a fresh child: die with SIGKILL if the parent dies (no stragglers). */
void child_setup(void);

/* Pin the calling thread to CPU (i % online CPUs). */
void pin_cpu(int i);
int ncpus(void);

/*
 * $MSHARE_SLOWDOWN (1 if unset): how many times slower than a Debian
 * kernel the booted kernel runs the storms (run-vm.sh sets it from
 * tests/vm/kernels.sh slowdown: the debug kernel, KASAN + lockdep +
 * kmemleak in TCG).  stress_scaled(n) is n divided by it, at least 1: the
 * operation counts of the storms, so that they fit the same deadlines.
 */
int stress_slowdown(void);
int stress_scaled(int n);
/*
 * A storm's time budget for this run: ms times MSHARE_SPEED / 100, how
 * much slower than expected the harness measured the VM just before the
 * test (a busy host; tests/vm/init.sh measure_speed).  Not times the
 * kernel's slowdown: the operation counts are divided by that instead.
 */
long stress_budget(long ms);

/* A well mixed 64-bit hash of a few values. */
uint64_t mix64(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* waitpid() with a deadline (ms, now_ms() scale); 0 = no deadline.
 * Returns the pid, 0 if the deadline passed, -1 on error. */
pid_t wait_any_until(pid_t pid, int *status, long deadline);
/* Status as in wait_status(): exit code, or 128 + signal. */
int decode_status(int st);

/* ---- accounting ---- */

struct acct {
	long pagetables_kb;		/* /proc/meminfo PageTables */
	long memfree_kb;		/* /proc/meminfo MemFree */
	long slab_kb;			/* /proc/meminfo Slab (for the record) */
	long mlocked_kb;		/* /proc/meminfo Mlocked */
	long pcp_kb;			/* free pages on per-cpu lists (zoneinfo) */
	long free_kb;			/* memfree_kb + pcp_kb: what is checked */
	char meminfo[4096];		/* all of it, to explain a difference */
	long used_pages;		/* statfs(MNT) f_blocks - f_bfree */
};

/* Fold the per-cpu vm counters (/proc/sys/vm/stat_refresh), then read. */
void acct_read(struct acct *a);
long pagetables_kb(void);
/*
 * PageTables once the page tables freed so far are off it: 7.x runs the
 * page-table destructor, which uncounts a table, only after an RCU grace
 * period (6.x at once).  Waits for grace periods (membarrier) until three
 * readings 50 ms apart agree, at most 3 s.
 */
long pagetables_settled_kb(void);

/*
 * After a storm (every process gone, every region unlinked), wait up to
 * ~5 s for the books to balance:
 *   - PageTables at most pt_tol_kb above base (and at most 1 MiB below:
 *     an earlier test's tables freed meanwhile);
 *   - Mlocked not above base;
 *   - the mount's used pages equal to base;
 *   - free memory (MemFree plus the free pages on the per-cpu lists, which
 *     MemFree does not count and which swing by tens of MiB) at most
 *     free_tol_kb below base (after dropping caches; more is fine).
 * Prints one line with the numbers on stderr; returns the number of
 * failures (0 = books balanced).
 */
int acct_check(const char *label, const struct acct *base,
	       long pt_tol_kb, long free_tol_kb, struct acct *out);

/*
 * The one-line summary of a storm: stdout, and the kernel log (so that it
 * lands in the VM's console.log even when the test passes).
 */
void summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the storms ---- */

struct fault_params {
	int procs;		/* processes */
	int threads;		/* threads per process */
	int regions;		/* fresh regions, one after the other */
	int chunks;		/* 2 MiB chunks per region */
	long budget_ms;		/* deadline */
	bool verbose;
};
struct fault_result {
	long ops;		/* chunk rounds completed (each: every thread faults) */
	long ops_planned;
	long faults;		/* thread-touches of fresh chunks (all 4 windows) */
	long failures;
	long ms;
	long pt_delta_kb;	/* PageTables growth over chunks 1..n-1 */
	long pt_expect_kb;	/* 4 KiB * 4 sets * those chunks */
};
int stress_fault(const struct fault_params *p, struct fault_result *r);

struct storm_params {
	int procs;		/* workers */
	int ops;		/* operations per worker */
	int slots;		/* region names at once (2-4) */
	long budget_ms;
	bool verbose;
};
struct storm_result {
	long ops, ops_planned, failures, ms;
	long attaches, detaches, touches, writes, forks, kills, procmem, execs;
	long recreates, respawns, skipped;
};
int stress_storm(const struct storm_params *p, struct storm_result *r);

struct mrace_params {
	int rounds;		/* processes P, one after the other */
	long round_ms;		/* how long each P's threads run */
	int helpers;		/* other processes holding the region */
	long budget_ms;
	bool verbose;
};
struct mrace_result {
	long touches, zaps, remaps, reads, misc, helper_ops, failures, ms;
	long ops;
};
int stress_mrace(const struct mrace_params *p, struct mrace_result *r);

#endif /* STRESS_H */

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stress-accounting: after each storm (fault storm, attach/detach/
 * fork/exit storm, munmap race, SIGKILL-while-faulting storm), with every
 * process gone and every region unlinked, /proc/meminfo PageTables is back
 * at its baseline (at most 64 KiB above), Mlocked too (the munmap race
 * mlocks windows), the mount's used pages exactly, and
 * free memory (MemFree + the free pages on the per-cpu lists, which
 * MemFree leaves out and which swing by tens of MiB) at most 8 MiB below
 * it (slab caches grow a little).  Four cycles of the four storms, so
 * that anything that accumulates from one cycle to the next shows; no
 * storm starts after 80 s (that fails the test).
 */
#include "stress.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * After each storm the books are read with the pool drained (acct_read()):
 * PageTables may stay above the baseline by tables of processes still
 * being torn down (64 KiB = 16 pages); the tables of one leaked region
 * of the fault storm are 4 chunks x 4 sets = 64 KiB more, so a leak fails
 * the check within two cycles.  Free memory moves by per-CPU lists and
 * slab caches (8 MiB); one leaked region of it is 8 MiB of pages.
 */
#define PT_TOL_KB	64
#define FREE_TOL_KB	(8 * 1024)
#define CYCLES		4
#define KILL_PROCS	16
#define BUDGET_MS	80000	/* no storm starts after this */
#define KILL_SIZE	(32 * MIB)

static struct acct base;
static int nchecks;
static long fails, fault_rounds, storm_ops, storm_planned, race_rounds, race_ops, killed;

static void books(const char *label)
{
	struct acct a;

	fails += acct_check(label, &base, PT_TOL_KB, FREE_TOL_KB, &a);
	nchecks++;
}

/*
 * Processes attach (RW or RO) and fault every chunk over and over (each
 * pass zaps the window first, so that every access faults again), and get
 * SIGKILLed a few milliseconds apart, while the region is already
 * unlinked: the last one to die frees it.
 */
static long kill_storm(int rounds)
{
	long ops = 0;

	for (int r = 0; r < rounds; r++) {
		int fd = raw_create("stress-acct-kill", KILL_SIZE);
		pid_t pids[KILL_PROCS];

		for (int i = 0; i < KILL_PROCS; i++) {
			pids[i] = fork();
			CHECK(pids[i] >= 0);
			if (pids[i] == 0) {
				int prot = i & 1 ? PROT_READ : PROT_READ | PROT_WRITE;
				char *w = mmap(NULL, KILL_SIZE, prot, MAP_SHARED, fd, 0);

				child_setup();
				pin_cpu(i);
				if (w == MAP_FAILED)
					_exit(1);
				for (unsigned int n = 0;; n++) {
					madvise(w, KILL_SIZE, MADV_DONTNEED);
					for (size_t c = 0; c < KILL_SIZE / GRANULE; c++) {
						volatile char *p = w + c * GRANULE + (n % 512) * 4096;

						if (prot & PROT_WRITE)
							*p = (char)n;
						else
							(void)*p;
					}
				}
			}
		}
		close(fd);
		CHECK(unlink(mpath("stress-acct-kill")) == 0);	/* the children hold it */
		usleep(100000);
		for (int i = 0; i < KILL_PROCS; i++) {
			usleep((useconds_t)((i * 7919) % 4000));
			kill(pids[i], SIGKILL);
		}
		for (int i = 0; i < KILL_PROCS; i++) {
			int st;

			CHECK(waitpid(pids[i], &st, 0) == pids[i]);
			CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			       "kill storm child status %#x", st);
			ops++;
		}
	}
	return ops;
}

/* Past the time budget: count a failure, say what did not run. */
static bool over_budget(long start, int cycle, const char *next)
{
	if (now_ms() - start <= stress_budget(BUDGET_MS))
		return false;
	fprintf(stderr, "%s: FAIL: %ld s budget spent before cycle %d's %s\n",
		live_name, stress_budget(BUDGET_MS) / 1000, cycle, next);
	fails++;
	return true;
}

int main(void)
{
	long start;
	int cycles = 0;
	/* On a slow kernel (MSHARE_SLOWDOWN) fewer cycles, but at least two. */
	int ncycles = stress_scaled(CYCLES) < 2 ? 2 : stress_scaled(CYCLES);

	live_init("live-stress-accounting");
	acct_read(&base);
	start = now_ms();
	fprintf(stderr, "baseline: PageTables %ld kB, MemFree %ld kB + per-cpu free lists %ld kB, mount used pages %ld\n",
	        base.pagetables_kb, base.memfree_kb, base.pcp_kb, base.used_pages);
	for (int cycle = 0; cycle < ncycles; cycle++) {
		struct fault_params fp = {
			.procs = 8, .threads = 2, .regions = stress_scaled(4), .chunks = 4,
			.budget_ms = stress_budget(15000),
		};
		struct storm_params sp = {
			.procs = 24, .ops = stress_scaled(120), .slots = 3, .budget_ms = stress_budget(15000),
		};
		struct mrace_params mp = {
			.rounds = stress_scaled(3), .round_ms = 1500, .helpers = 2, .budget_ms = stress_budget(15000),
		};
		struct fault_result fr;
		struct storm_result sr;
		struct mrace_result mr;
		char label[64];
		long k, t;

		if (over_budget(start, cycle, "fault storm"))
			break;
		stress_fault(&fp, &fr);
		fails += fr.failures;
		fault_rounds += fr.ops;
		fprintf(stderr, "cycle %d fault storm: %ld/%ld chunk rounds, failures %ld, %.1f s\n",
		        cycle, fr.ops, fr.ops_planned, fr.failures, (double)fr.ms / 1000);
		snprintf(label, sizeof(label), "cycle %d after the fault storm", cycle);
		books(label);

		if (over_budget(start, cycle, "attach/fork/exit storm"))
			break;
		stress_storm(&sp, &sr);
		fails += sr.failures;
		storm_ops += sr.ops;
		storm_planned += sr.ops_planned;
		fprintf(stderr, "cycle %d attach/fork/exit storm: %ld/%ld ops, failures %ld, %.1f s\n",
		        cycle, sr.ops, sr.ops_planned, sr.failures, (double)sr.ms / 1000);
		snprintf(label, sizeof(label), "cycle %d after the attach/fork/exit storm", cycle);
		books(label);

		if (over_budget(start, cycle, "munmap race"))
			break;
		stress_mrace(&mp, &mr);
		fails += mr.failures;
		race_rounds += mr.ops;
		race_ops += mr.touches + mr.zaps + mr.remaps + mr.reads + mr.misc + mr.helper_ops;
		fprintf(stderr, "cycle %d munmap race: %ld/%d rounds, failures %ld, %.1f s\n",
		        cycle, mr.ops, mp.rounds, mr.failures, (double)mr.ms / 1000);
		snprintf(label, sizeof(label), "cycle %d after the munmap race", cycle);
		books(label);

		if (over_budget(start, cycle, "kill storm"))
			break;
		t = now_ms();
		k = kill_storm(2);
		killed += k;
		fprintf(stderr, "cycle %d kill storm: %ld processes SIGKILLed while faulting, %.1f s\n",
		        cycle, k, (double)(now_ms() - t) / 1000);
		snprintf(label, sizeof(label), "cycle %d after the kill storm", cycle);
		books(label);
		cycles++;
	}
	{
		struct acct a;

		acct_read(&a);
		summary("live-stress-accounting: %d/%d cycles x 4 storms (fault: %ld chunk rounds; "
			"attach/fork/exit: %ld/%ld ops; munmap race: %ld rounds, %ld ops; "
			"kill: %ld processes), %d checks of the books, failures %ld, %.1f s; "
			"PageTables before %ld kB after %ld kB (tolerance +%d), MemFree+per-cpu free before %ld kB after %ld kB "
			"(tolerance -%d), used pages %ld -> %ld",
			cycles, ncycles, fault_rounds, storm_ops, storm_planned, race_rounds, race_ops,
			killed, nchecks, fails, (double)(now_ms() - start) / 1000, base.pagetables_kb,
			a.pagetables_kb, PT_TOL_KB, base.free_kb, a.free_kb, FREE_TOL_KB,
			base.used_pages, a.used_pages);
	}
	CHECKF(fails == 0 && cycles == ncycles, "%ld failures, %d of %d cycles (see above)",
	       fails, cycles, ncycles);
	live_done();
}

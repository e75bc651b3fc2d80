// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stress-munmap-race: threads of one process fault a window, zap
 * random ranges of it with MADV_DONTNEED, munmap + re-mmap a second
 * window at a fixed address while another thread reads it, and run other
 * mm operations (mlock, MADV_COLD/PAGEOUT/POPULATE, clear_refs, ...) on
 * a third, on both CPUs, while two other processes use
 * the region; then that process's mm exits (exit, SIGKILL, exit_group from
 * a thread) while the others hold the region; data always correct, books
 * balanced at the end.  See mrace.c.
 */
#include "stress.h"


int main(void)
{
	struct mrace_params p = {
		.rounds = stress_scaled(6), .round_ms = 11000, .helpers = 2, .budget_ms = stress_budget(85000),
		.verbose = true,
	};
	struct mrace_result r;
	struct acct base, after;
	long fails;

	live_init("live-stress-munmap-race");
	acct_read(&base);
	stress_mrace(&p, &r);
	fails = r.failures;
	fails += acct_check("live-stress-munmap-race", &base, 64, 8192, &after);
	summary("live-stress-munmap-race: %ld/%d rounds of %.1f s (%d CPUs, %d helpers), "
		"failures %ld, %.1f s; chunk touches %ld, MADV_DONTNEED %ld, munmap/re-mmap %ld, "
		"reads racing the remaps %ld, other mm ops %ld, helper ops %ld; PageTables before %ld kB after %ld kB, used pages %ld -> %ld",
		r.ops, p.rounds, (double)p.round_ms / 1000, ncpus(), p.helpers, fails,
		(double)r.ms / 1000, r.touches, r.zaps, r.remaps, r.reads, r.misc, r.helper_ops,
		base.pagetables_kb, after.pagetables_kb, base.used_pages, after.used_pages);
	CHECKF(fails == 0 && r.ops == p.rounds, "%ld failures, %ld of %d rounds (see above)",
	       fails, r.ops, p.rounds);
	live_done();
}

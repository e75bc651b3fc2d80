// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stress-fault: 16 processes x 2 threads fault the same fresh 2 MiB
 * chunk at once, 320 times (40 fresh regions x 8 chunks), through four
 * windows each (RW, RO, RX, RWX: the four table sets); every process reads
 * the same data, no write is lost, one table per chunk per table set
 * (PageTables +16 KiB per chunk), st_blocks +4096 per chunk; then the
 * books balance.
 * See fault.c.
 */
#include "stress.h"


int main(void)
{
	struct fault_params p = {
		.procs = 16, .threads = 2, .regions = stress_scaled(40), .chunks = 8,
		.budget_ms = stress_budget(80000), .verbose = false,
	};
	struct fault_result r;
	struct acct base, after;
	long fails;

	live_init("live-stress-fault");
	acct_read(&base);
	stress_fault(&p, &r);
	fails = r.failures;
	fails += acct_check("live-stress-fault", &base, 64, 8192, &after);
	if (r.pt_delta_kb < r.pt_expect_kb - 64) {
		fprintf(stderr, "live-stress-fault: PageTables grew by %ld kB over all chunks, want %ld kB (one table per chunk and set) less at most 64 kB of other processes' frees\n",
			r.pt_delta_kb, r.pt_expect_kb);
		fails++;
	}
	summary("live-stress-fault: %ld/%ld chunk rounds (%d procs x %d threads, %d CPUs, "
		"%d regions x %d chunks, 4 table sets), %ld thread-touches, failures %ld, %.1f s, "
		"PageTables +%ld kB over the %ld non-first chunks (want %ld), "
		"PageTables before %ld kB after %ld kB, used pages %ld -> %ld",
		r.ops, r.ops_planned, p.procs, p.threads, ncpus(), p.regions, p.chunks,
		r.faults, fails, (double)r.ms / 1000, r.pt_delta_kb,
		(long)p.regions * (p.chunks - 1), r.pt_expect_kb,
		base.pagetables_kb, after.pagetables_kb, base.used_pages, after.used_pages);
	CHECKF(fails == 0 && r.ops == r.ops_planned, "%ld failures, %ld of %ld operations (see above)",
	       fails, r.ops, r.ops_planned);
	live_done();
}

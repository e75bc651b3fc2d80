// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stress-storm: attach/detach/fork/exit storm, 64 processes x 1,000
 * random operations on 3 region names (8-32 MiB, recreated now and then),
 * data verified after every step; then the books balance.  See storm.c.
 */
#include "stress.h"


int main(void)
{
	struct storm_params p = {
		.procs = 64, .ops = stress_scaled(1000), .slots = 3, .budget_ms = stress_budget(82000),
		.verbose = true,
	};
	struct storm_result r;
	struct acct base, after;
	long fails;

	live_init("live-stress-storm");
	acct_read(&base);
	stress_storm(&p, &r);
	fails = r.failures;
	fails += acct_check("live-stress-storm", &base, 64, 8192, &after);
	summary("live-stress-storm: %ld/%ld ops (%d procs x %d ops, %d region names, %d CPUs), "
		"failures %ld, %.1f s; attach %ld detach %ld touch %ld write %ld fork %ld "
		"(SIGKILLed %ld, /proc/PID/mem %ld, exec %ld) recreate %ld exit+respawn %ld skipped %ld; "
		"PageTables before %ld kB after %ld kB, used pages %ld -> %ld",
		r.ops, r.ops_planned, p.procs, p.ops, p.slots, ncpus(), fails,
		(double)r.ms / 1000, r.attaches, r.detaches, r.touches, r.writes,
		r.forks, r.kills, r.procmem, r.execs, r.recreates, r.respawns, r.skipped,
		base.pagetables_kb, after.pagetables_kb, base.used_pages, after.used_pages);
	CHECKF(fails == 0 && r.ops == r.ops_planned, "%ld failures, %ld of %ld operations (see above)",
	       fails, r.ops, r.ops_planned);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-forkshare: fork children inherit the attachment and link the same
 * tables.  With a 64 MiB (32-chunk) window:
 * - a fork child touching the inherited window takes <= 32 + 8 faults, its
 *   VmPTE grows by <= 16 KiB and PageTables does not grow by 32 tables
 *   (fork did not copy them, the child links the region's);
 * - four children touching at once: the same, once each;
 * - writes are seen both ways without faults;
 * - the test detaches: the child keeps reading (no fault) and writing;
 *   a grandchild forked then links the tables too;
 * - a grandchild whose parent and grandparent both detach or exit keeps
 *   the region's data and is seen by a later attacher;
 * - a window the parent never touched: the child builds the tables, the
 *   parent links them later (no second set of tables).
 * PageTables here is always net of the module's pool (pt_unpooled_kib()).
 */
#include "agent.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(64 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define FAULT_MAX	(NCH + 8)
#define VMPTE_MAX	16
/*
 * PT_SLACK: what else may move PageTables (net of the pool) while one
 * attacher touches its window: the attacher's own PMD (and maybe PUD) page
 * for the window, a table or two of its own for stack or heap, and a
 * table another process frees late (RCU).  24 KiB is 6 such pages; the
 * failure it must catch, a set of tables built again, is 32 tables (128
 * KiB), more than five times the slack.
 */
#define PT_SLACK	24	/* KiB */
#define RW		(PROT_READ | PROT_WRITE)

static char *w;
static int fd;

static void child_touch(struct agent *c, const char *what)
{
	long pt0 = pt_unpooled_quiet_kib(), pt, f, v;
	const char *r = AGENT(c, "touch r");

	pt = pt_unpooled_kib() - pt0;
	f = reply_num(r, 0);
	v = reply_num(r, 1);
	fprintf(stderr, "  %s: %ld faults, VmPTE +%ld KiB, PageTables +%ld KiB\n", what, f, v, pt);
	CHECKF(f >= 1 && f <= FAULT_MAX, "%s: %ld faults (want 1..%ld)", what, f, FAULT_MAX);
	CHECKF(v <= VMPTE_MAX, "%s: VmPTE grew by %ld KiB: private tables", what, v);
	CHECKF(pt <= PT_SLACK, "%s: PageTables grew by %ld KiB: tables not shared", what, pt);
}

static void no_fault_verify(struct agent *c, uint64_t seed)
{
	long f = reply_num(AGENT(c, "verify %llu", (unsigned long long)seed), 0);

	CHECKF(f == 0, "%s: %ld faults re-reading a linked window", c->name, f);
}

/* ---- grandchild outliving its parent and grandparent's windows ---- */

struct ctl {
	_Atomic int stage;
	_Atomic long result;
};

static int orphan_grandchild(struct ctl *x)
{
	long end = now_ms() + wait_ms(20000), f0;

	for (size_t o = 0; o < SZ; o += 4096)
		(void)((volatile char *)w)[o];
	atomic_store(&x->stage, 1);		/* linked */
	while (atomic_load(&x->stage) != 2)	/* parent exited, test detached */
		if (now_ms() > end)
			return 3;
	/* break copy-on-write of our own stack first: count only window faults */
	(void)verify_pattern(w, 4096, 40);
	f0 = fault_count();
	f0 = fault_count();
	if (verify_pattern(w, SZ, 40) != -1)
		return 4;
	fill_pattern(w, SZ, 41);
	atomic_store(&x->result, fault_count() - f0);
	return 0;
}

static int middle_child(void *arg)
{
	struct ctl *x = arg;
	pid_t g = fork();

	if (g < 0)
		return 2;
	if (g == 0)
		_exit(orphan_grandchild(x));
	while (atomic_load(&x->stage) != 1)
		usleep(1000);
	return munmap(w, SZ) ? 5 : 0;	/* then exit: the grandchild is orphaned */
}

int main(void)
{
	struct agent c, many[4];
	struct ctl *x;
	const char *r;
	long pt0, pt, f0;
	pid_t g;
	int st;

	live_init("live-forkshare");
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	fd = raw_create("forkshare", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 1);		/* the test builds and links the tables */

	/* ---- a fork child links the same tables ---- */
	agent_fork(&c, "child");
	AGENT(&c, "adopt %lx %lu", (unsigned long)w, SZ);
	child_touch(&c, "fork child");
	no_fault_verify(&c, 1);
	fill_pattern(w, SZ, 2);
	no_fault_verify(&c, 2);
	CHECK(reply_num(AGENT(&c, "fill 3"), 0) == 0);
	f0 = fault_count();
	CHECK(verify_pattern(w, SZ, 3) == -1);
	CHECKF(fault_count() == f0, "the test faulted after the child's writes");

	/* ---- four children at once ---- */
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "child%d", i);
		agent_fork(&many[i], name);
		AGENT(&many[i], "adopt %lx %lu", (unsigned long)w, SZ);
	}
	pt0 = pt_unpooled_quiet_kib();
	for (int i = 0; i < 4; i++)
		CHECK(write(many[i].to, "touch r\n", 8) == 8);
	for (int i = 0; i < 4; i++) {
		char line[128];
		int n = 0;

		while (n < (int)sizeof(line) - 1 && read(many[i].from, line + n, 1) == 1 &&
		       line[n] != '\n')
			n++;
		line[n] = 0;
		CHECKF(!strncmp(line, "ok", 2) && reply_num(line + 3, 0) <= FAULT_MAX &&
		       reply_num(line + 3, 1) <= VMPTE_MAX, "%s: touch: %s", many[i].name, line);
	}
	pt = pt_unpooled_kib() - pt0;
	fprintf(stderr, "  4 children touching at once: PageTables +%ld KiB\n", pt);
	CHECKF(pt <= 4 * 12, "4 children grew PageTables by %ld KiB", pt);
	for (int i = 0; i < 4; i++) {
		no_fault_verify(&many[i], 3);
		agent_stop(&many[i]);
	}

	/* ---- the test detaches: the child keeps everything ---- */
	CHECK(munmap(w, SZ) == 0);
	no_fault_verify(&c, 3);
	CHECK(reply_num(AGENT(&c, "fill 4"), 0) == 0);
	no_fault_verify(&c, 4);
	/* a grandchild (the child's fork) links the tables too */
	pt0 = pt_unpooled_quiet_kib();
	r = AGENT(&c, "forkcheck 4 5");
	pt = pt_unpooled_kib() - pt0;
	fprintf(stderr, "  grandchild: %s, PageTables +%ld KiB\n", r, pt);
	CHECKF(reply_num(r, 0) >= 1 && reply_num(r, 0) <= FAULT_MAX, "grandchild: %s", r);
	CHECKF(reply_num(r, 1) <= VMPTE_MAX, "grandchild VmPTE: %s", r);
	/* verifying a linked window again: no fault, every page mapped */
	CHECKF(reply_num(r, 2) == 0 && reply_num(r, 3) == 0 && reply_num(r, 4) == 0,
	       "grandchild (faults touching, VmPTE, faults verifying, status, pages not "
	       "present): %s", r);
	no_fault_verify(&c, 5);
	agent_stop(&c);

	/* the data is the region's: a new attacher sees it */
	w = raw_attach(fd, SZ, RW);
	CHECK(verify_pattern(w, SZ, 5) == -1);

	/* ---- a grandchild outlives its parent's and the test's windows ---- */
	fill_pattern(w, SZ, 40);
	x = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(x != MAP_FAILED);
	st = run_child(middle_child, x);
	CHECKF(st == 0, "middle child status %d", st);
	CHECK(munmap(w, SZ) == 0);
	atomic_store(&x->stage, 2);
	g = wait(&st);	/* the orphan, reparented to us (subreaper) */
	CHECK(g > 0 && WIFEXITED(st));
	CHECKF(WEXITSTATUS(st) == 0, "orphaned grandchild status %d", WEXITSTATUS(st));
	/* (a lost link would cost 32 faults; allow 2 for its own copy-on-write) */
	CHECKF(atomic_load(&x->result) <= 2, "orphaned grandchild took %ld faults re-reading",
	       atomic_load(&x->result));
	w = raw_attach(fd, SZ, PROT_READ);
	CHECK(verify_pattern(w, SZ, 41) == -1);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("forkshare")) == 0);

	/* ---- the parent never touched it: the child builds, the parent links ---- */
	fd = raw_create("forkshare2", SZ);
	w = raw_attach(fd, SZ, RW);
	agent_fork(&c, "child(untouched parent)");
	AGENT(&c, "adopt %lx %lu", (unsigned long)w, SZ);
	pt0 = pt_unpooled_quiet_kib();
	r = AGENT(&c, "fill 50");
	pt = pt_unpooled_kib() - pt0;
	CHECKF(pt >= NCH * 4 && pt <= NCH * 4 + PT_SLACK,
	       "the child building the tables: PageTables +%ld KiB (want %ld..%ld)", pt,
	       NCH * 4, NCH * 4 + PT_SLACK);
	pt0 = pt_unpooled_quiet_kib();
	f0 = fault_count();
	CHECK(verify_pattern(w, SZ, 50) == -1);
	f0 = fault_count() - f0;
	pt = pt_unpooled_kib() - pt0;
	fprintf(stderr, "  parent after the child built the tables: %ld faults, PageTables +%ld KiB\n",
		f0, pt);
	CHECKF(f0 >= 1 && f0 <= FAULT_MAX, "parent: %ld faults", f0);
	CHECKF(pt <= PT_SLACK, "parent linking the child's tables: PageTables +%ld KiB", pt);
	agent_stop(&c);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("forkshare2")) == 0);
	munmap(x, 4096);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-share: attachers of a region share its page tables.
 *
 * A 64 MiB region (32 chunks) attached by forked and separately exec'd
 * processes (raw mmap and the library), and twice by the test itself:
 * - the first attacher that touches every page builds the 32 tables:
 *   /proc/meminfo PageTables grows by 32 * 4 KiB (plus at most a few of
 *   the process's own upper-level tables), statfs used pages by 32 * 512;
 * - every attacher touching every page takes about one fault per chunk
 *   (<= 32 + 8) and its VmPTE grows by <= 16 KiB (a PMD page, not 32 PTE
 *   tables), and PageTables does not grow by another 128 KiB: the tables
 *   are counted once, whatever the number of attachers;
 * - once linked, reading or writing the whole window takes no fault;
 * - everyone sees everyone's writes.
 * PageTables here is always net of the module's pool (pt_unpooled_kib()):
 * tables that earlier tests' regions left pooled are reused first and would
 * otherwise hide the first attacher's tables.
 */
#include "agent.h"

#include <fcntl.h>
#include <libmshare.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ		(64 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define FAULT_MAX	(NCH + 8)
#define VMPTE_MAX	16	/* KiB: one PMD page (+ PUD), never 32 PTE tables */
/*
 * PT_SLACK: what else may move PageTables (net of the pool) while one
 * attacher touches its window: the attacher's own PMD (and maybe PUD) page
 * for the window, a table or two of its own for stack or heap, and a
 * table another process frees late (RCU).  24 KiB is 6 such pages; the
 * failure it must catch, a set of tables built again, is 32 tables (128
 * KiB), more than five times the slack.
 */
#define PT_SLACK	24	/* KiB */
#define TABLES_KIB	(NCH * 4)
#define NMORE		6

/* An agent touches every page; check its faults, VmPTE and PageTables. */
static void touch_and_measure(struct agent *a, const char *how, bool first)
{
	long pt0 = pt_unpooled_quiet_kib(), pt1, faults, vmpte;
	const char *r = AGENT(a, "touch %s", how);

	pt1 = pt_unpooled_kib();
	faults = reply_num(r, 0);
	vmpte = reply_num(r, 1);
	fprintf(stderr, "  %s: touch %s: %ld faults, VmPTE +%ld KiB, PageTables %ld -> %ld KiB\n",
		a->name, how, faults, vmpte, pt0, pt1);
	CHECKF(faults >= 1 && faults <= FAULT_MAX,
	       "%s: %ld faults touching %ld chunks (want 1..%ld)", a->name, faults,
	       NCH, FAULT_MAX);
	CHECKF(vmpte >= 0 && vmpte <= VMPTE_MAX,
	       "%s: VmPTE grew by %ld KiB (private PTE tables? want <= %d)", a->name,
	       vmpte, VMPTE_MAX);
	if (first)
		CHECKF(pt1 - pt0 >= TABLES_KIB && pt1 - pt0 <= TABLES_KIB + PT_SLACK,
		       "%s (first attacher): PageTables grew by %ld KiB, want %ld..%ld",
		       a->name, pt1 - pt0, TABLES_KIB, TABLES_KIB + PT_SLACK);
	else
		CHECKF(pt1 - pt0 <= PT_SLACK,
		       "%s: PageTables grew by %ld KiB (tables not shared? want <= %d)",
		       a->name, pt1 - pt0, PT_SLACK);
}

static void verify_no_fault(struct agent *a, uint64_t seed)
{
	long f = reply_num(AGENT(a, "verify %llu", (unsigned long long)seed), 0);

	CHECKF(f == 0, "%s: %ld faults reading a linked window", a->name, f);
}

/* The test itself touches window w; same limits. */
static void self_touch(char *w, const char *what)
{
	long pt0 = pt_unpooled_quiet_kib(), v0 = status_kib(0, "VmPTE");
	long f0 = fault_count(), f, v, pt;
	size_t ps = (size_t)page_size();

	for (size_t o = 0; o < SZ; o += ps)
		((volatile char *)w)[o] = w[o];
	f = fault_count() - f0;
	v = status_kib(0, "VmPTE") - v0;
	pt = pt_unpooled_kib() - pt0;
	fprintf(stderr, "  self (%s): %ld faults, VmPTE +%ld KiB, PageTables +%ld KiB\n",
		what, f, v, pt);
	CHECKF(f >= 1 && f <= FAULT_MAX, "%s: %ld faults (want 1..%ld)", what, f, FAULT_MAX);
	CHECKF(v <= VMPTE_MAX, "%s: VmPTE grew by %ld KiB", what, v);
	CHECKF(pt <= PT_SLACK, "%s: PageTables grew by %ld KiB", what, pt);
	f0 = fault_count();
	for (size_t o = 0; o < SZ; o += ps)
		((volatile char *)w)[o] = w[o];
	f = fault_count() - f0;
	CHECKF(f == 0, "%s: %ld faults on a linked window", what, f);
}

int main(void)
{
	struct agent a, b, c, d, more[NMORE];
	long pt_base, used0, f0, ptx;
	char *w, *w2;
	struct stat st;
	int fd;

	live_init("live-share");
	used0 = used_pages(MNT);
	pt_base = pt_unpooled_quiet_kib();
	fd = raw_create("share", SZ);

	agent_fork(&a, "A(fork,mmap)");
	agent_fork(&b, "B(fork,mmap)");
	agent_exec(&c, "C(exec,lib)");
	agent_exec(&d, "D(exec,mmap)");
	AGENT(&a, "open share rw");
	AGENT(&a, "attach rw");
	AGENT(&b, "open share rw");
	AGENT(&b, "attach rw");
	AGENT(&c, "lopen share rw");
	AGENT(&c, "attach rw lib");
	AGENT(&d, "open share rw");
	AGENT(&d, "attach rw");
	CHECK(used_pages(MNT) == used0);

	/* ---- the first attacher builds the tables ---- */
	touch_and_measure(&a, "w", true);
	CHECKF(used_pages(MNT) == used0 + NCH * CHUNK_PAGES, "used %ld, want %ld",
	       used_pages(MNT), used0 + NCH * CHUNK_PAGES);
	CHECK(fstat(fd, &st) == 0 && st.st_blocks == (blkcnt_t)(SZ / 512));
	CHECKF(reply_num(AGENT(&a, "fill 1"), 0) == 0, "A: faults writing a linked window");
	verify_no_fault(&a, 1);

	/* ---- later attachers link them ---- */
	touch_and_measure(&b, "r", false);
	verify_no_fault(&b, 1);
	touch_and_measure(&c, "w", false);
	verify_no_fault(&c, 1);
	touch_and_measure(&d, "r", false);
	verify_no_fault(&d, 1);
	CHECK(used_pages(MNT) == used0 + NCH * CHUNK_PAGES);

	/* ---- the test itself, then a second window in the same mm ---- */
	w = raw_attach(fd, SZ, PROT_READ | PROT_WRITE);
	self_touch(w, "first window of the test");
	CHECK(verify_pattern(w, SZ, 1) == -1);
	w2 = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	CHECK(w2 != MAP_FAILED && w2 != w);
	self_touch(w2, "second window of the test");
	CHECK(verify_pattern(w2, SZ, 1) == -1);

	/* ---- writes are seen by everyone, without faults ---- */
	CHECK(reply_num(AGENT(&c, "fill 2"), 0) == 0);
	verify_no_fault(&a, 2);
	verify_no_fault(&b, 2);
	verify_no_fault(&d, 2);
	f0 = fault_count();
	CHECK(verify_pattern(w, SZ, 2) == -1 && verify_pattern(w2, SZ, 2) == -1);
	fill_pattern(w2, SZ, 3);
	CHECKF(fault_count() - f0 == 0, "%ld faults in linked windows", fault_count() - f0);
	verify_no_fault(&a, 3);
	verify_no_fault(&b, 3);
	verify_no_fault(&c, 3);
	verify_no_fault(&d, 3);
	w[12345] = 0x5a;
	CHECK(w2[12345] == 0x5a);
	AGENT(&a, "fill 4");
	CHECK(verify_pattern(w, SZ, 4) == -1);

	/* ---- more attachers: the tables are still counted once ---- */
	for (int i = 0; i < NMORE; i++) {
		char name[16];

		snprintf(name, sizeof(name), "M%d", i);
		if (i & 1)
			agent_exec(&more[i], name);
		else
			agent_fork(&more[i], name);
		AGENT(&more[i], "open share rw");
		AGENT(&more[i], "attach %s", (i % 3) ? "rw" : "rw lib");
	}
	ptx = pt_unpooled_quiet_kib();
	for (int i = 0; i < NMORE; i++) {
		const char *r = AGENT(&more[i], "touch %s", (i & 1) ? "r" : "w");

		CHECKF(reply_num(r, 0) <= FAULT_MAX && reply_num(r, 1) <= VMPTE_MAX,
		       "%s: touch: %s", more[i].name, r);
	}
	ptx = pt_unpooled_kib() - ptx;
	fprintf(stderr, "  %d more attachers: PageTables +%ld KiB\n", NMORE, ptx);
	CHECKF(ptx <= NMORE * 12L, "%d more attachers grew PageTables by %ld KiB (want <= %ld)",
	       NMORE, ptx, NMORE * 12L);
	for (int i = 0; i < NMORE; i++) {
		verify_no_fault(&more[i], 4);
		agent_stop(&more[i]);
	}
	CHECK(verify_pattern(w, SZ, 4) == -1);

	/* ---- everyone leaves; the tables go with the region ---- */
	agent_stop(&a);
	agent_stop(&b);
	CHECK(verify_pattern(w2, SZ, 4) == -1);
	AGENT(&c, "detach");
	agent_stop(&c);
	agent_stop(&d);
	CHECK(mdetach(w2) == 0);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("share")) == 0);
	CHECK(wait_used_pages(MNT, used0) == used0);
	{
		long end = now_ms() + wait_ms(2000), pt;

		while ((pt = pt_unpooled_kib()) > pt_base + 64 && now_ms() < end)
			usleep(20000);
		fprintf(stderr, "  PageTables at the end: %+ld KiB from the start\n", pt - pt_base);
		CHECKF(pt <= pt_base + 64, "PageTables %ld KiB above the start after the region is gone",
		       pt - pt_base);
	}
	live_done();
}

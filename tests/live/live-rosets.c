// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-rosets: table sets by protection.  A 64 MiB region (32 chunks):
 * - the writer (the test, RW) builds the writable set: PageTables +128 KiB;
 * - read-only attachers (O_RDONLY fd + PROT_READ, O_RDWR fd + PROT_READ,
 *   library O_RDONLY attach; forked and exec'd) share one read-only set:
 *   the first adds 128 KiB, the others nothing but their PMD page;
 * - PROT_READ|PROT_EXEC and PROT_READ|PROT_WRITE|PROT_EXEC windows get a
 *   set each, built once;
 * - readers see the writer's data without faults;
 * - a read-only attacher can never write, even while a writer thread
 *   writes the region: its own store (SIGSEGV), ptrace(PTRACE_POKEDATA),
 *   a write to /proc/PID/mem and process_vm_writev() into its window all
 *   fail and change nothing, while the read counterparts return the
 *   writer's data;
 * - the tables belong to the region: readers leaving frees nothing, the
 *   region going away frees all four sets.
 * PageTables here is always net of the module's pool (pt_unpooled_kib()):
 * tables that earlier tests' regions left pooled are reused first and would
 * otherwise hide a set being built.
 */
#include "agent.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
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
#define SET_KIB		(NCH * 4)
#define RW		(PROT_READ | PROT_WRITE)
#define NR		3

static char *w;
static int fd;
static _Atomic int writer_stop;
static _Atomic long writer_rounds;

/* pt grows by a set (first) or by almost nothing */
static void touch_measured(struct agent *a, bool first)
{
	long pt0 = pt_unpooled_quiet_kib(), pt, f, v;
	const char *r = AGENT(a, "touch r");

	pt = pt_unpooled_kib() - pt0;
	f = reply_num(r, 0);
	v = reply_num(r, 1);
	fprintf(stderr, "  %s: %ld faults, VmPTE +%ld KiB, PageTables +%ld KiB\n", a->name, f, v, pt);
	CHECKF(f >= 1 && f <= FAULT_MAX, "%s: %ld faults", a->name, f);
	CHECKF(v <= VMPTE_MAX, "%s: VmPTE +%ld KiB", a->name, v);
	if (first)
		CHECKF(pt >= SET_KIB && pt <= SET_KIB + PT_SLACK,
		       "%s, first of its set: PageTables +%ld KiB, want %ld..%ld", a->name, pt,
		       SET_KIB, SET_KIB + PT_SLACK);
	else
		CHECKF(pt <= PT_SLACK, "%s: PageTables +%ld KiB: its set was built again", a->name, pt);
}

static void sees(struct agent *a, uint64_t seed)
{
	long f = reply_num(AGENT(a, "verify %llu", (unsigned long long)seed), 0);

	CHECKF(f == 0, "%s: %ld faults reading the writer's data", a->name, f);
}

/* The writer thread: rewrites the region's first page over and over. */
static void *writer(void *arg)
{
	(void)arg;
	while (!atomic_load(&writer_stop)) {
		fill_pattern(w, 4096, 1000 + (uint64_t)(atomic_load(&writer_rounds) & 1));
		atomic_fetch_add(&writer_rounds, 1);
	}
	return NULL;
}

#define OFF	(3 * GRANULE + 5 * 4096 + 8)	/* where the readers try to write */

/* Every way of writing through reader a's window fails and changes nothing. */
static void cannot_write(struct agent *a)
{
	uint64_t before = *(uint64_t *)(w + OFF), v = 0xdeadbeefcafef00dULL, got = 0;
	uintptr_t addr = (uintptr_t)a->addr + OFF;
	struct iovec local = { &v, 8 }, remote = { (void *)addr, 8 };
	char path[64];
	long r;
	int st, mfd;

	/* its own store */
	CHECKF(!strcmp(AGENT(a, "probe w %lu", (unsigned long)OFF), "11"),
	       "%s: a store into its read-only window did not fault", a->name);
	CHECK(!strcmp(AGENT(a, "probe r %lu", (unsigned long)OFF), "0"));

	/* process_vm_writev / readv */
	errno = 0;
	r = process_vm_writev(a->pid, &local, 1, &remote, 1, 0);
	CHECKF(r == -1 && errno == EFAULT, "%s: process_vm_writev into a read-only window: "
	       "%ld (%s)", a->name, r, live_errname(errno));
	local.iov_base = &got;
	CHECK(process_vm_readv(a->pid, &local, 1, &remote, 1, 0) == 8);
	CHECK(got == before);

	/* /proc/PID/mem */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)a->pid);
	mfd = EXPECT_OK(open(path, O_RDWR));
	errno = 0;
	r = pwrite(mfd, &v, 8, (off_t)addr);
	CHECKF(r == -1 && (errno == EIO || errno == EFAULT), "%s: write to /proc/PID/mem of a "
	       "read-only window: %ld (%s)", a->name, r, live_errname(errno));
	got = 0;
	CHECK(pread(mfd, &got, 8, (off_t)addr) == 8 && got == before);
	close(mfd);

	/* ptrace */
	CHECK(ptrace(PTRACE_SEIZE, a->pid, 0, 0) == 0);
	CHECK(ptrace(PTRACE_INTERRUPT, a->pid, 0, 0) == 0);
	CHECK(waitpid(a->pid, &st, __WALL) == a->pid && WIFSTOPPED(st));
	errno = 0;
	r = ptrace(PTRACE_POKEDATA, a->pid, (void *)addr, (void *)v);
	CHECKF(r == -1 && (errno == EIO || errno == EFAULT), "%s: PTRACE_POKEDATA into a "
	       "read-only window: %ld (%s)", a->name, r, live_errname(errno));
	errno = 0;
	r = ptrace(PTRACE_PEEKDATA, a->pid, (void *)addr, 0);
	CHECKF(errno == 0 && (uint64_t)r == before, "%s: PTRACE_PEEKDATA: %#lx (%s)", a->name,
	       r, live_errname(errno));
	CHECK(ptrace(PTRACE_DETACH, a->pid, 0, 0) == 0);

	CHECKF(*(uint64_t *)(w + OFF) == before, "%s: the region changed at %#lx", a->name,
	       (unsigned long)OFF);
	CHECK(!strcmp(AGENT(a, "probe r %lu", (unsigned long)OFF), "0"));
}

int main(void)
{
	struct agent r[NR], x[2], xw[2];
	long pt0, pt, pt_all, rounds0;
	pthread_t th;
	char *wr;

	live_init("live-rosets");
	fd = raw_create("rosets", SZ);

	/* ---- the writable set ---- */
	pt0 = pt_unpooled_quiet_kib();
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 1);
	pt = pt_unpooled_kib() - pt0;
	fprintf(stderr, "  writer (the test): PageTables +%ld KiB\n", pt);
	CHECKF(pt >= SET_KIB && pt <= SET_KIB + PT_SLACK, "writer: PageTables +%ld KiB", pt);

	/* ---- read-only attachers: one set ---- */
	agent_fork(&r[0], "R1(fork,O_RDONLY)");
	AGENT(&r[0], "open rosets ro");
	AGENT(&r[0], "attach r");
	agent_exec(&r[1], "R2(exec,O_RDWR,PROT_READ)");
	AGENT(&r[1], "open rosets rw");
	AGENT(&r[1], "attach r");
	agent_exec(&r[2], "R3(exec,lib,O_RDONLY)");
	AGENT(&r[2], "lopen rosets ro");
	AGENT(&r[2], "attach r lib");
	for (int i = 0; i < NR; i++) {
		touch_measured(&r[i], i == 0);
		sees(&r[i], 1);
	}
	/* a read-only window of the test itself: the same set */
	pt0 = pt_unpooled_quiet_kib();
	wr = raw_attach(fd, SZ, PROT_READ);
	CHECK(verify_pattern(wr, SZ, 1) == -1);
	pt = pt_unpooled_kib() - pt0;
	CHECKF(pt <= PT_SLACK, "the test's read-only window: PageTables +%ld KiB", pt);

	/* ---- exec sets ---- */
	agent_fork(&x[0], "X1(fork,O_RDONLY,PROT_READ|PROT_EXEC)");
	AGENT(&x[0], "open rosets ro");
	AGENT(&x[0], "attach rx");
	agent_exec(&x[1], "X2(exec,PROT_READ|PROT_EXEC)");
	AGENT(&x[1], "open rosets rw");
	AGENT(&x[1], "attach rx");
	agent_fork(&xw[0], "XW1(fork,PROT_READ|PROT_WRITE|PROT_EXEC)");
	AGENT(&xw[0], "open rosets rw");
	AGENT(&xw[0], "attach rwx");
	agent_exec(&xw[1], "XW2(exec,lib,PROT_READ|PROT_WRITE|PROT_EXEC)");
	AGENT(&xw[1], "lopen rosets rw");
	AGENT(&xw[1], "attach rwx lib");
	for (int i = 0; i < 2; i++) {
		touch_measured(&x[i], i == 0);
		sees(&x[i], 1);
	}
	for (int i = 0; i < 2; i++) {
		touch_measured(&xw[i], i == 0);
		sees(&xw[i], 1);
	}
	pt_all = pt_unpooled_quiet_kib();

	/* ---- readers see the writers (two of them, two sets) ---- */
	fill_pattern(w, SZ, 2);
	for (int i = 0; i < NR; i++)
		sees(&r[i], 2);
	sees(&x[0], 2);
	sees(&x[1], 2);
	CHECK(reply_num(AGENT(&xw[0], "fill 3"), 0) == 0);
	for (int i = 0; i < NR; i++)
		sees(&r[i], 3);
	sees(&x[1], 3);
	sees(&xw[1], 3);
	CHECK(verify_pattern(w, SZ, 3) == -1 && verify_pattern(wr, SZ, 3) == -1);

	/* ---- a read-only attacher cannot write, while a writer writes ---- */
	rounds0 = atomic_load(&writer_rounds);
	CHECK(pthread_create(&th, NULL, writer, NULL) == 0);
	for (int i = 0; i < NR; i++)
		cannot_write(&r[i]);
	cannot_write(&x[0]);
	cannot_write(&x[1]);
	atomic_store(&writer_stop, 1);
	CHECK(pthread_join(th, NULL) == 0);
	CHECKF(atomic_load(&writer_rounds) > rounds0, "the writer thread did not run");
	fill_pattern(w, 4096, 3);
	for (int i = 0; i < NR; i++)
		sees(&r[i], 3);
	CHECK(probe_write(wr, 1) == SIGSEGV);
	CHECK(verify_pattern(wr, SZ, 3) == -1);

	/*
	 * ---- the tables are the region's: readers leaving frees none ----
	 * (PageTables also drops by the readers' own tables, so the proof is
	 * below: a new reader links the read-only set without building it, and
	 * all four sets are still there to be freed with the region.)
	 */
	for (int i = 0; i < NR; i++)
		agent_stop(&r[i]);
	for (int i = 0; i < 2; i++) {
		agent_stop(&x[i]);
		agent_stop(&xw[i]);
	}
	CHECK(munmap(wr, SZ) == 0);
	fprintf(stderr, "  all readers gone: PageTables -%ld KiB (their own tables)\n",
		pt_all - pt_unpooled_quiet_kib());
	/* a new reader links the surviving read-only set */
	agent_fork(&r[0], "R4(fork,O_RDONLY)");
	AGENT(&r[0], "open rosets ro");
	AGENT(&r[0], "attach r");
	touch_measured(&r[0], false);
	sees(&r[0], 3);
	agent_stop(&r[0]);

	/* ---- the region goes: four sets go with it ---- */
	pt0 = pt_unpooled_quiet_kib();
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("rosets")) == 0);
	pt = pt_unpooled_quiet_kib();
	fprintf(stderr, "  region gone: PageTables -%ld KiB\n", pt0 - pt);
	CHECKF(pt0 - pt >= 4 * SET_KIB && pt0 - pt <= 4 * SET_KIB + 64,
	       "the region going away freed %ld KiB of page tables, want 4 sets = %ld KiB",
	       pt0 - pt, 4 * SET_KIB);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-accounting: region tables live and die with the region, pages are
 * never freed while mapped.
 * - A 32 MiB region (16 chunks) linked by RW and read-only attachers
 *   (forked, exec'd, library) that then leave in every way (exit, SIGKILL,
 *   execve, detach + exit): with the region still a file nobody maps,
 *   /proc/meminfo PageTables is the baseline plus its two sets (2 x 64
 *   KiB); once it is unlinked, back to the baseline (within 32 KiB), and
 *   statfs used pages back to where they were.  (A region destroyed when
 *   its last holder exits leaves its tables in the module's pool until a
 *   process destroys a region: see live-tablepool.)
 * - A reader keeps its window while every other attacher leaves and the
 *   region is unlinked and closed: its data stays correct, with no fault,
 *   through two rounds of memory pressure that would reuse freed pages;
 *   it can still write; when it exits, pages and tables go.
 * - Pages of a window put in a pipe with vmsplice() stay valid after the
 *   region is gone (the pipe holds them), through memory pressure.
 * The harness fails the test on "Bad rss-counter", "Bad page" or
 * "BUG: non-zero pgtables_bytes" in the kernel log.
 */
#include "agent.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define SZ		(32 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define SET_KIB		(NCH * 4)
#define RW		(PROT_READ | PROT_WRITE)
#define PRESSURE	(384 * MIB)

/* PageTables settles to want +- slack within 3 s; returns the last value. */
static long pt_settles(long want, long slack)
{
	long end = now_ms() + wait_ms(3000), v;

	while ((v = meminfo_quiet_kib("PageTables")) > want + slack || v < want - slack) {
		if (now_ms() > end)
			break;
		usleep(100000);
	}
	return v;
}

/* Allocate and dirty a good part of free memory, so freed pages get reused. */
static int pressure(void *arg)
{
	size_t len = (size_t)meminfo_kib("MemAvailable") * 1024 / 2;
	char *p;

	(void)arg;
	if (len > PRESSURE)
		len = PRESSURE;
	p = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	memset(p, 0xa5, len);
	return 0;
}

int main(void)
{
	struct agent a[6], r;
	long used0, pt0, pt, f;
	int fd, st;

	live_init("live-accounting");
	used0 = used_pages(MNT);
	pt0 = meminfo_quiet_kib("PageTables");

	/* ---- two sets, six attachers, every way out ---- */
	fd = raw_create("acct", SZ);
	agent_fork(&a[0], "RW1(fork)");
	agent_fork(&a[1], "RW2(fork)");
	agent_exec(&a[2], "RW3(exec,lib)");
	agent_fork(&a[3], "RO1(fork,O_RDONLY)");
	agent_exec(&a[4], "RO2(exec,PROT_READ)");
	agent_exec(&a[5], "RW4(exec)");
	AGENT(&a[0], "open acct rw");
	AGENT(&a[1], "open acct rw");
	AGENT(&a[2], "lopen acct rw");
	AGENT(&a[3], "open acct ro");
	AGENT(&a[4], "open acct rw");
	AGENT(&a[5], "open acct rw");
	AGENT(&a[0], "attach rw");
	AGENT(&a[1], "attach rw");
	AGENT(&a[2], "attach rw lib");
	AGENT(&a[3], "attach r");
	AGENT(&a[4], "attach r");
	AGENT(&a[5], "attach rw");
	AGENT(&a[0], "fill 1");
	for (int i = 1; i < 6; i++)
		CHECK(reply_num(AGENT(&a[i], "verify 1"), 0) <= NCH + 8);
	CHECK(used_pages(MNT) == used0 + NCH * CHUNK_PAGES);

	agent_stop(&a[0]);				/* exit */
	CHECK(agent_kill(&a[1]) == 128 + SIGKILL);	/* SIGKILL */
	AGENT(&a[2], "detach");
	agent_stop(&a[2]);				/* mdetach + exit */
	CHECK(agent_kill(&a[3]) == 128 + SIGKILL);
	AGENT(&a[4], "exec /bin/true");			/* execve */
	CHECK(agent_wait(&a[4]) == 0);
	AGENT(&a[5], "forkexec /bin/true");
	agent_stop(&a[5]);
	close(fd);

	pt = pt_settles(pt0 + 2 * SET_KIB, 32);
	fprintf(stderr, "  region unmapped, still linked: PageTables %+ld KiB (two sets: %ld)\n",
		pt - pt0, 2 * SET_KIB);
	CHECKF(pt >= pt0 + 2 * SET_KIB - 32 && pt <= pt0 + 2 * SET_KIB + 32,
	       "nobody maps the region: PageTables %+ld KiB from the start, want its two "
	       "sets (%+ld)", pt - pt0, 2 * SET_KIB);
	CHECK(used_pages(MNT) == used0 + NCH * CHUNK_PAGES);
	CHECK(unlink(mpath("acct")) == 0);
	pt = pt_settles(pt0, 32);
	fprintf(stderr, "  region unlinked: PageTables %+ld KiB\n", pt - pt0);
	CHECKF(pt <= pt0 + 32 && pt >= pt0 - 32, "region gone: PageTables %+ld KiB from the start",
	       pt - pt0);
	CHECKF(wait_used_pages(MNT, used0) == used0, "region gone: used pages %ld, want %ld",
	       used_pages(MNT), used0);

	/* ---- a reader outlives everyone and the name ---- */
	fd = raw_create("keep", SZ);
	agent_exec(&r, "reader(exec)");
	AGENT(&r, "open keep rw");
	AGENT(&r, "attach rw");
	AGENT(&r, "fill 30");
	for (int i = 0; i < 3; i++) {
		agent_fork(&a[i], i ? "other(fork,O_RDONLY)" : "other(fork)");
		AGENT(&a[i], i ? "open keep ro" : "open keep rw");
		AGENT(&a[i], i ? "attach r" : "attach rw");
		AGENT(&a[i], "verify 30");
	}
	agent_stop(&a[0]);
	CHECK(agent_kill(&a[1]) == 128 + SIGKILL);
	agent_stop(&a[2]);
	close(fd);
	CHECK(unlink(mpath("keep")) == 0);
	CHECK(used_pages(MNT) == used0 + NCH * CHUNK_PAGES);
	f = reply_num(AGENT(&r, "verify 30"), 0);
	CHECKF(f == 0, "the last reader took %ld faults", f);
	for (int round = 0; round < 2; round++) {
		st = run_child(pressure, NULL);
		CHECKF(st == 0, "memory pressure child: status %d", st);
		f = reply_num(AGENT(&r, "verify %d", 30 + round), 0);
		CHECKF(f == 0, "round %d: the last reader took %ld faults", round, f);
		AGENT(&r, "fill %d", 31 + round);
	}
	CHECK(reply_num(AGENT(&r, "verify 32"), 0) == 0);
	CHECK(used_pages(MNT) == used0 + NCH * CHUNK_PAGES);
	agent_stop(&r);
	CHECKF(wait_used_pages(MNT, used0) == used0, "last reader gone: used pages %ld, want %ld",
	       used_pages(MNT), used0);
	/* It exited holding the last reference: its tables wait in the pool. */
	CHECKF(tables_pooled() == 2 * NCH, "%ld tables pooled, want %ld", tables_pooled(),
	       2 * NCH);
	CHECK(pool_drain_here() == 0);
	pt = pt_settles(pt0, 32);
	fprintf(stderr, "  last reader gone: PageTables %+ld KiB\n", pt - pt0);
	CHECKF(pt <= pt0 + 32 && pt >= pt0 - 32,
	       "last reader gone: PageTables %+ld KiB from the start", pt - pt0);

	/* ---- pages a pipe references (vmsplice) outlive the region ---- */
	{
		size_t len = MIB;
		struct iovec iov;
		uint64_t *got = malloc(len);
		int p[2];
		char *w;
		ssize_t n;

		CHECK(got != NULL);
		fd = raw_create("spliced", SZ);
		w = raw_attach(fd, SZ, RW);
		fill_pattern(w, SZ, 40);
		CHECK(pipe(p) == 0);
		CHECK(fcntl(p[1], F_SETPIPE_SZ, (int)len) >= (int)len);
		iov = (struct iovec){ w + GRANULE, len };
		n = vmsplice(p[1], &iov, 1, 0);
		CHECKF(n == (ssize_t)len, "vmsplice of a window: %zd", n);
		/* the region goes away while the pipe holds its pages */
		CHECK(munmap(w, SZ) == 0);
		close(fd);
		CHECK(unlink(mpath("spliced")) == 0);
		CHECKF(wait_used_pages(MNT, used0) == used0, "spliced region gone: used pages %ld",
		       used_pages(MNT));
		st = run_child(pressure, NULL);
		CHECKF(st == 0, "memory pressure child: status %d", st);
		CHECK(read(p[0], got, len) == (ssize_t)len);
		for (size_t i = 0; i < len / 8; i++)
			CHECKF(got[i] == pattern_word(40, GRANULE / 8 + i),
			       "vmspliced page read back after the region went: word %zu differs", i);
		close(p[0]);
		close(p[1]);
		free(got);
		pt = pt_settles(pt0, 32);
		CHECKF(pt <= pt0 + 32 && pt >= pt0 - 32, "after vmsplice: PageTables %+ld KiB",
		       pt - pt0);
	}
	live_done();
}

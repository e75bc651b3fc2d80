// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-tablepool: region tables go back to the kernel without the module
 * ever freeing one itself (module/pt_pool.c), on every kernel, including
 * those with separately allocated split page-table locks (RT, lockdep).
 * - A region whose last holder is killed is destroyed with no mm: its
 *   tables wait in the pool (MSHAREFS_GET_FS_STAT pt_pooled), still
 *   counted in /proc/meminfo PageTables.
 * - A region's new tables come from the pool first.
 * - The next open of a region, or the next region destroyed by a process
 *   (unlink + close), hands the whole pool back: pt_pooled 0, PageTables
 *   back to the baseline, and no temporary mapping left in that process.
 * - A process with mlockall(MCL_FUTURE) never hosts the hand-back.
 * - Four processes creating and destroying regions at once while another
 *   one keeps killing last holders: everything comes back.
 * rmmod at the end of the run hands back what is left ("no pages, regions
 * or page tables left" in the kernel log; the harness checks PageTables).
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define RW		(PROT_READ | PROT_WRITE)
#define KIB_PER_TABLE	4

static struct msharefs_fs_stat fs_stat(void)
{
	struct msharefs_fs_stat st;
	int d = EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));

	memset(&st, 0, sizeof(st));
	EXPECT_OK(ioctl(d, MSHAREFS_GET_FS_STAT, &st));
	close(d);
	return st;
}

static long pooled(void)
{
	return (long)fs_stat().pt_pooled;
}

static long region_tables(int fd)
{
	struct msharefs_region_stat st;

	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	return (long)st.pt_tables;
}

static long maps_lines(void)
{
	const char *maps = proc_read("/proc/self/maps");
	long n = 0;

	for (; *maps; maps++)
		n += *maps == '\n';
	return n;
}

/* A region made, attached, touched on @chunks granules and destroyed here. */
static void region_cycle(const char *name, long chunks)
{
	size_t sz = (chunks ? chunks : 1) * GRANULE;
	int fd = raw_create(name, sz);
	char *w = raw_attach(fd, sz, RW);

	for (long i = 0; i < chunks; i++)
		w[i * GRANULE] = 1;
	CHECK(munmap(w, sz) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath(name)) == 0);
}

/* Touch @chunks granules of the region in a child, then SIGKILL it. */
static void killed_last_holder(const char *name, long chunks)
{
	size_t sz = chunks * GRANULE;
	int fd = raw_create(name, sz), p[2];
	pid_t pid;
	char c;

	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *w = raw_attach(fd, sz, RW);

		close(fd);
		for (long i = 0; i < chunks; i++)
			w[i * GRANULE] = 1;
		if (write(p[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	CHECK(read(p[0], &c, 1) == 1);
	CHECK(region_tables(fd) == chunks);
	close(p[0]);
	close(p[1]);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath(name)) == 0);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(wait_status(pid) == 128 + SIGKILL);
}

static int mlocked_destroyer(void *arg)
{
	(void)arg;
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return 2;
	region_cycle("locked", 3);
	return pooled() == 3 ? 0 : 3;
}

static int cycler(void *arg)
{
	char name[32];

	snprintf(name, sizeof(name), "cyc%ld", (long)(intptr_t)arg);
	for (int i = 0; i < 20; i++)
		region_cycle(name, 1 + i % 4);
	return 0;
}

static int killer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		killed_last_holder("victim", 1 + i % 3);
	return 0;
}

int main(void)
{
	long used0, pt0, pt, pt_pooled, maps0, p;
	pid_t kids[5];

	live_init("live-tablepool");
	used0 = used_pages(MNT);

	/* Start from an empty pool: earlier tests may have left tables. */
	region_cycle("drain", 0);
	CHECKF((p = pooled()) == 0, "pool after a destruction here: %ld", p);
	pt0 = meminfo_quiet_kib("PageTables");
	maps0 = maps_lines();

	/*
	 * The last holder is killed: no mm to hand tables back through.
	 * (Region b is opened before: an open hands the pool back.)
	 */
	{
		int fd = raw_create("b", 2 * GRANULE), fd2;
		char *w;

		killed_last_holder("a", 8);
		CHECK(wait_used_pages(MNT, used0) == used0);
		CHECKF((p = pooled()) == 8, "pool after the killed holder: %ld, want 8", p);
		pt_pooled = meminfo_quiet_kib("PageTables");
		fprintf(stderr, "  8 tables pooled: PageTables %+ld KiB\n", pt_pooled - pt0);

		/* Region b's tables come from the pool. */
		w = raw_attach(fd, 2 * GRANULE, RW);
		w[0] = 1;
		w[GRANULE] = 1;
		CHECK(region_tables(fd) == 2);
		CHECKF((p = pooled()) == 6, "pool after reuse: %ld, want 6", p);
		CHECK(munmap(w, 2 * GRANULE) == 0);

		/* An open hands the pool back. */
		fd2 = EXPECT_OK(open(mpath("b"), O_RDONLY));
		CHECKF((p = pooled()) == 0, "pool after an open here: %ld", p);
		CHECK(close(fd2) == 0);
		CHECK(close(fd) == 0);
		/* Destroyed here: its own two tables go back too. */
		CHECK(unlink(mpath("b")) == 0);
	}
	CHECKF((p = pooled()) == 0, "pool after a destruction here: %ld", p);
	pt = meminfo_quiet_kib("PageTables");
	/*
	 * The pooled tables were counted until the hand-back: PageTables
	 * drops by them.  (Against the baseline only loosely: page tables of
	 * processes that exited before the test can be freed late.)
	 */
	fprintf(stderr, "  pool handed back: PageTables %+ld KiB (%+ld KiB from the start)\n",
		pt - pt_pooled, pt - pt0);
	CHECKF(pt_pooled - pt >= 8 * KIB_PER_TABLE - 12 &&
	       pt_pooled - pt <= 8 * KIB_PER_TABLE + 12,
	       "the hand-back freed %ld KiB of page tables, want %d", pt_pooled - pt,
	       8 * KIB_PER_TABLE);
	CHECKF(pt - pt0 >= -64 && pt - pt0 <= 16, "after the hand-back: PageTables %+ld KiB",
	       pt - pt0);
	CHECKF(maps_lines() == maps0, "maps: %ld lines, was %ld", maps_lines(), maps0);

	/* mlockall(MCL_FUTURE): the process is not used for the hand-back. */
	CHECK(run_child(mlocked_destroyer, NULL) == 0);
	CHECK(pooled() == 3);
	region_cycle("drain", 0);
	CHECK(pooled() == 0);

	/* Everyone at once. */
	for (long i = 0; i < 4; i++)
		kids[i] = spawn(cycler, (void *)(intptr_t)i);
	kids[4] = spawn(killer, NULL);
	for (int i = 0; i < 5; i++)
		CHECKF(wait_status(kids[i]) == 0, "child %d failed", i);
	CHECK(wait_used_pages(MNT, used0) == used0);
	region_cycle("drain", 0);
	CHECKF((p = pooled()) == 0, "pool after the storm: %ld", p);
	pt = meminfo_quiet_kib("PageTables") - pt0;
	fprintf(stderr, "  after 80 cycles and 10 killed holders: PageTables %+ld KiB\n", pt);
	CHECKF(pt >= -64 && pt <= 32, "after the storm: PageTables %+ld KiB", pt);
	CHECK(fs_stat().regions == 0);

	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-lifetime: a region lives until it is unlinked and its last fd and
 * last mapping are gone; then every page is freed (statfs f_blocks -
 * f_bfree back to the baseline).  Unlink while attached keeps the window
 * working; the name can be reused for a new, independent region.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static long npages;
static int pfd_go[2], pfd_ready[2];
static char *inherited;

static void expect_used(long want, const char *when)
{
	long got = wait_used_pages(MNT, want);

	CHECKF(got == want, "%s: mount holds %ld pages, want %ld", when, got, want);
}

static int child_holder(void *arg)
{
	char c;

	(void)arg;
	close(pfd_go[1]);
	close(pfd_ready[0]);
	if (read(pfd_go[0], &c, 1) != 1)	/* parent has dropped everything */
		return 1;
	if (verify_pattern(inherited, SZ, 5) != -1)
		return 2;
	fill_pattern(inherited, SZ, 6);
	if (verify_pattern(inherited, SZ, 6) != -1)
		return 3;
	if (write(pfd_ready[1], "r", 1) != 1)
		return 4;
	if (read(pfd_go[0], &c, 1) != 1)	/* parent has checked statfs */
		return 5;
	return 0;	/* exit drops the last mapping */
}

int main(void)
{
	long used0;
	char *w, *w2, c;
	int fd, fd2, st;
	pid_t pid;
	struct stat sb;

	live_init("live-lifetime");
	npages = (long)SZ / page_size();
	used0 = used_pages(MNT);

	/* ---- 1: unlink while attached ---- */
	fd = raw_create("L", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 1);
	expect_used(used0 + npages, "touched");
	CHECK(unlink(mpath("L")) == 0);
	EXPECT_ERRNO(open(mpath("L"), O_RDWR), ENOENT);
	EXPECT_ERRNO(mcreate("L", O_RDWR, 0), ENOENT);
	CHECK(fstat(fd, &sb) == 0 && sb.st_nlink == 0 && sb.st_size == (off_t)SZ);
	CHECK(verify_pattern(w, SZ, 1) == -1);
	fill_pattern(w, SZ, 2);
	CHECK(verify_pattern(w, SZ, 2) == -1);
	w2 = raw_attach(fd, SZ, RW);	/* attach again through the open fd */
	CHECK(verify_pattern(w2, SZ, 2) == -1);
	expect_used(used0 + npages, "unlinked, attached");
	/* the name is free: a new region, independent of the old one */
	fd2 = raw_create("L", SZ);
	{
		char *n = raw_attach(fd2, SZ, RW);

		CHECK(verify_zero(n, SZ) == -1);
		n[0] = 1;
		CHECK(verify_pattern(w, SZ, 2) == -1);
		CHECK(munmap(n, SZ) == 0);
	}
	close(fd2);
	CHECK(unlink(mpath("L")) == 0);
	expect_used(used0 + npages, "new L removed");
	close(fd);
	expect_used(used0 + npages, "unlinked, closed, attached twice");
	CHECK(verify_pattern(w, SZ, 2) == -1);
	CHECK(munmap(w2, SZ) == 0);
	expect_used(used0 + npages, "unlinked, closed, attached once");
	CHECK(verify_pattern(w, SZ, 2) == -1);
	CHECK(munmap(w, SZ) == 0);
	expect_used(used0, "unlinked, closed, detached");

	/* ---- 2: detached but the fd is still open ---- */
	fd = raw_create("L2", SZ);
	w = raw_attach(fd, SZ, RW);
	touch_pages(w, SZ, 3);
	CHECK(munmap(w, SZ) == 0);
	CHECK(unlink(mpath("L2")) == 0);
	expect_used(used0 + npages, "unlinked, detached, fd open");
	w = raw_attach(fd, SZ, PROT_READ);	/* still attachable */
	CHECK(w[0] == 3 && w[SZ - (size_t)page_size()] == 3);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	expect_used(used0, "unlinked, detached, closed");

	/* ---- 3: not unlinked: contents persist without any user ---- */
	fd = raw_create("L3", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 4);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	expect_used(used0 + npages, "linked, no users");
	fd = EXPECT_OK(open(mpath("L3"), O_RDONLY));
	w = raw_attach(fd, SZ, PROT_READ);
	CHECK(verify_pattern(w, SZ, 4) == -1);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("L3")) == 0);
	expect_used(used0, "linked region unlinked");

	/* ---- 4: a forked child holds the last mapping ---- */
	CHECK(pipe(pfd_go) == 0 && pipe(pfd_ready) == 0);
	fd = EXPECT_OK(mcreate("L4", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(fd, SZ));
	inherited = mattach(fd, NULL, RW, 0);
	CHECK(inherited != MAP_FAILED);
	fill_pattern(inherited, SZ, 5);
	pid = spawn(child_holder, NULL);
	close(pfd_go[0]);
	close(pfd_ready[1]);
	CHECK(mshare_unlink("L4") == 0);
	CHECK(mdetach(inherited) == 0);
	close(fd);
	expect_used(used0 + npages, "child attached");
	CHECK(write(pfd_go[1], "g", 1) == 1);
	CHECK(read(pfd_ready[0], &c, 1) == 1);
	expect_used(used0 + npages, "child attached, wrote");
	CHECK(write(pfd_go[1], "g", 1) == 1);
	st = wait_status(pid);
	CHECKF(st == 0, "child status %d", st);
	expect_used(used0, "child exited");
	close(pfd_go[1]);
	close(pfd_ready[0]);

	/* ---- 5: library: mshare_unlink while attached, then mdetach ---- */
	fd = EXPECT_OK(mcreate("L5", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(fd, SZ));
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED);
	close(fd);
	touch_pages(w, SZ, 9);
	CHECK(mshare_unlink("L5") == 0);
	EXPECT_ERRNO(mshare_unlink("L5"), ENOENT);
	expect_used(used0 + npages, "library: unlinked, attached");
	CHECK(w[0] == 9);
	CHECK(mdetach(w) == 0);
	expect_used(used0, "library: unlinked, detached");

	live_done();
}

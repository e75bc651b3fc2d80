// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-window: an attachment is one unit.  mprotect (whole or part),
 * partial munmap, mremap shrink and move are EINVAL, mremap growth is
 * EFAULT; each leaves the window attached, whole and its data intact.
 * madvise(MADV_DONTNEED) keeps the data.  munmap of the whole window (or
 * of a range covering it) detaches: later accesses fault.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ (8 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static char *w;
static uint64_t seed = 1;

/* the window is still exactly one mapping, readable, writable, intact */
static void intact(const char *after, int line)
{
	long off;

	CHECKF(maps_has(w, SZ), "after %s (line %d): window %p not one mapping", after, line, (void *)w);
	CHECKF((off = verify_pattern(w, SZ, seed)) == -1,
	       "after %s (line %d): data differs at %ld", after, line, off);
	CHECKF(probe_write(w + SZ - 1, w[SZ - 1]) == 0 && probe_write(w, w[0]) == 0,
	       "after %s (line %d): window not writable", after, line);
	seed++;
	fill_pattern(w, SZ, seed);
}
#define INTACT(what) intact(what, __LINE__)

int main(void)
{
	size_t ps = (size_t)page_size();
	char *res, *w2;
	int fd;

	live_init("live-window");
	fd = raw_create("win", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, seed);

	/* ---- mprotect ---- */
	EXPECT_ERRNO(mprotect(w, SZ, PROT_READ), EINVAL);
	INTACT("mprotect whole RO");
	EXPECT_ERRNO(mprotect(w, SZ, PROT_NONE), EINVAL);
	INTACT("mprotect whole NONE");
	EXPECT_ERRNO(mprotect(w, SZ, RW), EINVAL);
	INTACT("mprotect whole RW");
	EXPECT_ERRNO(mprotect(w, SZ, RW | PROT_EXEC), EINVAL);
	INTACT("mprotect whole RWX");
	EXPECT_ERRNO(mprotect(w, ps, PROT_READ), EINVAL);
	INTACT("mprotect first page");
	EXPECT_ERRNO(mprotect(w + GRANULE, GRANULE, PROT_NONE), EINVAL);
	INTACT("mprotect middle");
	EXPECT_ERRNO(mprotect(w + SZ - ps, ps, PROT_READ), EINVAL);
	INTACT("mprotect last page");

	/* ---- partial munmap ---- */
	EXPECT_ERRNO(munmap(w, ps), EINVAL);
	INTACT("munmap first page");
	EXPECT_ERRNO(munmap(w + SZ / 2, ps), EINVAL);
	INTACT("munmap middle page");
	EXPECT_ERRNO(munmap(w + SZ - ps, ps), EINVAL);
	INTACT("munmap last page");
	EXPECT_ERRNO(munmap(w, GRANULE), EINVAL);
	INTACT("munmap first 2 MiB");
	EXPECT_ERRNO(munmap(w + SZ - GRANULE, GRANULE), EINVAL);
	INTACT("munmap last 2 MiB");
	EXPECT_ERRNO(munmap(w, SZ - ps), EINVAL);
	INTACT("munmap all but the last page");

	/* ---- mremap ---- */
	EXPECT_ERRNO(mremap(w, SZ, SZ / 2, 0), EINVAL);
	INTACT("mremap shrink");
	EXPECT_ERRNO(mremap(w, SZ, SZ - ps, MREMAP_MAYMOVE), EINVAL);
	INTACT("mremap shrink maymove");
	res = reserve_aligned(SZ);
	EXPECT_ERRNO(mremap(w, SZ, SZ, MREMAP_MAYMOVE | MREMAP_FIXED, res), EINVAL);
	INTACT("mremap move");
	EXPECT_ERRNO(mremap(w, SZ, SZ, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL), EINVAL);
	INTACT("mremap dontunmap");
	munmap(res, SZ);
	EXPECT_ERRNO(mremap(w, SZ, 2 * SZ, 0), EFAULT);
	INTACT("mremap grow");
	EXPECT_ERRNO(mremap(w, SZ, SZ + GRANULE, MREMAP_MAYMOVE), EFAULT);
	INTACT("mremap grow maymove");
	EXPECT_ERRNO(mremap(w, ps, 2 * ps, MREMAP_MAYMOVE), EFAULT);
	INTACT("mremap grow a part");

	/* ---- madvise(MADV_DONTNEED) keeps shared data ---- */
	CHECK(madvise(w, SZ, MADV_DONTNEED) == 0);
	INTACT("MADV_DONTNEED whole");
	CHECK(madvise(w + GRANULE, ps * 3, MADV_DONTNEED) == 0);
	INTACT("MADV_DONTNEED part");

	/* the data is also what a fresh window sees */
	w2 = raw_attach(fd, SZ, PROT_READ);
	CHECK(verify_pattern(w2, SZ, seed) == -1);
	CHECK(munmap(w2, SZ) == 0);

	/* ---- munmap of the whole window detaches ---- */
	CHECK(munmap(w, SZ) == 0);
	CHECK(!maps_overlaps(w, SZ));
	CHECK(probe_read(w) == SIGSEGV);
	CHECK(probe_read(w + SZ - 1) == SIGSEGV);

	/* ---- munmap of a range that covers the window and its neighbours ---- */
	res = reserve_aligned(SZ + 2 * GRANULE);
	w = mmap(res + GRANULE, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(w == res + GRANULE);
	CHECK(verify_pattern(w, SZ, seed) == -1);
	CHECK(munmap(res, SZ + 2 * GRANULE) == 0);
	CHECK(!maps_overlaps(res, SZ + 2 * GRANULE));
	CHECK(probe_read(w + ps) == SIGSEGV);

	/* ---- the same through the library ---- */
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED);
	CHECK(verify_pattern(w, SZ, seed) == -1);
	EXPECT_ERRNO(mprotect(w, SZ, PROT_READ), EINVAL);
	EXPECT_ERRNO(munmap(w + ps, ps), EINVAL);
	EXPECT_ERRNO(mremap(w, SZ, 2 * SZ, MREMAP_MAYMOVE), EFAULT);
	INTACT("library attach refusals");
	CHECK(mdetach(w) == 0);
	CHECK(probe_read(w) == SIGSEGV);

	close(fd);
	CHECK(unlink(mpath("win")) == 0);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-attach: attaching is mmap(MAP_SHARED) of the whole region at offset
 * 0; the kernel picks a 2 MiB aligned address; MAP_PRIVATE, an unsized
 * region, a wrong length, a non-zero offset and an unaligned MAP_FIXED
 * address are EINVAL; PROT_WRITE on an O_RDONLY fd is EACCES.  Raw mmap and
 * mattach().
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static bool aligned(const void *p)
{
	return ((uintptr_t)p & (GRANULE - 1)) == 0;
}

static void check_window(char *w, size_t len, bool writable)
{
	CHECKF(maps_has(w, len), "no mapping [%p, +%zu) in /proc/self/maps", (void *)w, len);
	CHECK(probe_read(w) == 0);
	CHECK(probe_read(w + len - 1) == 0);
	if (writable) {
		CHECK(probe_write(w + len - 1, 0x5a) == 0);
		CHECK(w[len - 1] == 0x5a);
	}
}

int main(void)
{
	char *w, *w2, *w3, *res;
	int fd, ufd, rofd, wofd;

	live_init("live-attach");

	/* ---- unsized region ---- */
	ufd = raw_create("unsized", 0);
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, ufd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, GRANULE, PROT_READ, MAP_SHARED, ufd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_SHARED, ufd, 0), EINVAL);
	EXPECT_ERRNO(mattach(ufd, NULL, RW, 0), EINVAL);
	close(ufd);
	CHECK(unlink(mpath("unsized")) == 0);

	fd = raw_create("a1", SZ);

	/* ---- bad requests ---- */
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_PRIVATE, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ / 2, RW, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ - 4096, RW, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, 4096, RW, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ + 4096, RW, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, 2 * SZ, RW, MAP_SHARED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, fd, 4096), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, fd, GRANULE), EINVAL);
	EXPECT_ERRNO(mmap(NULL, SZ - GRANULE, RW, MAP_SHARED, fd, GRANULE), EINVAL);
	CHECK(used_pages(MNT) == 0);

	/* ---- MAP_FIXED: 2 MiB aligned only ---- */
	res = reserve_aligned(SZ + GRANULE);
	EXPECT_ERRNO(mmap(res + 4096, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0), EINVAL);
	EXPECT_ERRNO(mmap(res + GRANULE / 2, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0), EINVAL);
	munmap(res, SZ + GRANULE);
	res = reserve_aligned(SZ + GRANULE);
	w = mmap(res + GRANULE, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECKF(w == res + GRANULE, "MAP_FIXED at %p returned %p", (void *)(res + GRANULE), (void *)w);
	check_window(w, SZ, true);
	CHECK(munmap(w, SZ) == 0);
	CHECK(!maps_overlaps(w, SZ) || probe_read(w) != 0);
	munmap(res, SZ + GRANULE);

	/* MAP_FIXED_NOREPLACE: unaligned EINVAL, occupied EEXIST, free OK */
	res = reserve_aligned(SZ + GRANULE);
	EXPECT_ERRNO(mmap(res, SZ, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0), EEXIST);
	munmap(res, SZ + GRANULE);
	EXPECT_ERRNO(mmap(res + 4096, SZ, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0), EINVAL);
	w = mmap(res, SZ, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	CHECKF(w == res, "MAP_FIXED_NOREPLACE at %p returned %p", (void *)res, (void *)w);
	check_window(w, SZ, true);
	CHECK(munmap(w, SZ) == 0);

	/* ---- kernel-chosen addresses are aligned, also with a bad hint ---- */
	w = raw_attach(fd, SZ, RW);
	w2 = raw_attach(fd, SZ, RW);
	res = reserve_aligned(SZ + GRANULE);
	munmap(res, SZ + GRANULE);
	w3 = mmap(res + 4096, SZ, RW, MAP_SHARED, fd, 0);
	CHECK(w3 != MAP_FAILED);
	CHECKF(aligned(w) && aligned(w2) && aligned(w3), "%p %p %p", (void *)w, (void *)w2, (void *)w3);
	CHECK(w != w2 && w2 != w3 && w != w3);
	check_window(w, SZ, true);
	check_window(w2, SZ, true);
	check_window(w3, SZ, true);
	CHECK(munmap(w, SZ) == 0 && munmap(w2, SZ) == 0 && munmap(w3, SZ) == 0);

	/* ---- read-only fds ---- */
	rofd = EXPECT_OK(open(mpath("a1"), O_RDONLY));
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, rofd, 0), EACCES);
	EXPECT_ERRNO(mmap(NULL, SZ, PROT_WRITE, MAP_SHARED, rofd, 0), EACCES);
	EXPECT_ERRNO(mattach(rofd, NULL, RW, 0), EACCES);
	w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, rofd, 0);
	CHECK(w != MAP_FAILED && aligned(w));
	check_window(w, SZ, false);
	CHECK(probe_write(w, 1) != 0);
	CHECK(munmap(w, SZ) == 0);
	close(rofd);
	wofd = EXPECT_OK(open(mpath("a1"), O_WRONLY));
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, wofd, 0), EACCES);
	close(wofd);

	/* PROT_READ from an O_RDWR fd: no writes through that window */
	w = raw_attach(fd, SZ, PROT_READ);
	CHECK(probe_read(w + 4096) == 0);
	CHECK(probe_write(w + 4096, 1) != 0);
	CHECK(munmap(w, SZ) == 0);

	/* ---- the library ---- */
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED && aligned(w));
	check_window(w, SZ, true);
	res = reserve_aligned(SZ + GRANULE);
	EXPECT_ERRNO(mattach(fd, res + 4096, RW, MAP_FIXED), EINVAL);
	munmap(res, SZ + GRANULE);
	res = reserve_aligned(SZ);
	w2 = mattach(fd, res, RW, MAP_FIXED);
	CHECK(w2 == res);
	check_window(w2, SZ, true);
	EXPECT_ERRNO(mattach(fd, w2, RW, MAP_FIXED_NOREPLACE), EEXIST);
	CHECK(mdetach(w2) == 0);
	w2 = mattach(fd, res, PROT_READ, MAP_FIXED_NOREPLACE);
	CHECK(w2 == res);
	check_window(w2, SZ, false);
	CHECK(probe_write(w2, 1) != 0);
	CHECK(mdetach(w2) == 0);
	CHECK(mdetach(w) == 0);

	close(fd);
	CHECK(unlink(mpath("a1")) == 0);

	/* ---- sizes: the smallest and a larger region ---- */
	fd = raw_create("a2", GRANULE);
	w = raw_attach(fd, GRANULE, RW);
	CHECK(aligned(w));
	check_window(w, GRANULE, true);
	EXPECT_ERRNO(mmap(NULL, 2 * GRANULE, RW, MAP_SHARED, fd, 0), EINVAL);
	CHECK(munmap(w, GRANULE) == 0);
	close(fd);
	CHECK(unlink(mpath("a2")) == 0);
	fd = raw_create("a3", 16 * MIB);
	w = raw_attach(fd, 16 * MIB, RW);
	CHECK(aligned(w));
	check_window(w, 16 * MIB, true);
	CHECK(munmap(w, 16 * MIB) == 0);
	close(fd);
	CHECK(unlink(mpath("a3")) == 0);

	live_done();
}

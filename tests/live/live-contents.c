// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-contents: a region starts zero-filled, memory is allocated a 2 MiB
 * chunk at a time on the first access to the chunk (read or write: the
 * chunk's page table is built complete), st_blocks and statfs count it,
 * every attacher sees the same bytes (two windows in one process, a
 * library attach, another process), and the contents survive detach +
 * close + re-attach.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ (8 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static long blocks_of(int fd)
{
	struct stat st;

	CHECK(fstat(fd, &st) == 0);
	return (long)st.st_blocks;
}

static long pages_to_blocks(long pages)
{
	return pages * page_size() / 512;
}

static int other_process(void *arg)
{
	int fd = mcreate("c1", O_RDWR, 0);
	char *w;

	(void)arg;
	if (fd < 0)
		return 1;
	w = mattach(fd, NULL, RW, 0);
	if (w == MAP_FAILED)
		return 2;
	if (verify_pattern(w, SZ, 1) != -1)
		return 3;
	fill_pattern(w, SZ, 2);
	if (mdetach(w))
		return 4;
	close(fd);
	return 0;
}

int main(void)
{
	long ps = page_size(), npages = (long)(SZ / (size_t)ps), used0, off;
	long cp = (long)(GRANULE / (size_t)ps);	/* pages per chunk */
	char *a, *b, *c;
	int fd, fd2, st;

	live_init("live-contents");
	used0 = used_pages(MNT);

	/* ---- first access allocates the whole 2 MiB chunk, only that ---- */
	fd = raw_create("c1", SZ);
	a = raw_attach(fd, SZ, RW);
	CHECK(blocks_of(fd) == 0);
	CHECK(used_pages(MNT) == used0);
	a[0] = 0x11;		/* chunk 0 */
	CHECKF(blocks_of(fd) == pages_to_blocks(cp), "st_blocks %ld after touching chunk 0",
	       blocks_of(fd));
	CHECKF(used_pages(MNT) == used0 + cp, "used %ld, want %ld", used_pages(MNT), used0 + cp);
	a[MIB + 5] = 0x22;	/* chunk 0 again: nothing new */
	a[1] = 0x44;
	CHECKF(blocks_of(fd) == pages_to_blocks(cp), "st_blocks %ld after 3 bytes of chunk 0",
	       blocks_of(fd));
	CHECK(used_pages(MNT) == used0 + cp);
	a[SZ - 1] = 0x33;	/* chunk 3 */
	CHECKF(blocks_of(fd) == pages_to_blocks(2 * cp), "st_blocks %ld after chunks 0 and 3",
	       blocks_of(fd));
	CHECKF(used_pages(MNT) == used0 + 2 * cp, "used %ld, want %ld", used_pages(MNT),
	       used0 + 2 * cp);
	/* the rest of a touched chunk is zero */
	CHECK(verify_zero(a + 8, (size_t)ps - 8) == -1);
	CHECK(verify_zero(a + ps, MIB - (size_t)ps) == -1);
	CHECK(verify_zero(a + MIB + 8, GRANULE - MIB - 8) == -1);
	CHECK(verify_zero(a + SZ - GRANULE, GRANULE - 8) == -1);
	CHECK(a[MIB] == 0 && a[MIB + 4] == 0 && a[MIB + 6] == 0);
	/* reading is an access too: chunk 1 by a read, chunk 2 by a read of its last byte */
	CHECK(verify_zero(a + GRANULE, 64) == -1);
	CHECKF(blocks_of(fd) == pages_to_blocks(3 * cp), "st_blocks %ld after reading chunk 1",
	       blocks_of(fd));
	CHECK(a[3 * GRANULE - 1] == 0);
	CHECKF(blocks_of(fd) == pages_to_blocks(npages), "st_blocks %ld after reading chunk 2",
	       blocks_of(fd));
	CHECK(used_pages(MNT) == used0 + npages);
	CHECK(verify_zero(a + GRANULE, 2 * GRANULE) == -1);

	/* ---- a second window of the same region sees the same bytes ---- */
	b = raw_attach(fd, SZ, RW);
	CHECK(b != a);
	CHECK(b[0] == 0x11 && b[1] == 0x44 && b[MIB + 5] == 0x22 && b[SZ - 1] == 0x33);
	fill_pattern(b, SZ, 1);
	CHECKF((off = verify_pattern(a, SZ, 1)) == -1, "mismatch at %ld", off);
	CHECKF(blocks_of(fd) == pages_to_blocks(npages), "st_blocks %ld", blocks_of(fd));
	CHECKF(used_pages(MNT) == used0 + npages, "used %ld, want %ld", used_pages(MNT), used0 + npages);
	a[12345] = 0x7f;
	CHECK(b[12345] == 0x7f);
	fill_pattern(a, SZ, 1);

	/* ---- a library attach through a new fd, by name ---- */
	fd2 = EXPECT_OK(mcreate("c1", O_RDWR, 0));
	c = mattach(fd2, NULL, RW, 0);
	CHECK(c != MAP_FAILED);
	CHECK(verify_pattern(c, SZ, 1) == -1);
	CHECK(blocks_of(fd2) == pages_to_blocks(npages));

	/* ---- detach everything, close, come back: same bytes ---- */
	CHECK(mdetach(c) == 0);
	CHECK(munmap(b, SZ) == 0);
	CHECK(munmap(a, SZ) == 0);
	close(fd2);
	close(fd);
	CHECK(used_pages(MNT) == used0 + npages);
	fd = EXPECT_OK(open(mpath("c1"), O_RDWR));
	CHECK(blocks_of(fd) == pages_to_blocks(npages));
	a = raw_attach(fd, SZ, PROT_READ);
	CHECKF((off = verify_pattern(a, SZ, 1)) == -1, "after re-attach: mismatch at %ld", off);
	CHECK(munmap(a, SZ) == 0);
	close(fd);

	/* ---- another process, while nobody else is attached ---- */
	st = run_child(other_process, NULL);
	CHECKF(st == 0, "other process status %d", st);
	fd = EXPECT_OK(mcreate("c1", O_RDONLY, 0));
	a = mattach(fd, NULL, PROT_READ, 0);
	CHECK(a != MAP_FAILED);
	CHECKF((off = verify_pattern(a, SZ, 2)) == -1, "other process's data: mismatch at %ld", off);
	CHECK(used_pages(MNT) == used0 + npages);
	CHECK(mdetach(a) == 0);
	close(fd);

	/* ---- a fresh region reads as zeros everywhere ---- */
	fd2 = raw_create("c2", 4 * MIB);
	b = raw_attach(fd2, 4 * MIB, PROT_READ);
	CHECKF((off = verify_zero(b, 4 * MIB)) == -1, "non-zero byte at %ld", off);
	CHECK(munmap(b, 4 * MIB) == 0);
	b = raw_attach(fd2, 4 * MIB, RW);
	CHECK(verify_zero(b, 4 * MIB) == -1);
	touch_pages(b, 4 * MIB, 1);
	CHECK(blocks_of(fd2) == pages_to_blocks((long)(4 * MIB) / ps));
	CHECK(munmap(b, 4 * MIB) == 0);
	close(fd2);

	CHECK(unlink(mpath("c1")) == 0);
	CHECK(unlink(mpath("c2")) == 0);
	CHECKF(wait_used_pages(MNT, used0) == used0, "pages not freed after unlink");
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-size: the size of a region is set once, by ftruncate/truncate or
 * fallocate(fd, 0, 0, n), to a non-zero multiple of 2 MiB; every other
 * attempt is EINVAL (EOPNOTSUPP for fallocate modes); fstat reports it;
 * read()/write() are EINVAL.  Raw syscalls and mshare_set_size/get_size.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

static off_t fsize(int fd)
{
	struct stat st;

	CHECK(fstat(fd, &st) == 0);
	return st.st_size;
}

/* read()/write() are EINVAL (a write on an O_RDONLY fd stays EBADF) */
static void check_rw_einval(int fd, bool writable)
{
	char buf[16] = "x";
	int werr = writable ? EINVAL : EBADF;

	EXPECT_ERRNO(read(fd, buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(write(fd, buf, sizeof(buf)), werr);
	EXPECT_ERRNO(pread(fd, buf, sizeof(buf), 0), EINVAL);
	EXPECT_ERRNO(pwrite(fd, buf, sizeof(buf), 0), werr);
}

int main(void)
{
	struct stat st;
	size_t sz;
	long used0;
	int fd, rfd;

	live_init("live-size");
	used0 = used_pages(MNT);

	/* ---- ftruncate ---- */
	fd = raw_create("s1", 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0 && st.st_blocks == 0);
	check_rw_einval(fd, true);
	EXPECT_ERRNO(ftruncate(fd, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 4096), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 1), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, GRANULE / 2), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, GRANULE + 4096), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 3 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
	CHECK(fsize(fd) == 0);
	rfd = EXPECT_OK(open(mpath("s1"), O_RDONLY));
	EXPECT_ERRNO(ftruncate(rfd, 4 * MIB), EINVAL);	/* not open for write */
	EXPECT_ERRNO(fallocate(rfd, 0, 0, 4 * MIB), EBADF);
	CHECK(fsize(fd) == 0);

	EXPECT_OK(ftruncate(fd, 4 * MIB));
	CHECK(fsize(fd) == (off_t)(4 * MIB));
	CHECK(fsize(rfd) == (off_t)(4 * MIB));
	CHECK(stat(mpath("s1"), &st) == 0 && st.st_size == (off_t)(4 * MIB));
	CHECKF(st.st_blocks == 0, "st_blocks %ld before any touch", (long)st.st_blocks);
	sz = 1;
	EXPECT_OK(mshare_get_size(rfd, &sz));
	CHECK(sz == 4 * MIB);

	/* set once: the same size, another size, any way */
	EXPECT_ERRNO(ftruncate(fd, 4 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 2 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 8 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 0), EINVAL);
	EXPECT_ERRNO(truncate(mpath("s1"), 4 * MIB), EINVAL);
	EXPECT_ERRNO(truncate(mpath("s1"), 6 * MIB), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 4 * MIB), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 8 * MIB), EINVAL);
	EXPECT_ERRNO(mshare_set_size(fd, 4 * MIB), EINVAL);
	EXPECT_ERRNO(mshare_set_size(fd, 2 * MIB), EINVAL);
	CHECK(fsize(fd) == (off_t)(4 * MIB));
	check_rw_einval(fd, true);
	check_rw_einval(rfd, false);
	close(rfd);
	close(fd);
	/* a new fd sees the size too, and cannot change it either */
	fd = EXPECT_OK(open(mpath("s1"), O_RDWR));
	CHECK(fsize(fd) == (off_t)(4 * MIB));
	EXPECT_ERRNO(ftruncate(fd, 2 * MIB), EINVAL);
	close(fd);
	CHECK(unlink(mpath("s1")) == 0);

	/* ---- fallocate ---- */
	fd = raw_create("s2", 0);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 2 * MIB), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 2 * MIB), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 2 * MIB), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 2 * MIB), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 2 * MIB), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, 0, 2 * MIB, 2 * MIB), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 4096, 2 * MIB), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 4096), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 3 * MIB), EINVAL);
	CHECK(fsize(fd) == 0);
	EXPECT_OK(fallocate(fd, 0, 0, 2 * MIB));
	CHECK(fsize(fd) == (off_t)(2 * MIB));
	EXPECT_ERRNO(fallocate(fd, 0, 0, 2 * MIB), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 4 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 2 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 4 * MIB), EINVAL);
	CHECK(fsize(fd) == (off_t)(2 * MIB));
	close(fd);
	CHECK(unlink(mpath("s2")) == 0);

	/* ---- truncate(2) by path ---- */
	fd = raw_create("s3", 0);
	EXPECT_ERRNO(truncate(mpath("s3"), 5 * MIB), EINVAL);
	EXPECT_OK(truncate(mpath("s3"), 6 * MIB));
	CHECK(fsize(fd) == (off_t)(6 * MIB));
	EXPECT_ERRNO(ftruncate(fd, 6 * MIB), EINVAL);
	close(fd);
	CHECK(unlink(mpath("s3")) == 0);

	/* ---- library ---- */
	fd = EXPECT_OK(mcreate("s4", O_RDWR | O_CREAT | O_EXCL, 0600));
	sz = 12345;
	EXPECT_OK(mshare_get_size(fd, &sz));
	CHECK(sz == 0);
	EXPECT_ERRNO(mshare_set_size(fd, 0), EINVAL);
	EXPECT_ERRNO(mshare_set_size(fd, 4096), EINVAL);
	EXPECT_ERRNO(mshare_set_size(fd, GRANULE + GRANULE / 2), EINVAL);
	EXPECT_OK(mshare_get_size(fd, &sz));
	CHECK(sz == 0);
	EXPECT_OK(mshare_set_size(fd, 16 * MIB));
	EXPECT_OK(mshare_get_size(fd, &sz));
	CHECK(sz == 16 * MIB);
	CHECK(fsize(fd) == (off_t)(16 * MIB));
	EXPECT_ERRNO(mshare_set_size(fd, 16 * MIB), EINVAL);
	EXPECT_ERRNO(mshare_set_size(fd, 32 * MIB), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 16 * MIB), EINVAL);
	check_rw_einval(fd, true);
	close(fd);
	EXPECT_ERRNO(mshare_get_size(fd, &sz), EBADF);
	CHECK(mshare_unlink("s4") == 0);

	/* ---- a big size costs nothing until touched ---- */
	fd = raw_create("s5", 64 * MIB);
	CHECK(fsize(fd) == (off_t)(64 * MIB));
	CHECK(fstat(fd, &st) == 0 && st.st_blocks == 0);
	CHECKF(used_pages(MNT) == used0, "used %ld, baseline %ld", used_pages(MNT), used0);
	close(fd);
	CHECK(unlink(mpath("s5")) == 0);

	live_done();
}

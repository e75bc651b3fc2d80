// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-ioctl: which ioctls a file of the mount answers.  On a region
 * (sized or not, attached or not, read-only or read-write) anything but
 * MSHAREFS_CREATE_MAPPING, _UNMAP, _PROTECT and the statistics is ENOTTY
 * and changes nothing; on a directory or mshare_info only the mount
 * statistics answer.  An unsized region refuses the three with EINVAL,
 * a read-only fd with EBADF.  (live-inner tests what they do.)
 */
#include "common.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/msharefs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ (4 * MIB)

static struct mshare_create mc = {
	.region_offset = 0, .size = GRANULE, .offset = 0,
	.prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
	.fd = (__u32)-1,
};
static struct mshare_unmap mu = { .region_offset = 0, .size = GRANULE };
static struct mshare_protect mp = { .region_offset = 0, .size = GRANULE, .prot = PROT_READ };

static void all_enotty(int fd)
{
	int dummy = 0;

	EXPECT_ERRNO(ioctl(fd, _IOW('x', 5, int), &dummy), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOW('x', 2, int), &dummy), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IO('x', 0)), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOR('x', 0, struct mshare_create), &mc), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOW('x', 3, struct msharefs_region_stat), &dummy), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, FS_IOC_GETFLAGS, &dummy), ENOTTY);
}

/* A directory or mshare_info: the region ioctls are ENOTTY too. */
static void not_region(int fd)
{
	struct msharefs_fs_stat fs;

	all_enotty(fd);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_UNMAP, &mu), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_PROTECT, &mp), ENOTTY);
	EXPECT_OK(ioctl(fd, MSHAREFS_GET_FS_STAT, &fs));
}

int main(void)
{
	struct stat st;
	char *w;
	int fd, rofd;

	live_init("live-ioctl");

	fd = EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));
	not_region(fd);
	close(fd);
	fd = EXPECT_OK(open(mpath("mshare_info"), O_RDONLY));
	not_region(fd);
	close(fd);

	fd = raw_create("ioc", 0);
	all_enotty(fd);				/* unsized */
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc), EINVAL);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_UNMAP, &mu), EINVAL);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_PROTECT, &mp), EINVAL);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
	CHECK(ftruncate(fd, SZ) == 0);
	all_enotty(fd);				/* sized */
	w = raw_attach(fd, SZ, PROT_READ | PROT_WRITE);
	fill_pattern(w, SZ, 4);
	all_enotty(fd);				/* attached */
	rofd = EXPECT_OK(open(mpath("ioc"), O_RDONLY));
	all_enotty(rofd);			/* read-only fd */
	EXPECT_ERRNO(ioctl(rofd, MSHAREFS_CREATE_MAPPING, &mc), EBADF);
	EXPECT_ERRNO(ioctl(rofd, MSHAREFS_UNMAP, &mu), EBADF);
	EXPECT_ERRNO(ioctl(rofd, MSHAREFS_PROTECT, &mp), EBADF);
	close(rofd);
	CHECK(verify_pattern(w, SZ, 4) == -1);
	CHECK(maps_has(w, SZ));
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)SZ);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("ioc")) == 0);

	live_done();
}

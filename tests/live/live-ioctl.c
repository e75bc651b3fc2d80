// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-ioctl: this milestone has no ioctls: MSHAREFS_CREATE_MAPPING,
 * MSHAREFS_UNMAP and anything else on a region (sized or not, attached
 * or not, read-only or read-write) are ENOTTY and change nothing.
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

static void all_enotty(int fd)
{
	struct mshare_create mc = {
		.region_offset = 0, .size = GRANULE, .offset = 0,
		.prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
		.fd = (__u32)-1,
	};
	struct mshare_unmap mu = { .region_offset = 0, .size = GRANULE };
	int dummy = 0;

	EXPECT_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_UNMAP, &mu), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, NULL), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOW('x', 2, int), &dummy), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IO('x', 0)), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, FS_IOC_GETFLAGS, &dummy), ENOTTY);
}

int main(void)
{
	struct stat st;
	char *w;
	int fd, rofd;

	live_init("live-ioctl");

	fd = raw_create("ioc", 0);
	all_enotty(fd);				/* unsized */
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
	CHECK(ftruncate(fd, SZ) == 0);
	all_enotty(fd);				/* sized */
	w = raw_attach(fd, SZ, PROT_READ | PROT_WRITE);
	fill_pattern(w, SZ, 4);
	all_enotty(fd);				/* attached */
	rofd = EXPECT_OK(open(mpath("ioc"), O_RDONLY));
	all_enotty(rofd);			/* read-only fd */
	close(rofd);
	CHECK(verify_pattern(w, SZ, 4) == -1);
	CHECK(maps_has(w, SZ));
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)SZ);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("ioc")) == 0);

	live_done();
}

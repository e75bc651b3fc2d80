// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-mount: the msharefs mount itself.  /sys/fs/mshare exists and is an
 * msharefs mount (magic, statfs fields, /proc/self/mounts); mshare_info
 * reads "549755813888\n" (upstream's unit, 512 GiB), while the granule in
 * the statistics and mshare_granule() is 2 MiB; it cannot be unlinked,
 * renamed, replaced, truncated or mmapped.
 */
#include "common.h"

#include <libmshare.h>

#include <fcntl.h>
#include <linux/msharefs.h>
#include <sys/ioctl.h>
#include <mntent.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define INFO MNT "/" MSHAREFS_INFO_NAME

static void check_info_content(void)
{
	char buf[64];
	ssize_t n;
	int fd = EXPECT_OK(open(INFO, O_RDONLY));

	struct msharefs_fs_stat st;

	n = read(fd, buf, sizeof(buf) - 1);
	CHECK(n == 13);
	buf[n > 0 ? n : 0] = 0;
	CHECKF(strcmp(buf, "549755813888\n") == 0, "mshare_info reads '%s'", buf);
	CHECK(read(fd, buf, sizeof(buf)) == 0);		/* EOF */
	n = pread(fd, buf, sizeof(buf) - 1, 3);
	CHECK(n == 10);
	buf[n > 0 ? n : 0] = 0;
	CHECKF(strcmp(buf, "755813888\n") == 0, "pread at 3 reads '%s'", buf);
	/* The granule: 2 MiB, a divisor of what mshare_info says. */
	EXPECT_OK(ioctl(fd, MSHAREFS_GET_FS_STAT, &st));
	CHECKF(st.granule == GRANULE, "granule %llu", (unsigned long long)st.granule);
	CHECK(mshare_granule() == (long)GRANULE);
	close(fd);
}

int main(void)
{
	struct statfs sf;
	struct stat st;
	FILE *mf;
	struct mntent *me;
	bool found = false;
	int fd;

	live_init("live-mount");

	/* the mount point and the filesystem */
	CHECK(stat(MNT, &st) == 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK(statfs(MNT, &sf) == 0);
	CHECKF(sf.f_type == MSHAREFS_MAGIC, "f_type %#lx", (unsigned long)sf.f_type);
	CHECKF(sf.f_bsize == page_size(), "f_bsize %ld", (long)sf.f_bsize);
	CHECK(sf.f_blocks >= sf.f_bfree);
	CHECKF(used_pages(MNT) == 0, "empty mount holds %ld pages", used_pages(MNT));
	CHECK((mf = setmntent("/proc/self/mounts", "r")) != NULL);
	while ((me = getmntent(mf)))
		if (!strcmp(me->mnt_dir, MNT) && !strcmp(me->mnt_type, MSHAREFS_FSTYPE))
			found = true;
	endmntent(mf);
	CHECKF(found, "no msharefs line for %s in /proc/self/mounts", MNT);

	/* mshare_info */
	CHECK(stat(INFO, &st) == 0);
	CHECK(S_ISREG(st.st_mode));
	check_info_content();
	EXPECT_ERRNO(open(INFO, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);

	EXPECT_ERRNO(unlink(INFO), EPERM);
	EXPECT_ERRNO(rename(INFO, MNT "/renamed"), EPERM);
	CHECK(access(MNT "/renamed", F_OK) != 0);
	EXPECT_ERRNO(renameat2(AT_FDCWD, INFO, AT_FDCWD, MNT "/renamed",
			       RENAME_NOREPLACE), EPERM);

	/* rename onto it, from a region and from a directory */
	fd = raw_create("onto", 0);
	EXPECT_ERRNO(rename(MNT "/onto", INFO), EPERM);
	EXPECT_ERRNO(renameat2(AT_FDCWD, MNT "/onto", AT_FDCWD, INFO,
			       RENAME_EXCHANGE), EPERM);
	CHECK(access(MNT "/onto", F_OK) == 0);
	close(fd);
	CHECK(unlink(MNT "/onto") == 0);

	/* truncate */
	EXPECT_ERRNO(truncate(INFO, 0), EPERM);
	EXPECT_ERRNO(truncate(INFO, 2097152), EPERM);
	fd = open(INFO, O_WRONLY);
	if (fd >= 0) {
		EXPECT_ERRNO(ftruncate(fd, 0), EPERM);
		close(fd);
	}

	/* mmap */
	fd = EXPECT_OK(open(INFO, O_RDONLY));
	EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0), ENODEV);
	EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV);
	EXPECT_ERRNO(mmap(NULL, GRANULE, PROT_READ, MAP_SHARED, fd, 0), ENODEV);
	close(fd);

	/* it survived all of that unchanged */
	check_info_content();
	CHECK(stat(INFO, &st) == 0 && S_ISREG(st.st_mode));
	CHECKF(used_pages(MNT) == 0, "mount holds %ld pages", used_pages(MNT));

	live_done();
}

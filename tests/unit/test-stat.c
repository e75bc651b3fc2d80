// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare_stat(), mshare_fstat() and mshare_statfs() on the fake msharefs,
 * with a fake kernel answering MSHAREFS_GET_REGION_STAT and
 * MSHAREFS_GET_FS_STAT (older, newer and broken ones), and the conversion
 * of the kernel's versioned structures.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"
#include "fake.h"

#define SZ	(2UL << 20)

#define assert_fails(expr, err) do {			\
	errno = 0;					\
	assert_int_equal((expr), -1);			\
	assert_int_equal(errno, (err));			\
} while (0)

/* ---- the fake kernel -------------------------------------------------- */

/* What it reports; version and size are set by the reply rules below. */
static struct msharefs_region_stat kregion;
static struct msharefs_fs_stat kfs;
/* Reply rules: bytes filled (0: as many as asked, up to the structure),
 * version and size stored (0: 1 and the bytes filled). */
static size_t kfill;
static __u32 kversion, ksize;
/* Inode of the fake mshare_info (0: none). */
static ino_t info_ino;

static void kernel_reset(void)
{
	memset(&kregion, 0, sizeof(kregion));
	kregion.region_size = 4 * SZ;
	kregion.granule = SZ;
	kregion.page_size = 4096;
	kregion.uid = 1000;
	kregion.gid = 100;
	kregion.mode = S_IFREG | 0640;
	kregion.attachers = 3;
	kregion.windows = 4;
	kregion.resident_pages = 1024;
	kregion.pt_tables = 2;
	kregion.pt_links = 6;
	kregion.pt_bytes_saved = 4 * 4096;

	memset(&kfs, 0, sizeof(kfs));
	kfs.granule = SZ;
	kfs.page_size = 4096;
	kfs.regions = 2;
	kfs.attachers = 5;
	kfs.windows = 6;
	kfs.resident_pages = 1536;
	kfs.pt_tables = 5;
	kfs.pt_links = 3;
	kfs.pt_bytes_saved = -2 * 4096;
	kfs.pt_pooled = 9;
	snprintf(kfs.module_version, sizeof(kfs.module_version), "0.1.0");

	kfill = 0;
	kversion = 0;
	ksize = 0;
	info_ino = 0;
}

static int reply(void *arg, size_t asked, const void *src, size_t cur)
{
	struct { __u32 version, size; } hdr;
	size_t fill = kfill ? kfill : (asked < cur ? asked : cur);

	if (asked < sizeof(hdr))
		return -EINVAL;
	memcpy(arg, src, fill);
	hdr.version = kversion ? kversion : 1;
	hdr.size = ksize ? ksize : (__u32)fill;
	memcpy(arg, &hdr, sizeof(hdr));
	return 0;
}

/* Like the module: REGION_STAT on regions only, FS_STAT on anything. */
static int kernel(int fd, unsigned long req, void *arg)
{
	size_t asked = _IOC_SIZE(req);
	struct stat st;

	if (_IOC_TYPE(req) != 'x' || _IOC_DIR(req) != _IOC_READ)
		return -ENOTTY;
	if (fstat(fd, &st))
		return -errno;
	switch (_IOC_NR(req)) {
	case _IOC_NR(MSHAREFS_GET_REGION_STAT):
		if (!S_ISREG(st.st_mode) || st.st_ino == info_ino)
			return -ENOTTY;
		if (asked < MSH_REGION_STAT_V1_SIZE)
			return -EINVAL;
		return reply(arg, asked, &kregion, sizeof(kregion));
	case _IOC_NR(MSHAREFS_GET_FS_STAT):
		if (asked < MSH_FS_STAT_V1_SIZE)
			return -EINVAL;
		return reply(arg, asked, &kfs, sizeof(kfs));
	}
	return -ENOTTY;
}

static int setup(void **state)
{
	if (fake_mount_fixture_setup(state))
		return -1;
	kernel_reset();
	fake_ioctl(kernel);
	return 0;
}

static int teardown(void **state)
{
	return fake_mount_fixture_teardown(state);
}

/* A region file on the fake mount (its size does not matter here). */
static void region(const char *name)
{
	int fd = mcreate(name, O_RDWR | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	close(fd);
}

static void assert_kregion(const struct mshare_stat *st)
{
	size_t i;

	assert_int_equal(st->size, 4 * SZ);
	assert_int_equal(st->granule, SZ);
	assert_int_equal(st->page_size, 4096);
	assert_int_equal(st->uid, 1000);
	assert_int_equal(st->gid, 100);
	assert_int_equal(st->mode, S_IFREG | 0640);
	assert_int_equal(st->version, 1);
	assert_int_equal(st->attachers, 3);
	assert_int_equal(st->windows, 4);
	assert_int_equal(st->resident_bytes, 1024 * 4096);
	assert_int_equal(st->pt_tables, 2);
	assert_int_equal(st->pt_links, 6);
	assert_int_equal(st->pt_bytes_saved, 4 * 4096);
	for (i = 0; i < sizeof(st->reserved) / sizeof(st->reserved[0]); i++)
		assert_int_equal(st->reserved[i], 0);
}

/* ---- mshare_stat / mshare_fstat --------------------------------------- */

static void test_stat(void **state)
{
	const char *mnt = *state;
	char path[PATH_MAX];
	struct mshare_stat st;

	region("r");
	memset(&st, 0xff, sizeof(st));
	fake_reset();
	assert_int_equal(mshare_stat("/r", &st), 0);
	assert_kregion(&st);
	snprintf(path, sizeof(path), "%s/r", mnt);
	assert_string_equal(fake_last.open_path, path);
	assert_int_equal(fake_last.open_flags,
			 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	assert_int_equal(fake_last.ioctl_req, MSHAREFS_GET_REGION_STAT);
	assert_int_equal(fake_calls(FAKE_IOCTL), 1);
	/* The descriptor is closed again. */
	assert_int_equal(fake_calls(FAKE_CLOSE), 1);

	/* Negative saving, and figures in a subdirectory. */
	snprintf(path, sizeof(path), "%s/db", mnt);
	assert_int_equal(mkdir(path, 0700), 0);
	region("db/cache");
	kregion.pt_links = 0;
	kregion.pt_bytes_saved = -2 * 4096;
	kregion.resident_pages = 0;
	assert_int_equal(mshare_stat("db/cache", &st), 0);
	assert_int_equal(st.pt_bytes_saved, -8192);
	assert_int_equal(st.resident_bytes, 0);
}

static void test_fstat(void **state)
{
	struct mshare_stat st;
	int fd;

	(void)state;
	region("r");
	fd = mcreate("r", O_RDONLY, 0);
	assert_true(fd >= 0);
	memset(&st, 0xff, sizeof(st));
	fake_reset();
	assert_int_equal(mshare_fstat(fd, &st), 0);
	assert_kregion(&st);
	assert_int_equal(fake_last.ioctl_fd, fd);
	assert_int_equal(fake_last.ioctl_req, MSHAREFS_GET_REGION_STAT);
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
	assert_int_equal(fake_calls(FAKE_CLOSE), 0);
	close(fd);

	fd = mcreate("r", O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(mshare_fstat(fd, &st), 0);
	assert_kregion(&st);
	close(fd);
}

static void test_stat_args(void **state)
{
	static const char *const bad[] = {
		NULL, "", "/", "a//b", "a/", ".", "..", "a/../b", "mshare_info",
	};
	char longname[NAME_MAX + 2];
	struct mshare_stat st;
	size_t i;
	int fd;

	(void)state;
	region("r");
	fake_reset();
	assert_fails(mshare_stat("r", NULL), EINVAL);
	fd = mcreate("r", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_fails(mshare_fstat(fd, NULL), EINVAL);
	close(fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_fails(mshare_stat(bad[i], &st), EINVAL);
	memset(longname, 'x', NAME_MAX + 1);
	longname[NAME_MAX + 1] = '\0';
	assert_fails(mshare_stat(longname, &st), ENAMETOOLONG);
	assert_int_equal(fake_calls(FAKE_OPEN), 1);	/* the mcreate */
	assert_int_equal(fake_calls(FAKE_IOCTL), 0);
}

static void test_stat_errors(void **state)
{
	const char *mnt = *state;
	struct mshare_stat st, before;
	char path[PATH_MAX];
	int fd, pipefd[2];
	struct stat sb;

	region("r");
	memset(&st, 0x5a, sizeof(st));
	before = st;

	assert_fails(mshare_stat("missing", &st), ENOENT);
	fake_fail(FAKE_OPEN, EACCES);
	assert_fails(mshare_stat("r", &st), EACCES);

	/* Not a region: a directory (and the fake mshare_info). */
	snprintf(path, sizeof(path), "%s/dir", mnt);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_fails(mshare_stat("dir", &st), ENOTTY);
	snprintf(path, sizeof(path), "%s/mshare_info", mnt);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0444);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	info_ino = sb.st_ino;
	assert_fails(mshare_fstat(fd, &st), ENOTTY);
	close(fd);

	/* Kernel errors pass through and the descriptor is not leaked. */
	fake_reset();
	fake_fail(FAKE_IOCTL, EIO);
	assert_fails(mshare_stat("r", &st), EIO);
	assert_int_equal(fake_calls(FAKE_OPEN), fake_calls(FAKE_CLOSE));
	fake_fail(FAKE_FSTATFS, EIO);
	assert_fails(mshare_stat("r", &st), EIO);
	assert_int_equal(fake_calls(FAKE_OPEN), fake_calls(FAKE_CLOSE));
	/* A failing close(2) does not turn success into failure. */
	fake_fail(FAKE_CLOSE, EINTR);
	assert_int_equal(mshare_stat("r", &st), 0);
	memset(&st, 0x5a, sizeof(st));

	/* A module without statistics (tmpfs: the real ioctl). */
	fake_ioctl(NULL);
	assert_fails(mshare_stat("r", &st), ENOTTY);
	fake_ioctl(kernel);

	/* Not msharefs, not open. */
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fake_reset();
	assert_fails(mshare_fstat(pipefd[0], &st), EINVAL);
	assert_int_equal(fake_calls(FAKE_IOCTL), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_fails(mshare_fstat(-1, &st), EBADF);
	assert_fails(mshare_fstat(9999, &st), EBADF);

	/* Nothing written on failure. */
	assert_memory_equal(&st, &before, sizeof(st));
}

static void test_stat_bad_replies(void **state)
{
	struct mshare_stat st, before;

	(void)state;
	region("r");
	memset(&st, 0x5a, sizeof(st));
	before = st;

	/* A reply no kernel sends: EPROTO, nothing written. */
	kversion = 0;
	ksize = 8;
	assert_fails(mshare_stat("r", &st), EPROTO);
	ksize = MSH_REGION_STAT_V1_SIZE - 1;
	assert_fails(mshare_stat("r", &st), EPROTO);
	ksize = sizeof(struct msharefs_region_stat) + 8;
	assert_fails(mshare_stat("r", &st), EPROTO);
	ksize = 0;
	kregion.page_size = 0;
	assert_fails(mshare_stat("r", &st), EPROTO);
	kregion.page_size = 4096;
	kregion.resident_pages = UINT64_MAX / 2;
	assert_fails(mshare_stat("r", &st), EOVERFLOW);
	assert_memory_equal(&st, &before, sizeof(st));
	kregion.resident_pages = 1024;

	/* A newer kernel fills what was asked and says version 2: fine. */
	kversion = 2;
	assert_int_equal(mshare_stat("r", &st), 0);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.attachers, 3);
}

static void test_stat_enodev(void **state)
{
	struct mshare_stat st;
	struct mshare_statfs sfs;

	(void)state;
	unsetenv(LIBMSHARE_MOUNT_ENV);
	msh_mount_cache_reset();
	msh_mountinfo_path = fixture("mountinfo-none");
	fake_reset();
	assert_fails(mshare_stat("r", &st), ENODEV);
	assert_fails(mshare_statfs(&sfs), ENODEV);
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
	assert_int_equal(fake_calls(FAKE_IOCTL), 0);
}

/* ---- the conversion of versioned structures --------------------------- */

/* A kernel structure with room for fields of a later version. */
struct region_stat_v9 {
	struct msharefs_region_stat v1;
	__u64 later[4];
};

static void test_convert_region(void **state)
{
	struct region_stat_v9 k;
	struct mshare_stat st;

	(void)state;
	memset(&k, 0, sizeof(k));
	memcpy(&k.v1, &kregion, sizeof(k.v1));
	k.v1.version = 1;
	k.v1.size = MSH_REGION_STAT_V1_SIZE;
	k.later[0] = 77;

	/* An older kernel filled less than a newer library asked for. */
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st), 0);
	assert_kregion(&st);
	/* The exact size. */
	assert_int_equal(msh_region_stat_convert(&k.v1, MSH_REGION_STAT_V1_SIZE,
						 &st), 0);
	assert_kregion(&st);
	/* A newer kernel, the whole buffer filled. */
	k.v1.version = 3;
	k.v1.size = sizeof(k);
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st), 0);
	assert_int_equal(st.version, 3);
	assert_int_equal(st.reserved[0], 0);

	/* More than asked, less than version 1, no version. */
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k) - 1, &st),
			 -EPROTO);
	k.v1.size = MSH_REGION_STAT_V1_SIZE - 4;
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st),
			 -EPROTO);
	k.v1.size = 0;
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st),
			 -EPROTO);
	k.v1.size = MSH_REGION_STAT_V1_SIZE;
	k.v1.version = 0;
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st),
			 -EPROTO);

	/* Extremes pass through. */
	k.v1.version = 1;
	k.v1.uid = 0xfffffffe;
	k.v1.pt_bytes_saved = INT64_MIN;
	k.v1.resident_pages = UINT64_MAX / 4096;
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st), 0);
	assert_int_equal(st.uid, 0xfffffffe);
	assert_true(st.pt_bytes_saved == INT64_MIN);
	assert_true(st.resident_bytes == UINT64_MAX / 4096 * 4096);
	k.v1.resident_pages++;
	assert_int_equal(msh_region_stat_convert(&k.v1, sizeof(k), &st),
			 -EOVERFLOW);
}

static void test_convert_fs(void **state)
{
	struct msharefs_fs_stat k = kfs;
	struct mshare_statfs st;

	(void)state;
	k.version = 1;
	k.size = MSH_FS_STAT_V1_SIZE;
	assert_int_equal(msh_fs_stat_convert(&k, sizeof(k) + 64, &st), 0);
	assert_string_equal(st.module_version, "0.1.0");
	assert_int_equal(st.resident_bytes, 1536 * 4096);
	k.size = MSH_FS_STAT_V1_SIZE - 1;
	assert_int_equal(msh_fs_stat_convert(&k, sizeof(k), &st), -EPROTO);
	k.size = MSH_FS_STAT_V1_SIZE;
	memset(k.module_version, 'v', sizeof(k.module_version));
	assert_int_equal(msh_fs_stat_convert(&k, sizeof(k), &st), -EPROTO);
	k.module_version[sizeof(k.module_version) - 1] = '\0';
	assert_int_equal(msh_fs_stat_convert(&k, sizeof(k), &st), 0);
	assert_int_equal(strlen(st.module_version), 31);
	k.page_size = 0;
	assert_int_equal(msh_fs_stat_convert(&k, sizeof(k), &st), -EPROTO);
}

/* ---- mshare_statfs ---------------------------------------------------- */

static void test_statfs(void **state)
{
	const char *mnt = *state;
	struct mshare_statfs st;
	size_t i;

	memset(&st, 0xff, sizeof(st));
	fake_reset();
	assert_int_equal(mshare_statfs(&st), 0);
	assert_string_equal(fake_last.open_path, mnt);
	assert_int_equal(fake_last.open_flags,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fake_last.ioctl_req, MSHAREFS_GET_FS_STAT);
	assert_int_equal(fake_calls(FAKE_CLOSE), 1);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.reserved0, 0);
	assert_int_equal(st.granule, SZ);
	assert_int_equal(st.page_size, 4096);
	assert_int_equal(st.regions, 2);
	assert_int_equal(st.attachers, 5);
	assert_int_equal(st.windows, 6);
	assert_int_equal(st.resident_bytes, 1536 * 4096);
	assert_int_equal(st.pt_tables, 5);
	assert_int_equal(st.pt_links, 3);
	assert_int_equal(st.pt_bytes_saved, -8192);
	assert_int_equal(st.pt_pooled, 9);
	assert_string_equal(st.module_version, "0.1.0");
	for (i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		assert_int_equal(st.reserved[i], 0);
}

static void test_statfs_errors(void **state)
{
	struct mshare_statfs st, before;

	(void)state;
	memset(&st, 0x5a, sizeof(st));
	before = st;
	assert_fails(mshare_statfs(NULL), EINVAL);

	fake_reset();
	fake_fail(FAKE_OPEN, EMFILE);
	assert_fails(mshare_statfs(&st), EMFILE);
	fake_fail(FAKE_IOCTL, EIO);
	assert_fails(mshare_statfs(&st), EIO);
	assert_int_equal(fake_calls(FAKE_OPEN), fake_calls(FAKE_CLOSE) + 1);

	/* A module without statistics. */
	fake_ioctl(NULL);
	assert_fails(mshare_statfs(&st), ENOTTY);
	fake_ioctl(kernel);

	/* Bad replies. */
	memset(kfs.module_version, 'v', sizeof(kfs.module_version));
	assert_fails(mshare_statfs(&st), EPROTO);
	snprintf(kfs.module_version, sizeof(kfs.module_version), "0.1.0");
	ksize = 4;
	assert_fails(mshare_statfs(&st), EPROTO);
	ksize = 0;

	/* The mount went away after it was found. */
	assert_non_null(mshare_mount_point());
	fake_msharefs_dir(NULL);
	fake_reset();
	assert_fails(mshare_statfs(&st), ENODEV);
	assert_int_equal(fake_calls(FAKE_IOCTL), 0);
	assert_int_equal(fake_calls(FAKE_OPEN), fake_calls(FAKE_CLOSE));
	assert_memory_equal(&st, &before, sizeof(st));
}

/* ---- threads ---------------------------------------------------------- */

static void *stat_loop(void *arg)
{
	struct mshare_statfs sfs;
	struct mshare_stat st;
	long bad = 0;
	int i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		if (mshare_stat("r", &st) || st.attachers != 3)
			bad++;
		if (mshare_statfs(&sfs) || sfs.regions != 2)
			bad++;
	}
	return (void *)bad;
}

static void test_stat_threads(void **state)
{
	pthread_t th[4];
	void *bad;
	int i;

	(void)state;
	region("r");
	/* The first calls of every thread race to find the mount. */
	msh_mount_cache_reset();
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stat_loop, NULL),
				 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stat),
		T(test_fstat),
		T(test_stat_args),
		T(test_stat_errors),
		T(test_stat_bad_replies),
		T(test_stat_enodev),
		T(test_convert_region),
		T(test_convert_fs),
		T(test_statfs),
		T(test_statfs_errors),
		T(test_stat_threads),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

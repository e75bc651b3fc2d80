// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare_info parsing and mshare_granule(): the granule from
 * MSHAREFS_GET_FS_STAT on mshare_info, or (a file that does not answer it)
 * from its text.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"
#include "fake.h"

static void write_info(const char *mnt, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", mnt, MSHAREFS_INFO_NAME);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int parse(const char *text)
{
	long val = -7;
	int ret = msh_granule_parse(text, strlen(text), &val);

	if (ret)
		assert_int_equal(val, -7);
	return ret;
}

static void test_parse_good(void **state)
{
	long val = 0;

	(void)state;
	assert_int_equal(msh_granule_parse("2097152\n", 8, &val), 0);
	assert_int_equal(val, 2097152);
	assert_int_equal(msh_granule_parse("2097152", 7, &val), 0);
	assert_int_equal(val, 2097152);
	assert_int_equal(msh_granule_parse("1073741824\n", 11, &val), 0);
	assert_int_equal(val, 1073741824);
	assert_int_equal(msh_granule_parse("4096", 4, &val), 0);
	assert_int_equal(val, 4096);
	/* 2^62, the largest power of two in a long. */
	assert_int_equal(msh_granule_parse("4611686018427387904\n", 20, &val),
			 0);
	assert_int_equal(val, 4611686018427387904L);
	/* Only @len bytes count. */
	assert_int_equal(msh_granule_parse("4096junk", 4, &val), 0);
	assert_int_equal(val, 4096);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"\n\n",
		"2097152\n\n",
		" 2097152",
		"2097152 ",
		"+2097152",
		"-2097152",
		"0x200000",
		"2097152x",
		"2,097,152",
		"0",
		"0\n",
		"3",
		"2097151",
		"2097153\n",
		"abc",
		"9223372036854775807",		/* LONG_MAX: not a power of 2 */
		"9223372036854775808",		/* 2^63: overflows long */
		"18446744073709551616",		/* 2^64 */
		"99999999999999999999999999999",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("\"%s\"\n", bad[i]);
		assert_int_equal(parse(bad[i]), -EPROTO);
	}
	/* An embedded NUL. */
	assert_int_equal(msh_granule_parse("20\0" "48", 5, &(long){0}),
			 -EPROTO);
}

static void expect_granule_error(int err)
{
	msh_granule_cache_reset();
	errno = 0;
	assert_int_equal(mshare_granule(), -1);
	assert_int_equal(errno, err);
}

static void test_granule(void **state)
{
	const char *mnt = *state;

	write_info(mnt, "2097152\n", 8);
	fake_reset();
	assert_int_equal(mshare_granule(), 2097152);
	assert_int_equal(fake_calls(FAKE_OPEN), 1);
	assert_true(fake_last.open_flags & O_CLOEXEC);
	assert_int_equal(fake_calls(FAKE_CLOSE), 1);

	/* Cached: the file is not read again. */
	write_info(mnt, "garbage", 7);
	fake_reset();
	assert_int_equal(mshare_granule(), 2097152);
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
}

static void test_granule_bad_content(void **state)
{
	const char *mnt = *state;
	char big[100];

	write_info(mnt, "garbage\n", 8);
	expect_granule_error(EPROTO);
	write_info(mnt, "", 0);
	expect_granule_error(EPROTO);
	write_info(mnt, "99999999999999999999999\n", 24);
	expect_granule_error(EPROTO);
	/* Longer than any valid content, even if it starts well. */
	memset(big, '0', sizeof(big));
	memcpy(big, "2097152", 7);
	write_info(mnt, big, sizeof(big));
	expect_granule_error(EPROTO);
	/* A failure is not cached. */
	write_info(mnt, "4096\n", 5);
	assert_int_equal(mshare_granule(), 4096);
}

static void test_granule_io_errors(void **state)
{
	const char *mnt = *state;

	/* No mshare_info: open(2)'s errno. */
	expect_granule_error(ENOENT);

	write_info(mnt, "2097152\n", 8);
	fake_fail(FAKE_OPEN, EACCES);
	expect_granule_error(EACCES);
	fake_fail(FAKE_READ, EIO);
	expect_granule_error(EIO);
	/* A failing close(2) in the cleanup does not clobber errno. */
	fake_fail(FAKE_READ, EIO);
	fake_fail(FAKE_CLOSE, EINTR);
	expect_granule_error(EIO);
	/* EINTR from read(2) is retried. */
	fake_reset();
	fake_fail(FAKE_READ, EINTR);
	msh_granule_cache_reset();
	assert_int_equal(mshare_granule(), 2097152);
	assert_int_equal(fake_calls(FAKE_READ), 3);
}

static void test_granule_no_mount(void **state)
{
	(void)state;
	setenv(LIBMSHARE_MOUNT_ENV, "/", 1);
	msh_mount_cache_reset();
	expect_granule_error(ENODEV);
}

static void test_granule_long_mount(void **state)
{
	char *path = malloc(PATH_MAX);

	(void)state;
	assert_non_null(path);
	/* A mount point so long mshare_info does not fit in PATH_MAX. */
	memset(path, 'm', PATH_MAX - 5);
	path[0] = '/';
	path[PATH_MAX - 5] = '\0';
	fake_msharefs_path(path);
	setenv(LIBMSHARE_MOUNT_ENV, path, 1);
	msh_mount_cache_reset();
	expect_granule_error(ENAMETOOLONG);
	free(path);
}

/*
 * A module that answers MSHAREFS_GET_FS_STAT with granule fake_granule, or
 * fails it with fake_stat_errno (a fake_ioctl() function returns -errno).
 */
static unsigned long long fake_granule;
static int fake_stat_errno;

static int stat_kernel(int fd, unsigned long req, void *arg)
{
	struct msharefs_fs_stat *st = arg;

	(void)fd;
	if (req != MSHAREFS_GET_FS_STAT)
		return -ENOTTY;
	if (fake_stat_errno)
		return -fake_stat_errno;
	memset(st, 0, sizeof(*st));
	st->version = 1;
	st->size = sizeof(*st);
	st->granule = fake_granule;
	st->page_size = 4096;
	return 0;
}

static void test_granule_from_stat(void **state)
{
	const char *mnt = *state;

	/* mshare_info holds upstream's unit; the statistics the granule. */
	write_info(mnt, "549755813888\n", 13);
	fake_ioctl(stat_kernel);
	fake_granule = 2097152;
	fake_stat_errno = 0;
	fake_reset();
	msh_granule_cache_reset();
	assert_int_equal(mshare_granule(), 2097152);
	assert_int_equal(fake_calls(FAKE_IOCTL), 1);
	assert_int_equal(fake_last.ioctl_req, MSHAREFS_GET_FS_STAT);
	assert_int_equal(fake_calls(FAKE_READ), 0);
	assert_int_equal(fake_calls(FAKE_CLOSE), 1);

	/* Not a power of two, or an error of the request: no fallback. */
	fake_granule = 3 << 20;
	expect_granule_error(EPROTO);
	fake_granule = 0;
	expect_granule_error(EPROTO);
	fake_granule = 2097152;
	fake_stat_errno = EIO;
	expect_granule_error(EIO);

	/* A file that does not answer (msharefs 0.1): its text. */
	fake_ioctl(NULL);
	write_info(mnt, "2097152\n", 8);
	msh_granule_cache_reset();
	assert_int_equal(mshare_granule(), 2097152);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_mount_fixture_setup, \
					       fake_mount_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		T(test_granule),
		T(test_granule_bad_content),
		T(test_granule_io_errors),
		T(test_granule_no_mount),
		T(test_granule_long_mount),
		T(test_granule_from_stat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mount discovery: fixture mount tables, $LIBMSHARE_MOUNT, the cache.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"
#include "fake.h"

static int setup(void **state)
{
	(void)state;
	fake_reset();
	unsetenv(LIBMSHARE_MOUNT_ENV);
	msh_mount_cache_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_mount_teardown();
	return 0;
}

/* Discover from fixture @file; returns the path (to free) or NULL. */
static char *discover(const char *file, int expect)
{
	char *out = NULL;

	assert_int_equal(msh_mount_discover_file(fixture(file), &out), expect);
	if (expect)
		assert_null(out);
	else
		assert_non_null(out);
	return out;
}

static void expect_found(const char *file, const char *path)
{
	char *out = discover(file, 0);

	assert_string_equal(out, path);
	free(out);
}

static void test_none(void **state)
{
	(void)state;
	fake_msharefs_path(MSHAREFS_MOUNT_POINT);
	discover("mountinfo-none", -ENODEV);
	discover("mountinfo-empty", -ENODEV);
	discover("does-not-exist", -ENODEV);
}

static void test_one(void **state)
{
	(void)state;
	/* Listed, but statfs(2) does not confirm it. */
	discover("mountinfo-one", -ENODEV);
	assert_int_equal(fake_calls(FAKE_STATFS), 1);
	fake_msharefs_path("/mnt/mshare");
	expect_found("mountinfo-one", "/mnt/mshare");
}

static void test_several(void **state)
{
	(void)state;
	/* /sys/fs/mshare wins though it is not listed first. */
	fake_msharefs_path("/mnt/first");
	fake_msharefs_path("/mnt/last");
	fake_msharefs_path(MSHAREFS_MOUNT_POINT);
	expect_found("mountinfo-several", MSHAREFS_MOUNT_POINT);

	/* Without it, the first one listed. */
	fake_reset();
	fake_msharefs_path("/mnt/last");
	fake_msharefs_path("/mnt/first");
	expect_found("mountinfo-several", "/mnt/first");

	/* Entries statfs(2) does not confirm are skipped. */
	fake_reset();
	fake_msharefs_path("/mnt/last");
	expect_found("mountinfo-several", "/mnt/last");

	fake_reset();
	discover("mountinfo-several", -ENODEV);
}

static void test_wrong_type(void **state)
{
	(void)state;
	fake_msharefs_path(MSHAREFS_MOUNT_POINT);
	fake_msharefs_path("/mnt/fuse");
	fake_msharefs_path("/mnt/msharefs");
	discover("mountinfo-wrong-type", -ENODEV);
	/* Not even asked: the fstype rules them out. */
	assert_int_equal(fake_calls(FAKE_STATFS), 0);
}

static void test_escaped(void **state)
{
	(void)state;
	fake_msharefs_path("/mnt/my mshare\tdir");
	expect_found("mountinfo-escaped", "/mnt/my mshare\tdir");
}

static void test_garbage(void **state)
{
	(void)state;
	fake_msharefs_path("/mnt/mshare");
	expect_found("mountinfo-garbage", "/mnt/mshare");
}

static void test_stream(void **state)
{
	static const char text[] =
		"41 28 0:40 / /mnt/a rw,relatime - msharefs msharefs rw\n"
		"42 22 0:41 / /sys/fs/mshare rw,relatime - msharefs msharefs rw\n";
	char *out = NULL;
	FILE *f;

	(void)state;
	fake_msharefs_path("/mnt/a");
	fake_msharefs_path(MSHAREFS_MOUNT_POINT);
	f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(msh_mount_discover_stream(f, &out), 0);
	fclose(f);
	assert_string_equal(out, MSHAREFS_MOUNT_POINT);
	free(out);
}

static void test_resolve_env(void **state)
{
	char *out = NULL;
	char dir[PATH_MAX + 2];
	const char *mnt;

	(void)state;
	mnt = fake_mount_setup();
	assert_non_null(mnt);

	/* The environment wins over the mount table. */
	fake_msharefs_path(MSHAREFS_MOUNT_POINT);
	assert_int_equal(msh_mount_resolve(mnt, fixture("mountinfo-several"),
					   &out), 0);
	assert_string_equal(out, mnt);
	free(out);

	/* Trailing slashes are trimmed. */
	snprintf(dir, sizeof(dir), "%s//", mnt);
	assert_int_equal(msh_mount_resolve(dir, NULL, &out), 0);
	assert_string_equal(out, mnt);
	free(out);

	/* Set, but not msharefs: no fallback to the mount table. */
	out = NULL;
	assert_int_equal(msh_mount_resolve("/", fixture("mountinfo-several"),
					   &out), -ENODEV);
	assert_int_equal(msh_mount_resolve("/nonexistent/dir",
					   fixture("mountinfo-several"),
					   &out), -ENODEV);
	assert_int_equal(msh_mount_resolve("", fixture("mountinfo-several"),
					   &out), -ENODEV);
	assert_null(out);

	/* Unset: the mount table. */
	assert_int_equal(msh_mount_resolve(NULL, fixture("mountinfo-several"),
					   &out), 0);
	assert_string_equal(out, MSHAREFS_MOUNT_POINT);
	free(out);
}

static void test_public_env(void **state)
{
	const char *mnt, *got;

	(void)state;
	mnt = fake_mount_setup();
	assert_non_null(mnt);
	got = mshare_mount_point();
	assert_non_null(got);
	assert_string_equal(got, mnt);
	/* Cached: the same pointer, no new statfs(2). */
	fake_reset();
	errno = 1234;
	assert_ptr_equal(mshare_mount_point(), got);
	assert_int_equal(fake_calls(FAKE_STATFS), 0);
	assert_int_equal(errno, 1234);

	/* Not msharefs -> ENODEV, and a failure is not cached. */
	msh_mount_cache_reset();
	setenv(LIBMSHARE_MOUNT_ENV, "/", 1);
	errno = 0;
	assert_null(mshare_mount_point());
	assert_int_equal(errno, ENODEV);
	setenv(LIBMSHARE_MOUNT_ENV, mnt, 1);
	got = mshare_mount_point();
	assert_non_null(got);
	assert_string_equal(got, mnt);
}

static void test_public_table(void **state)
{
	const char *got;

	(void)state;
	msh_mountinfo_path = fixture("mountinfo-none");
	errno = 0;
	assert_null(mshare_mount_point());
	assert_int_equal(errno, ENODEV);

	msh_mountinfo_path = fixture("mountinfo-one");
	fake_msharefs_path("/mnt/mshare");
	got = mshare_mount_point();
	assert_non_null(got);
	assert_string_equal(got, "/mnt/mshare");

	/* statfs(2) failing for every candidate. */
	msh_mount_cache_reset();
	fake_fail(FAKE_STATFS, EACCES);
	errno = 0;
	assert_null(mshare_mount_point());
	assert_int_equal(errno, ENODEV);
}

#define NR_THREADS	16

static pthread_barrier_t barrier;

static void *mount_thread(void *arg)
{
	const char **slot = arg;

	pthread_barrier_wait(&barrier);
	*slot = mshare_mount_point();
	return NULL;
}

static void test_threads(void **state)
{
	const char *got[NR_THREADS];
	pthread_t threads[NR_THREADS];
	const char *mnt;
	int i;

	(void)state;
	mnt = fake_mount_setup();
	assert_non_null(mnt);
	fake_reset();
	assert_int_equal(pthread_barrier_init(&barrier, NULL, NR_THREADS), 0);
	for (i = 0; i < NR_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL,
						mount_thread, &got[i]), 0);
	for (i = 0; i < NR_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&barrier);

	assert_non_null(got[0]);
	assert_string_equal(got[0], mnt);
	for (i = 1; i < NR_THREADS; i++)
		assert_ptr_equal(got[i], got[0]);
	/* Resolved once. */
	assert_int_equal(fake_calls(FAKE_STATFS), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

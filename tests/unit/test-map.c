// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare_map(), mshare_unmap() and mshare_protect(): the requests they
 * send (numbers and structures, upstream's and ours), errno passed through
 * from the kernel, and what the library refuses itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "fake.h"

#define G	(2UL << 20)

static unsigned long got_req;
static int got_fd;
static struct mshare_create got_create;
static struct mshare_unmap got_unmap;
static struct mshare_protect got_protect;
static int kernel_err;

static int kernel(int fd, unsigned long req, void *arg)
{
	got_fd = fd;
	got_req = req;
	if (req == MSHAREFS_CREATE_MAPPING)
		memcpy(&got_create, arg, sizeof(got_create));
	else if (req == MSHAREFS_UNMAP)
		memcpy(&got_unmap, arg, sizeof(got_unmap));
	else if (req == MSHAREFS_PROTECT)
		memcpy(&got_protect, arg, sizeof(got_protect));
	else
		return -ENOTTY;
	return kernel_err ? -kernel_err : 0;
}

static int setup(void **state)
{
	(void)state;
	fake_reset();
	fake_ioctl(kernel);
	got_req = 0;
	got_fd = -1;
	kernel_err = 0;
	memset(&got_create, 0xa5, sizeof(got_create));
	memset(&got_unmap, 0xa5, sizeof(got_unmap));
	memset(&got_protect, 0xa5, sizeof(got_protect));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_ioctl(NULL);
	return 0;
}

/* The ABI: upstream v3's numbers and layouts, ours after them. */
static void test_abi(void **state)
{
	(void)state;
	assert_int_equal(MSHAREFS_CREATE_MAPPING, _IOW('x', 0, struct mshare_create));
	assert_int_equal(MSHAREFS_UNMAP, _IOW('x', 1, struct mshare_unmap));
	assert_int_equal(MSHAREFS_PROTECT, _IOW('x', 2, struct mshare_protect));
	assert_int_equal(offsetof(struct mshare_create, prot), 24);
	assert_int_equal(offsetof(struct mshare_create, fd), 32);
	assert_int_equal(sizeof(struct mshare_unmap), 16);
	assert_int_equal(sizeof(struct mshare_protect), 24);
}

static void test_map_request(void **state)
{
	(void)state;
	assert_int_equal(mshare_map(7, 2 * G, 3 * G, PROT_READ | PROT_EXEC), 0);
	assert_int_equal(got_fd, 7);
	assert_int_equal(got_req, MSHAREFS_CREATE_MAPPING);
	assert_int_equal(got_create.region_offset, 2 * G);
	assert_int_equal(got_create.size, 3 * G);
	assert_int_equal(got_create.offset, 0);
	assert_int_equal(got_create.prot, PROT_READ | PROT_EXEC);
	assert_int_equal(got_create.flags, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS);
	assert_int_equal(got_create.fd, (__u32)-1);
}

static void test_unmap_request(void **state)
{
	(void)state;
	assert_int_equal(mshare_unmap(5, G, G), 0);
	assert_int_equal(got_req, MSHAREFS_UNMAP);
	assert_int_equal(got_unmap.region_offset, G);
	assert_int_equal(got_unmap.size, G);
}

static void test_protect_request(void **state)
{
	(void)state;
	assert_int_equal(mshare_protect(5, 0, 4 * G, PROT_NONE), 0);
	assert_int_equal(got_req, MSHAREFS_PROTECT);
	assert_int_equal(got_protect.region_offset, 0);
	assert_int_equal(got_protect.size, 4 * G);
	assert_int_equal(got_protect.prot, PROT_NONE);
	assert_int_equal(got_protect.flags, 0);
}

/* The kernel's errno reaches the caller unchanged, -1 returned. */
static void test_errno_passed(void **state)
{
	static const int errs[] = { EINVAL, EBADF, ENOMEM, ENOTTY, EFAULT, EOPNOTSUPP };

	(void)state;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		kernel_err = errs[i];
		errno = 0;
		assert_int_equal(mshare_map(3, 0, G, PROT_READ), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(mshare_unmap(3, 0, G), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(mshare_protect(3, 0, G, PROT_READ), -1);
		assert_int_equal(errno, errs[i]);
	}
}

/* A negative prot cannot be expressed in the request: EINVAL, no call. */
static void test_negative_prot(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(mshare_map(3, 0, G, -1), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(mshare_protect(3, 0, G, -4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(got_req, 0);
}

/* Without a fake kernel: a file that is not a region says ENOTTY. */
static void test_not_a_region(void **state)
{
	(void)state;
	fake_ioctl(NULL);
	errno = 0;
	assert_int_equal(mshare_unmap(0, 0, G), -1);
	assert_true(errno == ENOTTY || errno == EBADF);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_abi),
		T(test_map_request),
		T(test_unmap_request),
		T(test_protect_request),
		T(test_errno_passed),
		T(test_negative_prot),
		T(test_not_a_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

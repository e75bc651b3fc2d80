// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing /proc/self/maps for mdetach(): fixture text, no real mappings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "internal.h"
#include "fake.h"

#define MSH_DEV		makedev(0, 0x2a)

static int find_in(const char *file, uintptr_t addr, dev_t dev,
		   uintptr_t *start, size_t *len)
{
	FILE *f = fopen(fixture(file), "re");
	int ret;

	assert_non_null(f);
	ret = msh_maps_find(f, addr, dev, start, len);
	fclose(f);
	return ret;
}

static int find_str(const char *text, uintptr_t addr, dev_t dev,
		    uintptr_t *start, size_t *len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	assert_non_null(f);
	ret = msh_maps_find(f, addr, dev, start, len);
	fclose(f);
	return ret;
}

static void test_parse_line(void **state)
{
	struct msh_vma vma;

	(void)state;
	assert_int_equal(msh_maps_parse_line(
		"7f0000000000-7f0000200000 rw-s 00001000 00:2a 17   /sys/fs/mshare/r\n",
		&vma), 0);
	assert_int_equal(vma.start, 0x7f0000000000);
	assert_int_equal(vma.end, 0x7f0000200000);
	assert_int_equal(vma.offset, 0x1000);
	assert_int_equal(vma.major, 0);
	assert_int_equal(vma.minor, 0x2a);
	assert_int_equal(vma.inode, 17);

	/* Anonymous: nothing after the inode. */
	assert_int_equal(msh_maps_parse_line(
		"7f0000c00000-7f0000c01000 rw-p 00000000 00:00 0", &vma), 0);
	assert_int_equal(vma.inode, 0);
	/* Minor numbers above 0xff print with more digits. */
	assert_int_equal(msh_maps_parse_line(
		"1000-2000 rw-s 00000000 10a:3f1 77 /x\n", &vma), 0);
	assert_int_equal(vma.major, 0x10a);
	assert_int_equal(vma.minor, 0x3f1);

	assert_int_equal(msh_maps_parse_line("", &vma), -EINVAL);
	assert_int_equal(msh_maps_parse_line("garbage\n", &vma), -EINVAL);
	assert_int_equal(msh_maps_parse_line("1000-2000 rw-s 0 00:2a\n", &vma),
			 -EINVAL);
	assert_int_equal(msh_maps_parse_line("1000-2000 rw-s 0 00:2a 7x /y\n",
					     &vma), -EINVAL);
	/* Empty or inverted ranges. */
	assert_int_equal(msh_maps_parse_line("2000-2000 rw-s 0 00:2a 7\n",
					     &vma), -EINVAL);
	assert_int_equal(msh_maps_parse_line("3000-2000 rw-s 0 00:2a 7\n",
					     &vma), -EINVAL);
}

static void test_find_plain(void **state)
{
	uintptr_t start = 0;
	size_t len = 0;

	(void)state;
	assert_int_equal(find_in("maps-sample", 0x7f0000000000, MSH_DEV,
				 &start, &len), 0);
	assert_int_equal(start, 0x7f0000000000);
	assert_int_equal(len, 0x200000);
}

static void test_find_deleted(void **state)
{
	uintptr_t start = 0;
	size_t len = 0;

	(void)state;
	/* Unlinked region: the path ends in " (deleted)", the device holds. */
	assert_int_equal(find_in("maps-sample", 0x7f0000200000, MSH_DEV,
				 &start, &len), 0);
	assert_int_equal(start, 0x7f0000200000);
	assert_int_equal(len, 0x200000);
}

static void test_find_split(void **state)
{
	uintptr_t start = 0;
	size_t len = 0;

	(void)state;
	/* Three VMAs after an mprotect(); the adjacent window of the same
	 * region (offset 0 again) is a different attachment. */
	assert_int_equal(find_in("maps-sample", 0x7f0000400000, MSH_DEV,
				 &start, &len), 0);
	assert_int_equal(start, 0x7f0000400000);
	assert_int_equal(len, 0x200000);
	assert_int_equal(find_in("maps-sample", 0x7f0000600000, MSH_DEV,
				 &start, &len), 0);
	assert_int_equal(start, 0x7f0000600000);
	assert_int_equal(len, 0x200000);
}

static void test_find_big_minor(void **state)
{
	uintptr_t start = 0;
	size_t len = 0;

	(void)state;
	assert_int_equal(find_in("maps-sample", 0x7f0000c01000,
				 makedev(0x10a, 0x3f1), &start, &len), 0);
	assert_int_equal(len, 0x1ff000);
}

static void test_find_einval(void **state)
{
	static const uintptr_t addrs[] = {
		0x7f0000001000,		/* inside a window */
		0x7f00001ff000,		/* its last page */
		0x7f0000401000,		/* start of a split-off VMA */
		0x7f0000800000,		/* shared mapping of another fs */
		0x7f0000a00000,		/* file with a space, other device */
		0x7f0000c00000,		/* anonymous */
		0x55d0c1e4e000,		/* heap */
		0x7ffd7c9a1000,		/* stack */
		0x1000,			/* below everything */
		0x7f0000e00000,		/* in a hole */
		0xfffffffffffff000,	/* above everything */
	};
	uintptr_t start;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		print_message("addr %#lx\n", (unsigned long)addrs[i]);
		assert_int_equal(find_in("maps-sample", addrs[i], MSH_DEV,
					 &start, &len), -EINVAL);
	}
	/* The right address, the wrong device. */
	assert_int_equal(find_in("maps-sample", 0x7f0000000000,
				 makedev(0, 0x2b), &start, &len), -EINVAL);
	assert_int_equal(find_in("maps-sample", 0x7f0000000000,
				 makedev(1, 0x2a), &start, &len), -EINVAL);
	/* Device 0:0 never matches an anonymous mapping (inode 0). */
	assert_int_equal(find_in("maps-sample", 0x7f0000c00000, makedev(0, 0),
				 &start, &len), -EINVAL);
}

static void test_find_text(void **state)
{
	uintptr_t start;
	size_t len;

	(void)state;
	assert_int_equal(find_str("", 0x1000, MSH_DEV, &start, &len), -EINVAL);
	/* Malformed lines are skipped. */
	assert_int_equal(find_str("junk\n\n1000-3000 rw-s 00000000 00:2a 5 /r\n",
				  0x1000, MSH_DEV, &start, &len), 0);
	assert_int_equal(len, 0x2000);
	/* No trailing newline on the last line. */
	assert_int_equal(find_str("1000-3000 rw-s 00000000 00:2a 5", 0x1000,
				  MSH_DEV, &start, &len), 0);
	assert_int_equal(len, 0x2000);
	/* Gap between VMAs of the same file: not merged. */
	assert_int_equal(find_str("1000-2000 rw-s 00000000 00:2a 5 /r\n"
				  "3000-4000 rw-s 00002000 00:2a 5 /r\n",
				  0x1000, MSH_DEV, &start, &len), 0);
	assert_int_equal(len, 0x1000);
	/* Contiguous, but another inode: not merged. */
	assert_int_equal(find_str("1000-2000 rw-s 00000000 00:2a 5 /r\n"
				  "2000-4000 rw-s 00001000 00:2a 6 /s\n",
				  0x1000, MSH_DEV, &start, &len), 0);
	assert_int_equal(len, 0x1000);
	/* A very long path does not confuse the line reader. */
	{
		char text[9000];
		int n;

		n = snprintf(text, sizeof(text),
			     "1000-2000 rw-s 00000000 00:2a 5 /");
		memset(text + n, 'p', 8000);
		strcpy(text + n + 8000, "\n2000-5000 rw-s 00001000 00:2a 5 /r\n");
		assert_int_equal(find_str(text, 0x1000, MSH_DEV, &start, &len),
				 0);
		assert_int_equal(len, 0x4000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_find_plain),
		cmocka_unit_test(test_find_deleted),
		cmocka_unit_test(test_find_split),
		cmocka_unit_test(test_find_big_minor),
		cmocka_unit_test(test_find_einval),
		cmocka_unit_test(test_find_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

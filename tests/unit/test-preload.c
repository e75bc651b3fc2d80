// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare-preload's decisions, against a fake kernel (fake-preload.c):
 * the environment, which mmap() and shmget() calls are redirected, the
 * sizes of regions, munmap/mprotect/madvise/mremap on windows, System V
 * segments with their handle and region, and every fallback: the call the
 * program made goes to the kernel unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "shim.h"
#include "fake-preload.h"

#define MIB		(1UL << 20)
#define G		FAKE_GRANULE
#define RW		(PROT_READ | PROT_WRITE)
#define SHANON		(MAP_SHARED | MAP_ANONYMOUS)

static int setup(void **state)
{
	(void)state;
	fp_reset();
	return 0;
}

/* ---- the environment ---- */

static const char *env_vals[16][2];

static const char *fake_get(const char *name)
{
	int i;

	for (i = 0; i < 16 && env_vals[i][0]; i++)
		if (!strcmp(env_vals[i][0], name))
			return env_vals[i][1];
	return NULL;
}

static void set_env(int n, ...)
{
	va_list ap;
	int i;

	memset(env_vals, 0, sizeof(env_vals));
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		env_vals[i][0] = va_arg(ap, const char *);
		env_vals[i][1] = va_arg(ap, const char *);
	}
	va_end(ap);
}

static int nbad;
static char bad_names[256];

static void count_bad(const char *name, const char *value, const char *what)
{
	(void)value;
	(void)what;
	nbad++;
	strcat(bad_names, name);
	strcat(bad_names, " ");
}

static void test_config_defaults(void **state)
{
	struct msp_config cfg;

	(void)state;
	set_env(0);
	assert_int_equal(msp_config_load(&cfg, fake_get, NULL), 0);
	assert_true(cfg.loaded && cfg.anon && cfg.sysv);
	assert_false(cfg.hugetlb || cfg.verbose);
	assert_int_equal(cfg.min_size, 32 * MIB);
	assert_string_equal(cfg.nodeepbind, "opcache.so:apcu.so");
	assert_string_equal(cfg.mount, "");
}

static void test_config_values(void **state)
{
	struct msp_config cfg;

	(void)state;
	set_env(7, "MSHARE_MIN_SIZE", "1g", "MSHARE_ANON", "off",
		"MSHARE_SYSV", "No", "MSHARE_HUGETLB", "yes",
		"MSHARE_VERBOSE", "1", "MSHARE_NODEEPBIND", "*",
		"LIBMSHARE_MOUNT", "/mnt/m");
	assert_int_equal(msp_config_load(&cfg, fake_get, NULL), 0);
	assert_int_equal(cfg.min_size, 1UL << 30);
	assert_false(cfg.anon || cfg.sysv);
	assert_true(cfg.hugetlb && cfg.verbose);
	assert_string_equal(cfg.nodeepbind, "*");
	assert_string_equal(cfg.mount, "/mnt/m");
}

static void test_config_bad(void **state)
{
	struct msp_config cfg;

	(void)state;
	set_env(5, "MSHARE_MIN_SIZE", "12X", "MSHARE_ANON", "2",
		"MSHARE_VERBOSE", "", "LIBMSHARE_MOUNT", "relative",
		"MSHARE_SYSV", "true");
	nbad = 0;
	bad_names[0] = '\0';
	assert_int_equal(msp_config_load(&cfg, fake_get, count_bad), 4);
	assert_int_equal(nbad, 4);
	assert_string_equal(bad_names,
		"MSHARE_MIN_SIZE MSHARE_ANON MSHARE_VERBOSE LIBMSHARE_MOUNT ");
	/* The defaults stay; the good one is taken. */
	assert_int_equal(cfg.min_size, 32 * MIB);
	assert_true(cfg.anon && cfg.sysv && !cfg.verbose);
	assert_string_equal(cfg.mount, "");
	/* A size of 0 would redirect nothing sensible: refused. */
	set_env(1, "MSHARE_MIN_SIZE", "0");
	assert_int_equal(msp_config_load(&cfg, fake_get, NULL), 1);
}

static void test_parse_size(void **state)
{
	size_t v;

	(void)state;
	assert_int_equal(msp_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msp_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(msp_parse_size("2k", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(msp_parse_size("32M", &v), 0);
	assert_int_equal(v, 32 * MIB);
	assert_int_equal(msp_parse_size("3GiB", &v), 0);
	assert_int_equal(v, 3UL << 30);
	assert_int_equal(msp_parse_size("1t", &v), 0);
	assert_int_equal(v, 1UL << 40);
	assert_int_equal(msp_parse_size("", &v), -EINVAL);
	assert_int_equal(msp_parse_size("-1", &v), -EINVAL);
	assert_int_equal(msp_parse_size("1 M", &v), -EINVAL);
	assert_int_equal(msp_parse_size("1MB", &v), -EINVAL);
	assert_int_equal(msp_parse_size("1P", &v), -EINVAL);
	assert_int_equal(msp_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(msp_parse_size("16777216T", &v), -ERANGE);
}

static void test_parse_bool(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(msp_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(msp_parse_bool("TRUE", &b), 0);
	assert_true(b);
	assert_int_equal(msp_parse_bool("On", &b), 0);
	assert_true(b);
	assert_int_equal(msp_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(msp_parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(msp_parse_bool("", &b), -EINVAL);
	assert_int_equal(msp_parse_bool("2", &b), -EINVAL);
	assert_int_equal(msp_parse_bool("yess", &b), -EINVAL);
}

static void test_list_match(void **state)
{
	(void)state;
	assert_true(msp_list_match("opcache.so:apcu.so",
				   "/usr/lib/php/20220829/opcache.so"));
	assert_true(msp_list_match("opcache.so, apcu.so", "apcu.so"));
	assert_false(msp_list_match("opcache.so", "/x/opcache.so.1"));
	assert_false(msp_list_match("opcache.so", "/opcache.so/x.so"));
	assert_true(msp_list_match("*", "/any/thing.so"));
	assert_true(msp_list_match("lib*", "/usr/lib/libfoo.so"));
	assert_false(msp_list_match("lib*", "/usr/lib/foo.so"));
	assert_false(msp_list_match("", "opcache.so"));
	assert_false(msp_list_match(" : ", "opcache.so"));
}

static void test_mountinfo_line(void **state)
{
	char mnt[64];

	(void)state;
	assert_int_equal(msp_mountinfo_line(
		"36 25 0:33 / /sys/fs/mshare rw,relatime shared:1 - msharefs none rw",
		mnt, sizeof(mnt)), 0);
	assert_string_equal(mnt, "/sys/fs/mshare");
	assert_int_equal(msp_mountinfo_line(
		"36 25 0:33 / /mnt/my\\040regions rw - msharefs none rw\n",
		mnt, sizeof(mnt)), 0);
	assert_string_equal(mnt, "/mnt/my regions");
	assert_int_equal(msp_mountinfo_line(
		"36 25 0:33 / /dev/shm rw - tmpfs tmpfs rw", mnt, sizeof(mnt)), -1);
	assert_int_equal(msp_mountinfo_line(
		"36 25 0:33 / /x rw - msharefsx none rw", mnt, sizeof(mnt)), -1);
	assert_int_equal(msp_mountinfo_line("garbage", mnt, sizeof(mnt)), -1);
	assert_int_equal(msp_mountinfo_line(
		"36 25 0:33 / /a/very/long/mount/point/beyond/the/buffer/size/of/sixty/four/bytes rw - msharefs none rw",
		mnt, sizeof(mnt)), -1);
}

/* ---- which mmap() calls are redirected ---- */

static void test_decide(void **state)
{
	struct msp_config cfg = { .anon = true, .min_size = 32 * MIB };
	const void *a = (void *)(64 * G);

	(void)state;
	assert_int_equal(msp_anon_decide(&cfg, NULL, 32 * MIB, RW, SHANON, G),
			 MSP_REDIRECT);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 32 * MIB - 1, RW, SHANON, G),
			 MSP_TOO_SMALL);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 MAP_PRIVATE | MAP_ANONYMOUS, G),
			 MSP_NOT_SHARED_ANON);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW, MAP_SHARED, G),
			 MSP_NOT_SHARED_ANON);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 MAP_SHARED_VALIDATE | MAP_ANONYMOUS, G),
			 MSP_NOT_SHARED_ANON);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 SHANON | MAP_HUGETLB, G), MSP_HUGETLB);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, PROT_NONE,
					 SHANON, G), MSP_PROT);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW | 0x10,
					 SHANON, G), MSP_PROT);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 SHANON | MAP_LOCKED, G), MSP_FLAGS);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 SHANON | MAP_GROWSDOWN, G), MSP_FLAGS);
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 SHANON | MAP_NORESERVE | MAP_POPULATE |
					 MAP_32BIT | MAP_STACK, G), MSP_REDIRECT);
	/* MAP_FIXED: the window must be exactly the range asked for. */
	assert_int_equal(msp_anon_decide(&cfg, a, 64 * MIB, RW,
					 SHANON | MAP_FIXED, G), MSP_REDIRECT);
	assert_int_equal(msp_anon_decide(&cfg, a, 64 * MIB + 4096, RW,
					 SHANON | MAP_FIXED, G), MSP_FIXED);
	assert_int_equal(msp_anon_decide(&cfg, (char *)a + 4096, 64 * MIB, RW,
					 SHANON | MAP_FIXED, G), MSP_FIXED);
	assert_int_equal(msp_anon_decide(&cfg, a, 64 * MIB + 4096, RW,
					 SHANON | MAP_FIXED_NOREPLACE, G),
			 MSP_REDIRECT);
	assert_int_equal(msp_anon_decide(&cfg, (char *)a + 4096, 64 * MIB, RW,
					 SHANON | MAP_FIXED_NOREPLACE, G),
			 MSP_FIXED);
	cfg.hugetlb = true;
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW,
					 SHANON | MAP_HUGETLB |
					 (21 << MAP_HUGE_SHIFT), G),
			 MSP_REDIRECT);
	cfg.anon = false;
	assert_int_equal(msp_anon_decide(&cfg, NULL, 64 * MIB, RW, SHANON, G),
			 MSP_DISABLED);
}

/* A redirected mmap: a region of the size rounded to the granule. */
static void test_mmap_redirect(void **state)
{
	const struct fp_map *m;
	size_t len = 100 * MIB + 123;
	char *p;

	(void)state;
	errno = 1234;
	p = msp_mmap(NULL, len, RW, SHANON, -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(errno, 1234);
	assert_int_equal(((uintptr_t)p) % G, 0);
	m = fp_map_at((uintptr_t)p);
	assert_non_null(m);
	assert_int_equal(m->kind, FP_REGION);
	assert_int_equal(m->end - m->start, 102 * MIB);
	assert_int_equal(m->prot, RW);
	/* O_TMPFILE on the mount found in mountinfo; closed after mmap. */
	assert_int_equal(fp_calls(FP_OPEN) >= 1, 1);
	assert_int_equal(fp_last.ftruncate_len, 102 * MIB);
	assert_int_equal(fp_open_fds(), 0);
	assert_int_equal(fp_regions(), 1);
	assert_int_equal(msp_nr_windows, 1);
	/* munmap with the length the program asked for: all of it goes. */
	assert_int_equal(msp_munmap(p, len), 0);
	assert_null(fp_map_at((uintptr_t)p));
	assert_int_equal(fp_last.munmap_len, 102 * MIB);
	assert_int_equal(fp_regions(), 0);
	assert_int_equal(msp_nr_windows, 0);
}

/* What is not redirected reaches the kernel with the program's arguments. */
static void test_mmap_passthrough(void **state)
{
	static const struct {
		size_t len;
		int prot, flags;
	} calls[] = {
		{ 64 * MIB, RW, MAP_PRIVATE | MAP_ANONYMOUS },
		{ 16 * MIB, RW, SHANON },
		{ 64 * MIB, PROT_NONE, SHANON },
		{ 64 * MIB, RW, SHANON | MAP_LOCKED },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		unsigned int opens = fp_calls(FP_OPEN);
		void *p = msp_mmap(NULL, calls[i].len, calls[i].prot,
				   calls[i].flags, -1, 0);

		assert_ptr_not_equal(p, MAP_FAILED);
		assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_ANON);
		assert_int_equal(fp_last.mmap_len, calls[i].len);
		assert_int_equal(fp_last.mmap_flags, calls[i].flags);
		assert_int_equal(fp_last.mmap_prot, calls[i].prot);
		assert_int_equal(fp_last.mmap_fd, -1);
		/* The small and the private ones do not even look. */
		if (i < 2)
			assert_int_equal(fp_calls(FP_OPEN), opens);
	}
	assert_int_equal(fp_regions(), 0);
	assert_int_equal(msp_nr_windows, 0);
	/* MAP_HUGETLB: untouched, the kernel's ENOMEM (PostgreSQL retries). */
	assert_ptr_equal(msp_mmap(NULL, 64 * MIB, RW, SHANON | MAP_HUGETLB, -1, 0),
			 MAP_FAILED);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(fp_regions(), 0);
	/* With MSHARE_HUGETLB=1 it is redirected. */
	msp_cfg.hugetlb = true;
	assert_ptr_not_equal(msp_mmap(NULL, 64 * MIB, RW, SHANON | MAP_HUGETLB,
				      -1, 0), MAP_FAILED);
	assert_int_equal(fp_regions(), 1);
}

/* Every failure on the way falls back to the program's call. */
static void test_mmap_fallbacks(void **state)
{
	static const struct {
		enum fp_call call;
		unsigned int skip;
		int err;
	} fails[] = {
		{ FP_OPEN, 2, EOPNOTSUPP },	/* O_TMPFILE (after mountinfo, mshare_info) */
		{ FP_FTRUNCATE, 0, ENOSPC },	/* size= */
		{ FP_MMAP, 0, ENOMEM },		/* the window */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		void *p;

		fp_reset();
		fp_fail(fails[i].call, fails[i].skip, fails[i].err);
		errno = 0;
		p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0);
		assert_ptr_not_equal(p, MAP_FAILED);
		assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_ANON);
		assert_int_equal(fp_last.mmap_len, 64 * MIB);
		assert_int_equal(fp_last.mmap_flags, SHANON);
		assert_int_equal(fp_regions(), 0);
		assert_int_equal(fp_open_fds(), 0);
		assert_int_equal(msp_nr_windows, 0);
	}
	/* Not mounted. */
	fp_reset();
	fp_unmount();
	assert_int_equal(fp_map_at((uintptr_t)msp_mmap(NULL, 64 * MIB, RW, SHANON,
						       -1, 0))->kind, FP_ANON);
	/* MSHARE_ANON=0. */
	fp_reset();
	msp_cfg.anon = false;
	assert_int_equal(fp_map_at((uintptr_t)msp_mmap(NULL, 64 * MIB, RW, SHANON,
						       -1, 0))->kind, FP_ANON);
	/* An explicit LIBMSHARE_MOUNT that is not msharefs: no search. */
	fp_reset();
	strcpy(msp_cfg.mount, "/elsewhere");
	assert_int_equal(fp_map_at((uintptr_t)msp_mmap(NULL, 64 * MIB, RW, SHANON,
						       -1, 0))->kind, FP_ANON);
	strcpy(msp_cfg.mount, FAKE_MNT);
	msp_mount_reset();
	assert_int_equal(fp_map_at((uintptr_t)msp_mmap(NULL, 64 * MIB, RW, SHANON,
						       -1, 0))->kind, FP_REGION);
}

/* The table is full: the kernel's mapping. */
static void test_mmap_table_full(void **state)
{
	void *p[MSP_MAX_WINDOWS];
	unsigned int i;

	(void)state;
	msp_cfg.min_size = 4096;
	for (i = 0; i < MSP_MAX_WINDOWS; i++) {
		struct msp_window w = { .start = (i + 1) * 64 * G,
					.end = (i + 1) * 64 * G + G,
					.known_end = (i + 1) * 64 * G + G,
					.kind = MSP_ANON };

		assert_int_equal(msp_window_add(&w), 0);
	}
	p[0] = msp_mmap(NULL, 4096, RW, SHANON, -1, 0);
	assert_int_equal(fp_map_at((uintptr_t)p[0])->kind, FP_ANON);
	assert_int_equal(fp_regions(), 0);
}

/* A MAP_FIXED redirect at a granule-aligned address. */
static void test_mmap_fixed(void **state)
{
	char *want = (char *)(512 * G), *p, *q;

	(void)state;
	p = msp_mmap(want, 64 * MIB, RW, SHANON | MAP_FIXED, -1, 0);
	assert_ptr_equal(p, want);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_REGION);
	/* A MAP_FIXED mapping over the whole window replaces it. */
	q = msp_mmap(want, 64 * MIB, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	assert_ptr_equal(q, want);
	assert_int_equal(msp_nr_windows, 0);
	assert_int_equal(fp_regions(), 0);
	/* Off the granule: the kernel's MAP_FIXED. */
	p = msp_mmap(want + 4096, 64 * MIB, RW, SHANON | MAP_FIXED, -1, 0);
	assert_ptr_equal(p, want + 4096);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_ANON);
	/* MAP_FIXED_NOREPLACE whose rounded window would overlap: fallback. */
	fp_map_anon(1024 * G + 64 * MIB - 4096, 4096);
	p = msp_mmap((void *)(1024 * G), 64 * MIB - 4096, RW,
		     SHANON | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(p, (void *)(1024 * G));
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_ANON);
	assert_int_equal(msp_nr_windows, 0);
}

/* munmap of part of what the program knows: the module's EINVAL. */
static void test_munmap_partial(void **state)
{
	char *p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0), *q;

	(void)state;
	assert_int_equal(msp_munmap(p, 32 * MIB), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(msp_munmap(p + 4096, 64 * MIB - 4096), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(msp_nr_windows, 1);
	/* A range covering the window and more: all of it. */
	q = fp_map_anon((uintptr_t)p - 4096, 4096);
	assert_int_equal(msp_munmap(q, 4096 + 64 * MIB), 0);
	assert_int_equal(fp_last.munmap_len, 4096 + 64 * MIB);
	assert_int_equal(msp_nr_windows, 0);
	assert_int_equal(fp_nr_maps(), 0);
	/* Other mappings while a window exists: as they are. */
	p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0);
	q = msp_mmap(NULL, 8192, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(msp_munmap(q, 4096), 0);
	assert_int_equal(fp_last.munmap_len, 4096);
	assert_int_equal(msp_munmap(q + 4096, 4096), 0);
	assert_int_equal(msp_nr_windows, 1);
	assert_int_equal(msp_munmap(p, 64 * MIB), 0);
}

/* A window the table has but the process does not (replaced by a raw
 * syscall): forgotten, and the munmap goes through as asked. */
static void test_munmap_stale(void **state)
{
	char *p = msp_mmap(NULL, 63 * MIB, RW, SHANON, -1, 0);

	(void)state;
	/* Behind the library's back: unmapped, another mapping put there. */
	assert_int_equal(msp_sys_munmap(p, 64 * MIB), 0);
	fp_map_anon((uintptr_t)p, 63 * MIB);
	assert_int_equal(msp_munmap(p, 63 * MIB), 0);
	assert_int_equal(fp_last.munmap_len, 63 * MIB);
	assert_int_equal(msp_nr_windows, 0);
}

static void test_mprotect(void **state)
{
	char *p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0), *q;

	(void)state;
	/* To the protection it has: a no-op, also on a part. */
	assert_int_equal(msp_mprotect(p, 64 * MIB, RW), 0);
	assert_int_equal(msp_mprotect(p + 4096, 8192, RW), 0);
	assert_int_equal(fp_calls(FP_MPROTECT), 0);
	/* Another one: the module's EINVAL. */
	assert_int_equal(msp_mprotect(p, 64 * MIB, PROT_READ), -1);
	assert_int_equal(errno, EINVAL);
	/* A range with a window and a neighbour: the neighbour changes. */
	q = fp_map_anon((uintptr_t)p + 64 * MIB, 4096);
	fp_map_anon((uintptr_t)p - 8192, 8192);
	assert_int_equal(msp_mprotect(p - 8192, 8192 + 64 * MIB + 4096, RW), 0);
	assert_ptr_equal(fp_last.mprotect_addr, q);
	assert_int_equal(fp_last.mprotect_len, 4096);
	assert_int_equal(fp_calls(FP_MPROTECT), 3);
	/* An unmapped neighbour: ENOMEM, as the kernel says. */
	assert_int_equal(msp_mprotect(p, 64 * MIB + 8192, RW), -1);
	assert_int_equal(errno, ENOMEM);
}

static void test_madvise(void **state)
{
	char *p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0);

	(void)state;
	/* Hints the module refuses on a part: ignored there. */
	errno = 77;
	assert_int_equal(msp_madvise(p, 4096, MADV_RANDOM), 0);
	assert_int_equal(errno, 77);
	assert_int_equal(msp_madvise(p + 8192, 8192, MADV_NOHUGEPAGE), 0);
	assert_int_equal(msp_posix_madvise(p, 4096, POSIX_MADV_SEQUENTIAL), 0);
	/* What the kernel does on windows: done. */
	assert_int_equal(msp_madvise(p, 4096, MADV_DONTNEED), 0);
	/* Not a hint: the kernel's EINVAL stays. */
	assert_int_equal(msp_madvise(p, 4096, MADV_DONTFORK), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(msp_posix_madvise(p + 3 * 64 * MIB, 4096,
					   POSIX_MADV_WILLNEED), ENOMEM);
}

static void test_mremap(void **state)
{
	char *p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0);
	char *q = msp_mmap(NULL, 64 * MIB, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	/* Moving a window: the module refuses. */
	assert_ptr_equal(msp_mremap(p, 64 * MIB, 64 * MIB,
				    MREMAP_MAYMOVE | MREMAP_FIXED, q), MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	/* Something moved over a whole window replaces it. */
	assert_ptr_equal(msp_mremap(q, 64 * MIB, 64 * MIB,
				    MREMAP_MAYMOVE | MREMAP_FIXED, p), p);
	assert_int_equal(msp_nr_windows, 0);
	assert_int_equal(fp_regions(), 0);
}

/* A call made while the library holds its lock goes to the kernel. */
static void test_reentry(void **state)
{
	void *p;

	(void)state;
	assert_true(msp_lock());
	p = msp_mmap(NULL, 64 * MIB, RW, SHANON, -1, 0);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_ANON);
	msp_unlock();
	assert_int_equal(msp_nr_windows, 0);
}

/* ---- System V ---- */

#define REGION(id)	FAKE_MNT "/sysv/" #id
#define TOMB(id)	FAKE_MNT "/sysv/" #id ".rmid"

static void test_shm_small(void **state)
{
	int id;
	void *p;

	(void)state;
	/* PostgreSQL's 56-byte interlock: a plain segment. */
	id = msp_shmget(0x1234, 56, IPC_CREAT | IPC_EXCL | 0600);
	assert_int_equal(id, 10);
	assert_false(fp_exists(FAKE_MNT "/sysv"));
	p = msp_shmat(id, NULL, 0);
	assert_ptr_not_equal(p, (void *)-1);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_SHM);
	assert_int_equal(fp_shm_nattch(id), 1);
	assert_int_equal(msp_shmdt(p), 0);
	assert_int_equal(msp_shmctl(id, IPC_RMID, NULL), 0);
	assert_false(fp_shm_exists(id));
	assert_int_equal(fp_open_fds(), 0);
}

static void test_shm_redirect(void **state)
{
	struct shmid_ds ds;
	const struct fp_map *m;
	size_t size = 100 * MIB + 5;
	char *p, *q;
	int id;

	(void)state;
	errno = 99;
	id = msp_shmget(IPC_PRIVATE, size, IPC_CREAT | 0640);
	assert_int_equal(id, 10);
	assert_int_equal(errno, 99);
	/* The handle has the exact size; the region the rounded one. */
	assert_int_equal(fp_shm_size(id), size);
	assert_true(fp_exists(REGION(10)));
	assert_int_equal(fp_size(REGION(10)), 102 * MIB);
	assert_int_equal(fp_mode(REGION(10)), 0640);
	assert_int_equal(fp_mode(FAKE_MNT "/sysv"), 01777);

	p = msp_shmat(id, NULL, 0);
	assert_ptr_not_equal(p, (void *)-1);
	assert_int_equal(errno, 99);
	m = fp_map_at((uintptr_t)p);
	assert_int_equal(m->kind, FP_REGION);
	assert_int_equal(m->end - m->start, 102 * MIB);
	assert_int_equal(m->prot, RW);
	/* shm_nattch counts it: the handle, shrunk to one page. */
	assert_int_equal(msp_shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_nattch, 1);
	assert_int_equal(ds.shm_segsz, size);
	assert_int_equal(fp_nr_maps(), 2);
	/* A second, read-only attachment. */
	q = msp_shmat(id, NULL, SHM_RDONLY);
	assert_ptr_not_equal(q, (void *)-1);
	assert_int_equal(fp_map_at((uintptr_t)q)->prot, PROT_READ);
	assert_int_equal(fp_last.open_flags & O_ACCMODE, O_RDONLY);
	assert_int_equal(fp_shm_nattch(id), 2);
	assert_int_equal(msp_shmdt(q), 0);
	assert_int_equal(fp_shm_nattch(id), 1);
	/* IPC_RMID while attached: the name goes, a tombstone stays. */
	assert_int_equal(msp_shmctl(id, IPC_RMID, NULL), 0);
	assert_false(fp_exists(REGION(10)));
	assert_true(fp_exists(TOMB(10)));
	assert_int_equal(fp_regions(), 1);
	/* Attaching it again now: EIDRM, not the handle's memory. */
	assert_ptr_equal(msp_shmat(id, NULL, 0), (void *)-1);
	assert_int_equal(errno, EIDRM);
	assert_int_equal(fp_shm_nattch(id), 1);
	/* The last detach: segment, region and tombstone gone. */
	assert_int_equal(msp_shmdt(p), 0);
	assert_false(fp_shm_exists(id));
	assert_int_equal(fp_regions(), 0);
	assert_false(fp_exists(TOMB(10)));
	assert_int_equal(fp_nr_maps(), 0);
	assert_int_equal(fp_open_fds(), 0);
}

/* Keyed: get-or-create decides who makes the region; IPC_EXCL errnos. */
static void test_shm_keyed(void **state)
{
	int id, id2;

	(void)state;
	id = msp_shmget(0x4242, 64 * MIB, IPC_CREAT | 0600);
	assert_int_equal(id, 10);
	assert_true(fp_exists(REGION(10)));
	/* Again: the same segment, no second region. */
	id2 = msp_shmget(0x4242, 64 * MIB, IPC_CREAT | 0600);
	assert_int_equal(id2, id);
	assert_int_equal(fp_regions(), 1);
	assert_int_equal(msp_shmget(0x4242, 64 * MIB, IPC_CREAT | IPC_EXCL | 0600),
			 -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(msp_shmget(0x4242, 128 * MIB, IPC_CREAT | 0600), -1);
	assert_int_equal(errno, EINVAL);
	/* By key without IPC_CREAT (size 0): the fast path, the same id. */
	assert_int_equal(msp_shmget(0x4242, 0, 0), id);
	assert_int_equal(msp_shmget(0x4343, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(msp_shmctl(id, IPC_RMID, NULL), 0);
	/* Not attached: destroyed at once, no tombstone. */
	assert_false(fp_shm_exists(id));
	assert_false(fp_exists(REGION(10)));
	assert_false(fp_exists(TOMB(10)));
}

static void test_shm_addresses(void **state)
{
	char *want = (char *)(2048 * G), *p;
	int id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);

	(void)state;
	/* Off the granule: EINVAL (documented); SHM_RND rounds to SHMLBA. */
	assert_ptr_equal(msp_shmat(id, want + 4096, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(msp_shmat(id, want + 1, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fp_shm_nattch(id), 0);
	p = msp_shmat(id, want + 1, SHM_RND);
	assert_ptr_equal(p, want);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_REGION);
	/* Occupied: EINVAL; with SHM_REMAP: replaced. */
	assert_ptr_equal(msp_shmat(id, want, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(msp_shmat(id, want, SHM_REMAP), want);
	assert_int_equal(msp_nr_windows, 1);
	assert_int_equal(fp_shm_nattch(id), 1);
	assert_ptr_equal(msp_shmat(id, NULL, SHM_REMAP), (void *)-1);
	assert_int_equal(errno, EINVAL);
	/* munmap of the window, as of any attachment: detaches the handle. */
	assert_int_equal(msp_munmap(want, 64 * MIB), 0);
	assert_int_equal(fp_shm_nattch(id), 0);
	assert_int_equal(msp_nr_windows, 0);
	assert_int_equal(msp_shmctl(id, IPC_RMID, NULL), 0);
}

static void test_shm_fallbacks(void **state)
{
	int id;
	void *p;

	(void)state;
	/* Not mounted: plain. */
	fp_unmount();
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);
	assert_true(id >= 0);
	p = msp_shmat(id, NULL, 0);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_SHM);
	assert_int_equal(msp_shmdt(p), 0);
	/* The region cannot be sized: plain, no region left. */
	fp_reset();
	fp_fail(FP_FTRUNCATE, 0, ENOSPC);
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);
	assert_true(id >= 0);
	assert_false(fp_exists(REGION(10)));
	assert_int_equal(fp_map_at((uintptr_t)msp_shmat(id, NULL, 0))->kind,
			 FP_SHM);
	/* SHM_HUGETLB: untouched (the kernel's answer), unless asked. */
	fp_reset();
	assert_int_equal(msp_shmget(IPC_PRIVATE, 64 * MIB,
				    IPC_CREAT | SHM_HUGETLB | 0600), -1);
	assert_int_equal(errno, ENOMEM);
	msp_cfg.hugetlb = true;
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | SHM_HUGETLB | 0600);
	assert_true(id >= 0);
	assert_false(fp_last.shmget_flags & SHM_HUGETLB);
	assert_true(fp_exists(REGION(10)));
	/* MSHARE_SYSV=0: new segments are plain... */
	fp_reset();
	msp_cfg.sysv = false;
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);
	assert_false(fp_exists(FAKE_MNT "/sysv"));
	/* ...but a segment another process redirected is still its region. */
	msp_cfg.sysv = true;
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);
	msp_cfg.sysv = false;
	p = msp_shmat(id, NULL, 0);
	assert_int_equal(fp_map_at((uintptr_t)p)->kind, FP_REGION);
}

/* The region may not be opened: the kernel's own check decides. */
static void test_shm_eacces(void **state)
{
	int id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);

	(void)state;
	fp_fail(FP_OPEN, 0, EACCES);	/* the region's mode */
	assert_ptr_equal(msp_shmat(id, NULL, 0), (void *)-1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(fp_shm_nattch(id), 0);
	assert_int_equal(fp_nr_maps(), 0);
}

/* Regions and tombstones of segments that are gone are swept. */
static void test_shm_stale(void **state)
{
	int id;

	(void)state;
	id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);
	assert_int_equal(id, 10);
	/* ipcrm(1) outside the library: the region stays... */
	fp_shm_remove(id);
	assert_true(fp_exists(REGION(10)));
	/* ...until a new segment gets the same id. */
	id = msp_shmget(IPC_PRIVATE, 32 * MIB, IPC_CREAT | 0600);
	assert_int_equal(id, 10);
	assert_int_equal(fp_size(REGION(10)), 32 * MIB);
	assert_int_equal(fp_regions(), 1);
	/* A plain segment taking the id of a stale, larger region: plain. */
	fp_shm_remove(id);
	id = msp_sys_shmget(IPC_PRIVATE, 96 * MIB, IPC_CREAT | 0600);
	assert_int_equal(id, 10);
	assert_int_equal(fp_map_at((uintptr_t)msp_shmat(id, NULL, 0))->kind,
			 FP_SHM);
	assert_false(fp_exists(REGION(10)));
	/* Another id whose segment is gone: swept at the next creation. */
	fp_reset();
	assert_int_equal(msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600), 10);
	assert_int_equal(msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600), 11);
	fp_shm_remove(10);
	assert_int_equal(msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600), 10);
	fp_shm_remove(11);
	assert_true(fp_exists(REGION(11)));
	assert_int_equal(msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600), 11);
	fp_shm_remove(10);
	assert_int_equal(msp_shmget(0x77, 64 * MIB, IPC_CREAT | 0600), 10);
	assert_int_equal(fp_regions(), 2);
}

/* IPC_SET follows to the region's mode. */
static void test_shm_ipc_set(void **state)
{
	struct shmid_ds ds = { 0 };
	int id = msp_shmget(IPC_PRIVATE, 64 * MIB, IPC_CREAT | 0600);

	(void)state;
	ds.shm_perm.mode = 0644;
	assert_int_equal(msp_shmctl(id, IPC_SET, &ds), 0);
	assert_int_equal(fp_mode(REGION(10)), 0644);
	assert_int_equal(msp_shmctl(999, IPC_SET, &ds), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_list_match),
		cmocka_unit_test(test_mountinfo_line),
		cmocka_unit_test(test_decide),
		cmocka_unit_test_setup(test_mmap_redirect, setup),
		cmocka_unit_test_setup(test_mmap_passthrough, setup),
		cmocka_unit_test_setup(test_mmap_fallbacks, setup),
		cmocka_unit_test_setup(test_mmap_table_full, setup),
		cmocka_unit_test_setup(test_mmap_fixed, setup),
		cmocka_unit_test_setup(test_munmap_partial, setup),
		cmocka_unit_test_setup(test_munmap_stale, setup),
		cmocka_unit_test_setup(test_mprotect, setup),
		cmocka_unit_test_setup(test_madvise, setup),
		cmocka_unit_test_setup(test_mremap, setup),
		cmocka_unit_test_setup(test_reentry, setup),
		cmocka_unit_test_setup(test_shm_small, setup),
		cmocka_unit_test_setup(test_shm_redirect, setup),
		cmocka_unit_test_setup(test_shm_keyed, setup),
		cmocka_unit_test_setup(test_shm_addresses, setup),
		cmocka_unit_test_setup(test_shm_fallbacks, setup),
		cmocka_unit_test_setup(test_shm_eacces, setup),
		cmocka_unit_test_setup(test_shm_stale, setup),
		cmocka_unit_test_setup(test_shm_ipc_set, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

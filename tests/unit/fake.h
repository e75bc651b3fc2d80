/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fake kernel for the unit tests.  The test binaries are linked with
 * -Wl,--wrap=<call> for each call below; by default every wrapper calls the
 * real function, so the library runs against the real kernel, except that:
 *  - statfs(2)/fstatfs(2) report MSHAREFS_MAGIC for the directory given to
 *    fake_msharefs_dir() (and any file on the same filesystem under it), and
 *    for the made-up paths given to fake_msharefs_path();
 *  - a failure can be injected into any call with fake_fail();
 *  - ioctl(2) can be answered by a fake kernel set with fake_ioctl().
 *
 * Meson builds with -D_FILE_OFFSET_BITS=64, so glibc redirects open, stat,
 * mmap, ... to their *64 symbols: those are the ones wrapped.
 */
#ifndef LIBMSHARE_TEST_FAKE_H
#define LIBMSHARE_TEST_FAKE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

enum fake_call {
	FAKE_OPEN,
	FAKE_FOPEN,
	FAKE_READ,
	FAKE_CLOSE,
	FAKE_STAT,
	FAKE_FSTAT,
	FAKE_STATFS,
	FAKE_FSTATFS,
	FAKE_FTRUNCATE,
	FAKE_MMAP,
	FAKE_MUNMAP,
	FAKE_UNLINK,
	FAKE_IOCTL,
	FAKE_NR_CALLS,
};

struct fake_record {
	char open_path[PATH_MAX];
	int open_flags;
	mode_t open_mode;
	char unlink_path[PATH_MAX];
	off_t ftruncate_len;
	void *mmap_addr;
	size_t mmap_len;
	int mmap_prot;
	int mmap_flags;
	int mmap_fd;
	off_t mmap_off;
	void *munmap_addr;
	size_t munmap_len;
	int ioctl_fd;
	unsigned long ioctl_req;
};

extern struct fake_record fake_last;

/* Forget injected failures, made-up paths, counters and records. */
void fake_reset(void);
/* Make the call after the next @skip calls of @call fail with @err. */
void fake_fail_after(enum fake_call call, unsigned int skip, int err);
static inline void fake_fail(enum fake_call call, int err)
{
	fake_fail_after(call, 0, err);
}
/* Number of calls of @call since the last fake_reset(). */
unsigned int fake_calls(enum fake_call call);

/*
 * Answer ioctl(2) with @fn (NULL: the real kernel, which says ENOTTY for
 * the msharefs requests on tmpfs).  @fn returns 0 or a negated errno.
 * fake_reset() does not change it; fake_mount_teardown() clears it.
 */
typedef int fake_ioctl_fn(int fd, unsigned long req, void *arg);
void fake_ioctl(fake_ioctl_fn *fn);

/* Files under @dir (which must exist) are on "msharefs"; NULL: none. */
void fake_msharefs_dir(const char *dir);
/* statfs(@path) succeeds with MSHAREFS_MAGIC though @path does not exist. */
void fake_msharefs_path(const char *path);

/*
 * A fresh directory on tmpfs (/dev/shm, else $TMPDIR or /tmp) made the
 * fake msharefs, with LIBMSHARE_MOUNT pointing at it and the library's
 * caches reset; fake_mount_teardown() removes it with its content.
 */
const char *fake_mount_setup(void);
void fake_mount_teardown(void);

/* The same as CMocka group/test fixtures (*state: the mount directory). */
int fake_mount_fixture_setup(void **state);
int fake_mount_fixture_teardown(void **state);

/* Absolute path of fixture file @name (tests/unit/fixtures). */
const char *fixture(const char *name);

#endif /* LIBMSHARE_TEST_FAKE_H */

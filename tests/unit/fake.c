// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fake kernel for the unit tests: see fake.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"
#include "fake.h"

#define FAKE_MAX_PATHS	8

struct fake_failure {
	int err;
	unsigned int skip;
};

struct fake_record fake_last;

static struct fake_failure failures[FAKE_NR_CALLS];
static unsigned int counts[FAKE_NR_CALLS];
static char fake_dir[PATH_MAX];
static dev_t fake_dev;
static char fake_paths[FAKE_MAX_PATHS][PATH_MAX];
static unsigned int nr_fake_paths;
static char mount_dir[PATH_MAX];
static fake_ioctl_fn *ioctl_fn;

void fake_reset(void)
{
	memset(failures, 0, sizeof(failures));
	memset(counts, 0, sizeof(counts));
	memset(&fake_last, 0, sizeof(fake_last));
	nr_fake_paths = 0;
}

void fake_fail_after(enum fake_call call, unsigned int skip, int err)
{
	failures[call].skip = skip;
	failures[call].err = err;
}

unsigned int fake_calls(enum fake_call call)
{
	return __atomic_load_n(&counts[call], __ATOMIC_SEQ_CST);
}

/* Count a call of @call; true (errno set) if it must fail. */
static bool fake_enter(enum fake_call call)
{
	struct fake_failure *f = &failures[call];

	__atomic_fetch_add(&counts[call], 1, __ATOMIC_SEQ_CST);
	if (!f->err)
		return false;
	if (f->skip) {
		f->skip--;
		return false;
	}
	errno = f->err;
	f->err = 0;
	return true;
}

static bool under_fake_dir(const char *path)
{
	size_t len = strlen(fake_dir);

	return len && !strncmp(path, fake_dir, len) &&
	       (path[len] == '\0' || path[len] == '/');
}

static bool made_up_path(const char *path)
{
	unsigned int i;

	for (i = 0; i < nr_fake_paths; i++)
		if (!strcmp(fake_paths[i], path))
			return true;
	return false;
}

int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
FILE *__real_fopen64(const char *path, const char *mode);
FILE *__wrap_fopen64(const char *path, const char *mode);
ssize_t __real_read(int fd, void *buf, size_t len);
ssize_t __wrap_read(int fd, void *buf, size_t len);
int __real_close(int fd);
int __wrap_close(int fd);
int __real_stat64(const char *path, struct stat64 *st);
int __wrap_stat64(const char *path, struct stat64 *st);
int __real_fstat64(int fd, struct stat64 *st);
int __wrap_fstat64(int fd, struct stat64 *st);
int __real_statfs64(const char *path, struct statfs64 *sfs);
int __wrap_statfs64(const char *path, struct statfs64 *sfs);
int __real_fstatfs64(int fd, struct statfs64 *sfs);
int __wrap_fstatfs64(int fd, struct statfs64 *sfs);
int __real_ftruncate64(int fd, off64_t len);
int __wrap_ftruncate64(int fd, off64_t len);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off64_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off64_t off);
int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);
int __real_unlink(const char *path);
int __wrap_unlink(const char *path);
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

int __wrap_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	snprintf(fake_last.open_path, sizeof(fake_last.open_path), "%s", path);
	fake_last.open_flags = flags;
	fake_last.open_mode = mode;
	if (fake_enter(FAKE_OPEN))
		return -1;
	return __real_open64(path, flags, mode);
}

FILE *__wrap_fopen64(const char *path, const char *mode)
{
	if (fake_enter(FAKE_FOPEN))
		return NULL;
	return __real_fopen64(path, mode);
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
	if (fake_enter(FAKE_READ))
		return -1;
	return __real_read(fd, buf, len);
}

int __wrap_close(int fd)
{
	if (fake_enter(FAKE_CLOSE)) {
		int err = errno;

		/* Like Linux: the descriptor is released even on error. */
		__real_close(fd);
		errno = err;
		return -1;
	}
	return __real_close(fd);
}

int __wrap_stat64(const char *path, struct stat64 *st)
{
	if (fake_enter(FAKE_STAT))
		return -1;
	return __real_stat64(path, st);
}

int __wrap_fstat64(int fd, struct stat64 *st)
{
	if (fake_enter(FAKE_FSTAT))
		return -1;
	return __real_fstat64(fd, st);
}

int __wrap_statfs64(const char *path, struct statfs64 *sfs)
{
	if (fake_enter(FAKE_STATFS))
		return -1;
	if (made_up_path(path)) {
		memset(sfs, 0, sizeof(*sfs));
		sfs->f_type = MSHAREFS_MAGIC;
		sfs->f_bsize = 4096;
		return 0;
	}
	if (__real_statfs64(path, sfs))
		return -1;
	if (under_fake_dir(path))
		sfs->f_type = MSHAREFS_MAGIC;
	return 0;
}

int __wrap_fstatfs64(int fd, struct statfs64 *sfs)
{
	struct stat64 st;

	if (fake_enter(FAKE_FSTATFS))
		return -1;
	if (__real_fstatfs64(fd, sfs))
		return -1;
	if (fake_dir[0] && !__real_fstat64(fd, &st) && st.st_dev == fake_dev)
		sfs->f_type = MSHAREFS_MAGIC;
	return 0;
}

int __wrap_ftruncate64(int fd, off64_t len)
{
	fake_last.ftruncate_len = len;
	if (fake_enter(FAKE_FTRUNCATE))
		return -1;
	return __real_ftruncate64(fd, len);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off64_t off)
{
	fake_last.mmap_addr = addr;
	fake_last.mmap_len = len;
	fake_last.mmap_prot = prot;
	fake_last.mmap_flags = flags;
	fake_last.mmap_fd = fd;
	fake_last.mmap_off = off;
	if (fake_enter(FAKE_MMAP))
		return MAP_FAILED;
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	fake_last.munmap_addr = addr;
	fake_last.munmap_len = len;
	if (fake_enter(FAKE_MUNMAP))
		return -1;
	return __real_munmap(addr, len);
}

int __wrap_unlink(const char *path)
{
	snprintf(fake_last.unlink_path, sizeof(fake_last.unlink_path), "%s",
		 path);
	if (fake_enter(FAKE_UNLINK))
		return -1;
	return __real_unlink(path);
}

void fake_ioctl(fake_ioctl_fn *fn)
{
	ioctl_fn = fn;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	fake_last.ioctl_fd = fd;
	fake_last.ioctl_req = req;
	if (fake_enter(FAKE_IOCTL))
		return -1;
	if (!ioctl_fn)
		return __real_ioctl(fd, req, arg);
	ret = ioctl_fn(fd, req, arg);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

void fake_msharefs_dir(const char *dir)
{
	struct stat64 st;

	fake_dir[0] = '\0';
	if (!dir || __real_stat64(dir, &st))
		return;
	snprintf(fake_dir, sizeof(fake_dir), "%s", dir);
	fake_dev = st.st_dev;
}

void fake_msharefs_path(const char *path)
{
	if (nr_fake_paths < FAKE_MAX_PATHS)
		snprintf(fake_paths[nr_fake_paths++], PATH_MAX, "%s", path);
}

static const char *tmp_base(void)
{
	struct stat64 st;
	const char *tmp;

	if (!__real_stat64("/dev/shm", &st) && S_ISDIR(st.st_mode) &&
	    !access("/dev/shm", W_OK))
		return "/dev/shm";
	tmp = getenv("TMPDIR");
	return tmp && tmp[0] ? tmp : "/tmp";
}

const char *fake_mount_setup(void)
{
	snprintf(mount_dir, sizeof(mount_dir), "%s/libmshare-unit-XXXXXX",
		 tmp_base());
	if (!mkdtemp(mount_dir))
		return NULL;
	fake_reset();
	fake_msharefs_dir(mount_dir);
	setenv(LIBMSHARE_MOUNT_ENV, mount_dir, 1);
	msh_mount_cache_reset();
	msh_granule_cache_reset();
	return mount_dir;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fake_mount_teardown(void)
{
	if (mount_dir[0])
		nftw(mount_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	mount_dir[0] = '\0';
	fake_msharefs_dir(NULL);
	fake_ioctl(NULL);
	fake_reset();
	unsetenv(LIBMSHARE_MOUNT_ENV);
	msh_mountinfo_path = MSH_MOUNTINFO_PATH;
	msh_maps_path = MSH_MAPS_PATH;
	msh_mount_cache_reset();
	msh_granule_cache_reset();
}

const char *fixture(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, name);
	return path;
}

int fake_mount_fixture_setup(void **state)
{
	*state = (void *)fake_mount_setup();
	return *state ? 0 : -1;
}

int fake_mount_fixture_teardown(void **state)
{
	(void)state;
	fake_mount_teardown();
	return 0;
}

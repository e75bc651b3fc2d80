// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare: thin wrappers around the msharefs filesystem.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

#define MCREATE_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)
#define MATTACH_PROT	(PROT_READ | PROT_WRITE | PROT_EXEC)
#define MATTACH_FLAGS	(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE)

#define OFF_T_MAX	INT64_MAX
_Static_assert(sizeof(off_t) == sizeof(int64_t), "off_t must be 64-bit");

void msh_close_quiet(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/*
 * Is @fd open on msharefs?  Returns 0, -EINVAL if not, or the negated
 * errno of fstatfs(2) (-EBADF...).
 */
int msh_check_fd(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs))
		return -errno;
	return sfs.f_type == MSHAREFS_MAGIC ? 0 : -EINVAL;
}

/* Build the absolute path of region @name in @path (PATH_MAX bytes). */
int msh_region_path(const char *name, char *path)
{
	const char *rel, *mnt;
	int ret;

	ret = msh_name_check(name, &rel);
	if (ret)
		return ret;
	mnt = mshare_mount_point();
	if (!mnt)
		return -errno;
	return msh_path_join(mnt, rel, path, PATH_MAX);
}

static bool mcreate_flags_valid(int flags)
{
	int acc = flags & O_ACCMODE;

	if (flags & ~MCREATE_FLAGS)
		return false;
	return acc == O_RDONLY || acc == O_RDWR;
}

MSH_EXPORT int mcreate(const char *name, int flags, mode_t mode)
{
	char path[PATH_MAX];
	int ret;

	if (!mcreate_flags_valid(flags))
		return fail(EINVAL);
	ret = msh_region_path(name, path);
	if (ret)
		return fail(-ret);
	return open(path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
}

MSH_EXPORT int mshare_unlink(const char *name)
{
	char path[PATH_MAX];
	int ret;

	ret = msh_region_path(name, path);
	if (ret)
		return fail(-ret);
	return unlink(path);
}

static bool mattach_args_valid(int prot, int flags)
{
	if (prot & ~MATTACH_PROT)
		return false;
	if (flags & ~MATTACH_FLAGS)
		return false;
	return (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !=
	       (MAP_FIXED | MAP_FIXED_NOREPLACE);
}

/* Size of the region open on @fd, after checking it is msharefs. */
static int region_size(int fd, size_t *size)
{
	struct stat st;
	int ret;

	ret = msh_check_fd(fd);
	if (ret)
		return ret;
	if (fstat(fd, &st))
		return -errno;
	*size = (size_t)st.st_size;
	return 0;
}

MSH_EXPORT void *mattach(int fd, void *addr, int prot, int flags)
{
	size_t size;
	int ret;

	if (!mattach_args_valid(prot, flags)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	ret = region_size(fd, &size);
	if (!ret && size == 0)
		ret = -EINVAL;
	if (ret) {
		errno = -ret;
		return MAP_FAILED;
	}
	return mmap(addr, size, prot, MAP_SHARED | flags, fd, 0);
}

/* Extent of the attachment that starts at @addr. */
static int find_attachment(void *addr, uintptr_t *start, size_t *len)
{
	const char *mnt;
	struct stat st;
	FILE *maps;
	int ret;

	mnt = mshare_mount_point();
	if (!mnt)
		return -errno;
	if (stat(mnt, &st))
		return -errno;
	maps = fopen(msh_maps_path, "re");
	if (!maps)
		return -errno;
	ret = msh_maps_find(maps, (uintptr_t)addr, st.st_dev, start, len);
	fclose(maps);
	return ret;
}

MSH_EXPORT int mdetach(void *addr)
{
	uintptr_t start;
	size_t len;
	int ret;

	ret = find_attachment(addr, &start, &len);
	if (ret)
		return fail(-ret);
	return munmap((void *)start, len);
}

MSH_EXPORT int mshare_set_size(int fd, size_t size)
{
	int ret;

	ret = msh_check_fd(fd);
	if (ret)
		return fail(-ret);
	if ((uintmax_t)size > (uintmax_t)OFF_T_MAX)
		return fail(EFBIG);
	return ftruncate(fd, (off_t)size);
}

MSH_EXPORT int mshare_get_size(int fd, size_t *size)
{
	int ret;

	if (!size)
		return fail(EINVAL);
	ret = region_size(fd, size);
	if (ret)
		return fail(-ret);
	return 0;
}

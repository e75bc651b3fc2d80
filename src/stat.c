// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Statistics: MSHAREFS_GET_REGION_STAT and MSHAREFS_GET_FS_STAT, turned
 * into the library's own structures so that the kernel's can grow.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

#define offsetofend(type, field) \
	(offsetof(type, field) + sizeof(((type *)0)->field))

_Static_assert(offsetofend(struct msharefs_region_stat, pt_bytes_saved) ==
	       MSH_REGION_STAT_V1_SIZE, "version 1 of msharefs_region_stat");
_Static_assert(offsetofend(struct msharefs_fs_stat, module_version) ==
	       MSH_FS_STAT_V1_SIZE, "version 1 of msharefs_fs_stat");
_Static_assert(_IOC_SIZE(MSHAREFS_GET_REGION_STAT) ==
	       sizeof(struct msharefs_region_stat), "ioctl size");
_Static_assert(_IOC_SIZE(MSHAREFS_GET_FS_STAT) ==
	       sizeof(struct msharefs_fs_stat), "ioctl size");

/*
 * Check the header the kernel filled: a known layout (any version, since
 * later ones only append), at least the first version's bytes, at most
 * the @asked bytes of the request.  Returns 0 or -EPROTO.
 */
static int check_header(__u32 version, __u32 size, size_t v1, size_t asked)
{
	if (version == 0 || size < v1 || size > asked)
		return -EPROTO;
	return 0;
}

static int pages_to_bytes(__u64 pages, __u64 page_size, uint64_t *bytes)
{
	if (page_size == 0)
		return -EPROTO;
	if (__builtin_mul_overflow(pages, page_size, bytes))
		return -EOVERFLOW;
	return 0;
}

/*
 * Convert the region figures the kernel filled in @k, for a request of
 * @asked bytes, into *@st.  Returns 0, -EPROTO (a reply no kernel sends)
 * or -EOVERFLOW.  *@st is only written on success.
 */
int msh_region_stat_convert(const struct msharefs_region_stat *k,
			    size_t asked, struct mshare_stat *st)
{
	struct mshare_stat out;
	int ret;

	ret = check_header(k->version, k->size, MSH_REGION_STAT_V1_SIZE,
			   asked);
	if (ret)
		return ret;
	memset(&out, 0, sizeof(out));
	ret = pages_to_bytes(k->resident_pages, k->page_size,
			     &out.resident_bytes);
	if (ret)
		return ret;
	out.size = k->region_size;
	out.granule = k->granule;
	out.page_size = k->page_size;
	out.uid = (uid_t)k->uid;
	out.gid = (gid_t)k->gid;
	out.mode = (mode_t)k->mode;
	out.version = k->version;
	out.attachers = k->attachers;
	out.windows = k->windows;
	out.pt_tables = k->pt_tables;
	out.pt_links = k->pt_links;
	out.pt_bytes_saved = k->pt_bytes_saved;
	*st = out;
	return 0;
}

/* The same for the totals of a mount. */
int msh_fs_stat_convert(const struct msharefs_fs_stat *k, size_t asked,
			struct mshare_statfs *st)
{
	struct mshare_statfs out;
	int ret;

	ret = check_header(k->version, k->size, MSH_FS_STAT_V1_SIZE, asked);
	if (ret)
		return ret;
	if (!memchr(k->module_version, '\0', sizeof(k->module_version)))
		return -EPROTO;
	memset(&out, 0, sizeof(out));
	ret = pages_to_bytes(k->resident_pages, k->page_size,
			     &out.resident_bytes);
	if (ret)
		return ret;
	out.version = k->version;
	out.granule = k->granule;
	out.page_size = k->page_size;
	out.regions = k->regions;
	out.attachers = k->attachers;
	out.windows = k->windows;
	out.pt_tables = k->pt_tables;
	out.pt_links = k->pt_links;
	out.pt_bytes_saved = k->pt_bytes_saved;
	out.pt_pooled = k->pt_pooled;
	_Static_assert(sizeof(out.module_version) ==
		       sizeof(k->module_version), "module_version");
	memcpy(out.module_version, k->module_version,
	       sizeof(out.module_version));
	*st = out;
	return 0;
}

static int region_stat(int fd, struct mshare_stat *st)
{
	struct msharefs_region_stat k;
	int ret;

	ret = msh_check_fd(fd);
	if (ret)
		return ret;
	memset(&k, 0, sizeof(k));
	if (ioctl(fd, MSHAREFS_GET_REGION_STAT, &k))
		return -errno;
	return msh_region_stat_convert(&k, sizeof(k), st);
}

MSH_EXPORT int mshare_fstat(int fd, struct mshare_stat *st)
{
	int ret;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	ret = region_stat(fd, st);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

MSH_EXPORT int mshare_stat(const char *name, struct mshare_stat *st)
{
	char path[PATH_MAX];
	int fd, ret;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	ret = msh_region_path(name, path);
	if (ret) {
		errno = -ret;
		return -1;
	}
	/* Any access mode will do: read-only needs the least permission. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	ret = region_stat(fd, st);
	msh_close_quiet(fd);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

MSH_EXPORT int mshare_statfs(struct mshare_statfs *st)
{
	struct msharefs_fs_stat k;
	const char *mnt;
	int fd, ret;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	mnt = mshare_mount_point();
	if (!mnt)
		return -1;
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Unmounted since the mount point was found: no msharefs there. */
	ret = msh_check_fd(fd);
	if (ret == -EINVAL)
		ret = -ENODEV;
	memset(&k, 0, sizeof(k));
	if (!ret && ioctl(fd, MSHAREFS_GET_FS_STAT, &k))
		ret = -errno;
	if (!ret)
		ret = msh_fs_stat_convert(&k, sizeof(k), st);
	msh_close_quiet(fd);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

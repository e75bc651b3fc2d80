// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctls of msharefs files.
 *
 * On a region: MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP (upstream mshare
 * v3's numbers and structures), MSHAREFS_PROTECT (ours, numbered after
 * them), and MSHAREFS_GET_REGION_STAT.  On any file or directory of the
 * mount: MSHAREFS_GET_FS_STAT and MSHAREFS_LIST_REGIONS.  Anything else:
 * ENOTTY.
 *
 * Checks, in order: the fd's file kind (ENOTTY), an fd open for writing
 * for the three that change a region (EBADF), the argument (EFAULT), then
 * its values (EINVAL, EBADF for a source fd that is not open, EOPNOTSUPP
 * for a source file of another filesystem), then MAP_HUGETLB (EOPNOTSUPP
 * without THP, EINVAL for an unaligned start), then, in region.c, a range
 * that splits a MAP_HUGETLB granule (EINVAL) and MAP_HUGETLB memory that
 * cannot be had (ENOMEM), then PROTECT over a hole (ENOMEM).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#include <uapi/linux/msharefs.h>

#include "msharefs.h"

#define MSHARE_PROT_BITS	(PROT_READ | PROT_WRITE | PROT_EXEC)
#define MSHARE_MAP_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | \
				 MAP_HUGETLB | \
				 (MAP_HUGE_MASK << MAP_HUGE_SHIFT))

bool msharefs_is_msharefs_file(struct file *file)
{
	return file_inode(file)->i_sb->s_type == &msharefs_fs_type;
}

/* The pages [*first, *end) of a page-aligned range inside the region. */
static int mshare_range(struct file *file, u64 offset, u64 size,
			pgoff_t *first, pgoff_t *end)
{
	u64 region_size = i_size_read(file_inode(file));

	if (!region_size || !size ||
	    !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(size) ||
	    offset > region_size || size > region_size - offset)
		return -EINVAL;
	*first = offset >> PAGE_SHIFT;
	*end = (offset + size) >> PAGE_SHIFT;
	return 0;
}

/* The source of a mapping that is not MAP_ANONYMOUS. */
static int mshare_check_source(unsigned int fd)
{
	struct file *src = fget(fd);
	int err;

	if (!src)
		return -EBADF;
	/* A region inside a region (or itself): no loops. */
	err = msharefs_is_msharefs_file(src) ? -EINVAL : -EOPNOTSUPP;
	fput(src);
	return err;
}

static long mshare_ioctl_create_mapping(struct file *file,
					void __user *ubuf)
{
	struct mshare_create mc;
	pgoff_t first, end;
	unsigned int huge;
	int err;

	if (copy_from_user(&mc, ubuf, sizeof(mc)))
		return -EFAULT;
	if ((mc.flags & ~MSHARE_MAP_FLAGS) ||
	    (mc.flags & (MAP_SHARED | MAP_FIXED)) != (MAP_SHARED | MAP_FIXED) ||
	    (mc.prot & ~MSHARE_PROT_BITS))
		return -EINVAL;
	/* A huge page size: with MAP_HUGETLB only, and only 2 MiB. */
	huge = (mc.flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
	if (huge && (!(mc.flags & MAP_HUGETLB) || huge != PMD_SHIFT))
		return -EINVAL;
	err = mshare_range(file, mc.region_offset, mc.size, &first, &end);
	if (err)
		return err;
	if (!(mc.flags & MAP_ANONYMOUS))
		return mshare_check_source(mc.fd);
	if (mc.fd != (__u32)-1 || mc.offset)
		return -EINVAL;
	if (mc.flags & MAP_HUGETLB) {
		if (!mshare_thp_supported())
			return -EOPNOTSUPP;
		/* As mmap(MAP_HUGETLB): an aligned start, a rounded-up size. */
		if (!IS_ALIGNED(first, PTRS_PER_PTE) ||
		    round_up(end, PTRS_PER_PTE) >
		    i_size_read(file_inode(file)) >> PAGE_SHIFT)
			return -EINVAL;
		end = round_up(end, PTRS_PER_PTE);
	}
	return mshare_region_map(file_region(file), first, end, mc.prot,
				 mc.flags & MAP_HUGETLB);
}

static long mshare_ioctl_unmap(struct file *file, void __user *ubuf)
{
	struct mshare_unmap mu;
	pgoff_t first, end;
	int err;

	if (copy_from_user(&mu, ubuf, sizeof(mu)))
		return -EFAULT;
	err = mshare_range(file, mu.region_offset, mu.size, &first, &end);
	if (err)
		return err;
	return mshare_region_unmap(file_region(file), first, end);
}

static long mshare_ioctl_protect(struct file *file, void __user *ubuf)
{
	struct mshare_protect mp;
	pgoff_t first, end;
	int err;

	if (copy_from_user(&mp, ubuf, sizeof(mp)))
		return -EFAULT;
	if (mp.flags || (mp.prot & ~MSHARE_PROT_BITS))
		return -EINVAL;
	err = mshare_range(file, mp.region_offset, mp.size, &first, &end);
	if (err)
		return err;
	return mshare_region_protect(file_region(file), first, end, mp.prot);
}

long msharefs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *ubuf = (void __user *)arg;
	bool region = msharefs_is_region_inode(file_inode(file));

	switch (cmd) {
	case MSHAREFS_CREATE_MAPPING:
	case MSHAREFS_UNMAP:
	case MSHAREFS_PROTECT:
		if (!region)
			return -ENOTTY;
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (cmd == MSHAREFS_CREATE_MAPPING)
			return mshare_ioctl_create_mapping(file, ubuf);
		if (cmd == MSHAREFS_UNMAP)
			return mshare_ioctl_unmap(file, ubuf);
		return mshare_ioctl_protect(file, ubuf);
	}

	/* The list and the statistics accept any size from version 1 up. */
	if (_IOC_TYPE(cmd) == _IOC_TYPE(MSHAREFS_LIST_REGIONS) &&
	    _IOC_NR(cmd) == _IOC_NR(MSHAREFS_LIST_REGIONS) &&
	    _IOC_DIR(cmd) == (_IOC_READ | _IOC_WRITE))
		return mshare_ioctl_list(file, ubuf, _IOC_SIZE(cmd));

	if (_IOC_TYPE(cmd) != _IOC_TYPE(MSHAREFS_GET_FS_STAT) ||
	    _IOC_DIR(cmd) != _IOC_READ)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(MSHAREFS_GET_REGION_STAT):
		return mshare_ioctl_region_stat(file, ubuf, _IOC_SIZE(cmd));
	case _IOC_NR(MSHAREFS_GET_FS_STAT):
		return mshare_ioctl_fs_stat(file, ubuf, _IOC_SIZE(cmd));
	default:
		return -ENOTTY;
	}
}

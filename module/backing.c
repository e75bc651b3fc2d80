// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where region memory comes from: shmem files (see region.c for how a
 * region uses their pages).
 *
 * A region's memory is the page cache of a shmem file of the region's size.
 * Whether shmem allocates it in 2 MiB pages (transparent huge pages) is the
 * huge= policy of the mount the file is on:
 *
 * - without the msharefs mount option huge=, the kernel's internal shmem
 *   mount (shmem_file_setup()), whose policy is
 *   /sys/kernel/mm/transparent_hugepage/shmem_enabled, as for shared
 *   anonymous memory and SysV shared memory;
 * - with huge=never, huge=always or huge=within_size, a tmpfs mount of the
 *   module's with that option (kern_mount, made on first use, one per
 *   value, unmounted at unload), as a tmpfs mount would decide;
 * - MAP_HUGETLB inner mappings use the huge=always one.
 *
 * shmem_enabled=deny and =force override every mount, as they do for tmpfs.
 * Kernels without transparent huge pages for shmem (PREEMPT_RT, and small
 * builds whose page cache cannot hold 2 MiB folios) have only huge=never.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/huge_mm.h>
#include <linux/string.h>

#include "msharefs.h"

static const char * const mshare_huge_opts[MSHARE_HUGE_MOUNTS] = {
	[MSHARE_HUGE_NEVER]		= "huge=never",
	[MSHARE_HUGE_ALWAYS]		= "huge=always",
	[MSHARE_HUGE_WITHIN_SIZE]	= "huge=within_size",
};

static DEFINE_MUTEX(mshare_huge_lock);
static struct vfsmount *mshare_huge_mnt[MSHARE_HUGE_MOUNTS];

/*
 * Whether this kernel can give region memory 2 MiB pages at all: it has
 * transparent huge pages, and its page cache can hold a 2 MiB folio (not
 * with CONFIG_BASE_SMALL, as in tinyconfig builds: shmem then never
 * allocates one).
 */
bool mshare_thp_supported(void)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	unsigned int order = MSHARE_PMD_ORDER;

	return order <= MAX_PAGECACHE_ORDER && has_transparent_hugepage();
#else
	return false;
#endif
}

static struct vfsmount *mshare_huge_mount(enum mshare_huge huge)
{
	struct file_system_type *type;
	struct vfsmount *mnt;
	char opts[32];

	mutex_lock(&mshare_huge_lock);
	mnt = mshare_huge_mnt[huge];
	if (mnt)
		goto out;
	type = get_fs_type("tmpfs");
	if (!type) {
		mnt = ERR_PTR(-ENODEV);
		goto out;
	}
	/*
	 * tmpfs refuses huge= other than never without THP: EINVAL.  Its
	 * parser cuts the string it is given: a copy.
	 */
	strscpy(opts, mshare_huge_opts[huge], sizeof(opts));
	mnt = vfs_kern_mount(type, SB_KERNMOUNT, "msharefs", opts);
	if (!IS_ERR(mnt))
		mshare_huge_mnt[huge] = mnt;
	/* tmpfs is built in: get_fs_type() took no module reference. */
out:
	mutex_unlock(&mshare_huge_lock);
	return mnt;
}

/*
 * A new shmem file of @size bytes for region memory, with the policy
 * @huge (MSHARE_HUGE_SYSFS: shmem_enabled).  Unevictable, and kept out of
 * movable zones: the region pins the pages it uses.
 */
struct file *mshare_backing_file(enum mshare_huge huge, loff_t size)
{
	struct vfsmount *mnt;
	struct file *file;

	if (huge == MSHARE_HUGE_SYSFS) {
		file = shmem_file_setup("msharefs", size, MSHAREFS_SHMEM_NORESERVE);
	} else {
		mnt = mshare_huge_mount(huge);
		if (IS_ERR(mnt))
			return ERR_CAST(mnt);
		file = shmem_file_setup_with_mnt(mnt, "msharefs", size,
						 MSHAREFS_SHMEM_NORESERVE);
	}
	if (IS_ERR(file))
		return file;
	mapping_set_unevictable(file->f_mapping);
	mapping_set_gfp_mask(file->f_mapping, GFP_HIGHUSER);
	return file;
}

/* Unload: no region, so no file, uses the mounts any more. */
void mshare_backing_exit(void)
{
	int i;

	for (i = 0; i < MSHARE_HUGE_MOUNTS; i++) {
		if (mshare_huge_mnt[i])
			kern_unmount(mshare_huge_mnt[i]);
		mshare_huge_mnt[i] = NULL;
	}
}

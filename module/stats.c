// SPDX-License-Identifier: GPL-2.0-only
/*
 * Statistics: what each region holds and what sharing its page tables
 * saves, and the totals of a mount (MSHAREFS_GET_REGION_STAT and
 * MSHAREFS_GET_FS_STAT, a libmshare extension).
 *
 * The structures are extensible: the ioctl number carries the size the
 * caller knows.  Any size from the first version's up is accepted; the
 * kernel fills what both know, zeroes the rest of the caller's structure
 * and says in @size how much it filled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/minmax.h>

#include <uapi/linux/msharefs.h>

#include "msharefs.h"

/* The sizes of the first version: anything smaller is refused. */
#define MSHAREFS_REGION_STAT_SIZE_VER1	sizeof(struct msharefs_region_stat)
#define MSHAREFS_FS_STAT_SIZE_VER1	sizeof(struct msharefs_fs_stat)

static s64 mshare_saved_bytes(u64 links, u64 tables)
{
	return ((s64)links - (s64)tables) * (s64)PAGE_SIZE;
}

static void mshare_region_fill_stat(struct inode *inode,
				    struct msharefs_region_stat *st)
{
	struct mshare_region *region = &MSHAREFS_I(inode)->region;
	unsigned long attachers, windows;

	mshare_region_attach_counts(region, &attachers, &windows);
	st->region_size = i_size_read(inode);
	st->granule = MSHAREFS_GRANULE;
	st->page_size = PAGE_SIZE;
	st->uid = from_kuid_munged(current_user_ns(), inode->i_uid);
	st->gid = from_kgid_munged(current_user_ns(), inode->i_gid);
	st->mode = inode->i_mode;
	st->attachers = attachers;
	st->windows = windows;
	st->resident_pages = atomic_long_read(&region->nr_pages);
	st->pt_tables = atomic_long_read(&region->nr_tables);
	st->pt_links = atomic_long_read(&region->nr_links);
	st->pt_bytes_saved = mshare_saved_bytes(st->pt_links, st->pt_tables);
}

/* Sum the figures of every region of @sb (the drop_caches walk). */
static void mshare_fs_fill_stat(struct super_block *sb,
				struct msharefs_fs_stat *st)
{
	struct inode *inode, *toput = NULL;
	struct msharefs_region_stat rs;

	st->granule = MSHAREFS_GRANULE;
	st->page_size = PAGE_SIZE;
	strscpy(st->module_version, MSHAREFS_VERSION,
		sizeof(st->module_version));

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		if (!msharefs_is_region_inode(inode))
			continue;
		/* NULL while the inode is being freed: it no longer counts. */
		if (!igrab(inode))
			continue;
		spin_unlock(&sb->s_inode_list_lock);
		iput(toput);
		toput = inode;

		mshare_region_fill_stat(inode, &rs);
		st->regions++;
		st->attachers += rs.attachers;
		st->windows += rs.windows;
		st->resident_pages += rs.resident_pages;
		st->pt_tables += rs.pt_tables;
		st->pt_links += rs.pt_links;

		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
	st->pt_bytes_saved = mshare_saved_bytes(st->pt_links, st->pt_tables);
	st->pt_pooled = mshare_table_pool_size();
}

/*
 * Copy @len bytes of @kbuf (whose first two u32 are version and size) to a
 * caller's structure of @usize bytes.
 */
static long mshare_copy_stat(void __user *ubuf, size_t usize, void *kbuf,
			     size_t len)
{
	size_t n = min(usize, len);
	u32 *head = kbuf;

	head[0] = MSHAREFS_STAT_VERSION;
	head[1] = n;
	if (copy_to_user(ubuf, kbuf, n))
		return -EFAULT;
	if (usize > n && clear_user(ubuf + n, usize - n))
		return -EFAULT;
	return 0;
}

long mshare_ioctl_region_stat(struct file *file, void __user *ubuf,
			      size_t usize)
{
	struct msharefs_region_stat st = {};
	struct inode *inode = file_inode(file);

	if (!msharefs_is_region_inode(inode))
		return -ENOTTY;
	if (usize < MSHAREFS_REGION_STAT_SIZE_VER1)
		return -EINVAL;
	mshare_region_fill_stat(inode, &st);
	return mshare_copy_stat(ubuf, usize, &st, sizeof(st));
}

long mshare_ioctl_fs_stat(struct file *file, void __user *ubuf, size_t usize)
{
	struct msharefs_fs_stat st = {};

	if (usize < MSHAREFS_FS_STAT_SIZE_VER1)
		return -EINVAL;
	mshare_fs_fill_stat(file_inode(file)->i_sb, &st);
	return mshare_copy_stat(ubuf, usize, &st, sizeof(st));
}

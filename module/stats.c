// SPDX-License-Identifier: GPL-2.0-only
/*
 * Statistics: what each region holds and what sharing its page tables
 * saves, the totals of a mount, and the list of its regions with or
 * without a name (MSHAREFS_GET_REGION_STAT, MSHAREFS_GET_FS_STAT and
 * MSHAREFS_LIST_REGIONS, a libmshare extension).
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
#include <linux/overflow.h>
#include <linux/string.h>

#include <uapi/linux/msharefs.h>

#include "msharefs.h"

/* The sizes of the first version: anything smaller is refused. */
#define MSHAREFS_REGION_STAT_SIZE_VER1	sizeof(struct msharefs_region_stat)
#define MSHAREFS_FS_STAT_SIZE_VER1	sizeof(struct msharefs_fs_stat)
#define MSHAREFS_LIST_SIZE_VER1		sizeof(struct msharefs_list)
#define MSHAREFS_ENTRY_SIZE_VER1	sizeof(struct msharefs_region_entry)

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

/* A walk of a mount's regions: its actor, like readdir's dir_context. */
struct mshare_region_walk {
	void (*actor)(struct mshare_region_walk *walk, struct inode *inode);
	bool unlinked_only;
};

/*
 * Call @walk's actor on every region inode of @sb (only the unlinked ones
 * if it asks), holding a reference and no lock: the drop_caches walk,
 * where the reference kept on the current inode keeps it on the list.
 */
static void mshare_walk_regions(struct super_block *sb,
				struct mshare_region_walk *walk)
{
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		if (!msharefs_is_region_inode(inode))
			continue;
		if (walk->unlinked_only && READ_ONCE(inode->i_nlink))
			continue;
		/* NULL while the inode is being freed: it no longer counts. */
		if (!igrab(inode))
			continue;
		spin_unlock(&sb->s_inode_list_lock);
		iput(toput);
		toput = inode;

		walk->actor(walk, inode);

		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}

struct mshare_fs_walk {
	struct mshare_region_walk walk;
	struct msharefs_fs_stat *st;
};

static void mshare_fs_add_region(struct mshare_region_walk *walk,
				 struct inode *inode)
{
	struct msharefs_fs_stat *st =
		container_of(walk, struct mshare_fs_walk, walk)->st;
	struct msharefs_region_stat rs;

	mshare_region_fill_stat(inode, &rs);
	st->regions++;
	st->attachers += rs.attachers;
	st->windows += rs.windows;
	st->resident_pages += rs.resident_pages;
	st->pt_tables += rs.pt_tables;
	st->pt_links += rs.pt_links;
}

/* Sum the figures of every region of @sb. */
static void mshare_fs_fill_stat(struct super_block *sb,
				struct msharefs_fs_stat *st)
{
	struct mshare_fs_walk w = {
		.walk.actor = mshare_fs_add_region,
		.st = st,
	};

	st->granule = MSHAREFS_GRANULE;
	st->page_size = PAGE_SIZE;
	strscpy(st->module_version, MSHAREFS_VERSION,
		sizeof(st->module_version));

	mshare_walk_regions(sb, &w.walk);
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

/*
 * Fill @e for region @inode as @file's opener sees it: the figures only
 * where that opener may read the region, as opening it would require.
 */
static void mshare_fill_entry(struct file *file, struct inode *inode,
			      struct msharefs_region_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = inode->i_ino;
	e->nlink = READ_ONCE(inode->i_nlink);
	if (msharefs_file_inode_permission(file, inode, MAY_READ)) {
		e->flags = MSHAREFS_ENTRY_NOSTAT;
		e->stat.region_size = i_size_read(inode);
		e->stat.granule = MSHAREFS_GRANULE;
		e->stat.page_size = PAGE_SIZE;
		e->stat.uid = from_kuid_munged(current_user_ns(), inode->i_uid);
		e->stat.gid = from_kgid_munged(current_user_ns(), inode->i_gid);
		e->stat.mode = inode->i_mode;
	} else {
		mshare_region_fill_stat(inode, &e->stat);
	}
	e->stat.version = MSHAREFS_STAT_VERSION;
	e->stat.size = sizeof(e->stat);
}

/* Where MSHAREFS_LIST_REGIONS is in its caller's array. */
struct mshare_list_walk {
	struct mshare_region_walk walk;
	struct file *file;
	char __user *array;
	u64 nr, entry_size;
	size_t esize;
	u64 filled, total;
	long err;
	struct msharefs_region_entry e;
};

static void mshare_list_add_region(struct mshare_region_walk *walk,
				   struct inode *inode)
{
	struct mshare_list_walk *w =
		container_of(walk, struct mshare_list_walk, walk);
	char __user *dst = w->array + w->filled * w->entry_size;

	w->total++;
	if (w->filled >= w->nr || w->err)
		return;
	mshare_fill_entry(w->file, inode, &w->e);
	if (copy_to_user(dst, &w->e, w->esize) ||
	    (w->entry_size > w->esize &&
	     clear_user(dst + w->esize, w->entry_size - w->esize)))
		w->err = -EFAULT;
	else
		w->filled++;
}

/*
 * MSHAREFS_LIST_REGIONS: copy one entry per region that matches while the
 * array has room, and count them all.
 */
long mshare_ioctl_list(struct file *file, void __user *ubuf, size_t usize)
{
	struct mshare_list_walk w = {
		.walk.actor = mshare_list_add_region,
		.file = file,
	};
	struct msharefs_list hdr;
	u64 bytes;

	if (usize < MSHAREFS_LIST_SIZE_VER1)
		return -EINVAL;
	if (copy_from_user(&hdr, ubuf, sizeof(hdr)))
		return -EFAULT;
	if ((hdr.flags & ~MSHAREFS_LIST_UNLINKED) ||
	    hdr.entry_size < MSHAREFS_ENTRY_SIZE_VER1 ||
	    check_mul_overflow(hdr.nr, (u64)hdr.entry_size, &bytes))
		return -EINVAL;
	w.esize = min_t(size_t, hdr.entry_size, sizeof(w.e));
	w.array = u64_to_user_ptr(hdr.entries);
	w.nr = hdr.nr;
	w.entry_size = hdr.entry_size;

	w.walk.unlinked_only = hdr.flags & MSHAREFS_LIST_UNLINKED;
	mshare_walk_regions(file_inode(file)->i_sb, &w.walk);
	if (w.err)
		return w.err;

	hdr.version = MSHAREFS_STAT_VERSION;
	hdr.size = w.esize;
	hdr.nr = w.filled;
	hdr.total = w.total;
	if (copy_to_user(ubuf, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

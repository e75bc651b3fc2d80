// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: the filesystem.  Regions are regular files, directories group
 * them, and the root holds the read-only mshare_info file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/falloc.h>

#include <uapi/linux/msharefs.h>

#include "msharefs.h"

/* Like /dev/shm: everyone may create regions, only owners remove them. */
#define MSHAREFS_ROOT_MODE	(S_IFDIR | S_ISVTX | 0777)

static struct kmem_cache *msharefs_inode_cachep;

static const struct inode_operations msharefs_dir_iops;
static const struct inode_operations msharefs_region_iops;
static const struct file_operations msharefs_region_fops;
static const struct file_operations msharefs_info_fops;
static const struct file_operations msharefs_dir_fops;

/*
 * Region pages name the file's mapping (for futex keys of process-shared
 * locks) but are never in its page cache: nothing to write back.
 */
static const struct address_space_operations msharefs_region_aops = {
	.dirty_folio	= noop_dirty_folio,
};

static struct inode *msharefs_get_inode(struct super_block *sb,
					const struct inode *dir, umode_t mode)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode_init_owner(MSHAREFS_NOP_IDMAP, inode, dir, mode);
	msharefs_init_times(inode);

	switch (mode & S_IFMT) {
	case S_IFDIR:
		inode->i_op = &msharefs_dir_iops;
		inode->i_fop = &msharefs_dir_fops;
		inc_nlink(inode);	/* "." */
		break;
	case S_IFREG:
		inode->i_op = &msharefs_region_iops;
		inode->i_fop = &msharefs_region_fops;
		inode->i_mapping->a_ops = &msharefs_region_aops;
		mshare_region_init(&MSHAREFS_I(inode)->region, sb->s_fs_info,
				   inode->i_mapping);
		break;
	default:
		/* Only directories and regions can be created. */
		iput(inode);
		return NULL;
	}
	return inode;
}

static int msharefs_mknod(struct inode *dir, struct dentry *dentry,
			  umode_t mode)
{
	struct inode *inode = msharefs_get_inode(dir->i_sb, dir, mode);

	if (!inode)
		return -ENOMEM;
	d_instantiate(dentry, inode);
	dget(dentry);	/* pin the dentry: the dcache is the directory */
	msharefs_touch_ctime_mtime(dir);
	return 0;
}

static int msharefs_create(MSHAREFS_IDMAP_T *idmap, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	return msharefs_mknod(dir, dentry, (mode & ~S_IFMT) | S_IFREG);
}

static int msharefs_mkdir(MSHAREFS_IDMAP_T *idmap, struct inode *dir,
			  struct dentry *dentry, umode_t mode)
{
	int err = msharefs_mknod(dir, dentry, (mode & ~S_IFMT) | S_IFDIR);

	if (!err)
		inc_nlink(dir);
	return err;
}

/*
 * mshare_info is S_IMMUTABLE, so the VFS already refuses to unlink it,
 * rename it or replace it (EPERM).
 */
static const struct inode_operations msharefs_dir_iops = {
	.lookup		= simple_lookup,
	.create		= msharefs_create,
	.mkdir		= msharefs_mkdir,
	.unlink		= simple_unlink,
	.rmdir		= simple_rmdir,
	.rename		= simple_rename,
};

/*
 * The size of a region is set once, to a non-zero multiple of the granule.
 * O_TRUNC of a region whose size is not set yet is accepted as a no-op.
 */
static int msharefs_set_size(struct inode *inode, loff_t size,
			     unsigned int ia_valid)
{
	if (i_size_read(inode))
		return -EINVAL;
	if (!size)
		return (ia_valid & ATTR_OPEN) ? 0 : -EINVAL;
	if (!IS_ALIGNED(size, MSHAREFS_GRANULE))
		return -EINVAL;
	i_size_write(inode, size);
	return 0;
}

static int msharefs_region_setattr(MSHAREFS_IDMAP_T *idmap,
				   struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(idmap, dentry, attr);
	if (err)
		return err;
	if (attr->ia_valid & ATTR_SIZE) {
		err = msharefs_set_size(inode, attr->ia_size, attr->ia_valid);
		if (err)
			return err;
	}
	setattr_copy(idmap, inode, attr);
	return 0;
}

static int msharefs_region_getattr(MSHAREFS_IDMAP_T *idmap,
				   const struct path *path, struct kstat *stat,
				   u32 request_mask, unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct mshare_region *region = &MSHAREFS_I(inode)->region;

	msharefs_fillattr(idmap, request_mask, inode, stat);
	stat->blocks = atomic_long_read(&region->nr_pages) << (PAGE_SHIFT - 9);
	stat->blksize = MSHAREFS_GRANULE;
	return 0;
}

static const struct inode_operations msharefs_region_iops = {
	.setattr	= msharefs_region_setattr,
	.getattr	= msharefs_region_getattr,
};

bool msharefs_is_region_inode(struct inode *inode)
{
	return inode->i_op == &msharefs_region_iops;
}

/* simple_dir_operations, plus the statistics ioctl. */
static const struct file_operations msharefs_dir_fops = {
	.open		= dcache_dir_open,
	.release	= dcache_dir_close,
	.llseek		= dcache_dir_lseek,
	.read		= generic_read_dir,
	.iterate_shared	= dcache_readdir,
	.fsync		= noop_fsync,
	.unlocked_ioctl	= msharefs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* fallocate(fd, 0, 0, size): the other way to set the size. */
static long msharefs_fallocate(struct file *file, int mode, loff_t offset,
			       loff_t len)
{
	struct inode *inode = file_inode(file);
	int err;

	if (mode)
		return -EOPNOTSUPP;
	if (offset)
		return -EINVAL;

	inode_lock(inode);
	err = inode_newsize_ok(inode, len);
	if (!err)
		err = msharefs_set_size(inode, len, 0);
	if (!err)
		msharefs_touch_ctime_mtime(inode);
	inode_unlock(inode);
	return err;
}

/* No read/write: region contents are reached by attaching (EINVAL). */
static const struct file_operations msharefs_region_fops = {
	.mmap			= mshare_region_mmap,
	.get_unmapped_area	= mshare_region_get_unmapped_area,
	.fallocate		= msharefs_fallocate,
	.fsync			= noop_fsync,
	.llseek			= noop_llseek,
	.unlocked_ioctl		= msharefs_ioctl,
	.compat_ioctl		= compat_ptr_ioctl,
};

static ssize_t msharefs_info_read(struct file *file, char __user *buf,
				  size_t count, loff_t *ppos)
{
	char text[24];
	int len = scnprintf(text, sizeof(text), "%lu\n", MSHAREFS_GRANULE);

	return simple_read_from_buffer(buf, count, ppos, text, len);
}

static const struct file_operations msharefs_info_fops = {
	.read		= msharefs_info_read,
	.llseek		= default_llseek,
	.unlocked_ioctl	= msharefs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static int msharefs_create_info(struct super_block *sb)
{
	struct dentry *dentry;
	struct inode *inode;

	dentry = d_alloc_name(sb->s_root, MSHAREFS_INFO_NAME);
	if (!dentry)
		return -ENOMEM;
	inode = new_inode(sb);
	if (!inode) {
		dput(dentry);
		return -ENOMEM;
	}
	inode->i_ino = get_next_ino();
	inode->i_mode = S_IFREG | 0444;
	inode->i_flags |= S_IMMUTABLE;
	inode->i_fop = &msharefs_info_fops;
	msharefs_init_times(inode);
	d_add(dentry, inode);	/* the reference of d_alloc_name() pins it */
	return 0;
}

static int msharefs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct msharefs_sb_info *sbi = dentry->d_sb->s_fs_info;
	unsigned long total = totalram_pages();
	unsigned long used = atomic_long_read(&sbi->nr_pages);

	buf->f_type = MSHAREFS_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_namelen = NAME_MAX;
	buf->f_blocks = max(total, used);
	buf->f_bfree = buf->f_blocks - used;
	buf->f_bavail = buf->f_bfree;
	return 0;
}

static struct inode *msharefs_alloc_inode(struct super_block *sb)
{
	struct msharefs_inode *mi;

	mi = alloc_inode_sb(sb, msharefs_inode_cachep, GFP_KERNEL);
	if (!mi)
		return NULL;
	return &mi->vfs_inode;
}

static void msharefs_free_inode(struct inode *inode)
{
	kmem_cache_free(msharefs_inode_cachep, MSHAREFS_I(inode));
}

static void msharefs_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (!msharefs_is_region_inode(inode))
		return;
	mshare_region_destroy(&MSHAREFS_I(inode)->region);
	/*
	 * The region's tables went to the pool; hand them back now unless
	 * this is umount (s_umount held, s_active gone), which leaves them
	 * for the next destruction or for rmmod.  The last iput of a region
	 * (unlink, close, exit) holds no other lock.
	 */
	if (atomic_read(&inode->i_sb->s_active))
		mshare_table_pool_drain();
}

static const struct super_operations msharefs_sops = {
	.alloc_inode	= msharefs_alloc_inode,
	.free_inode	= msharefs_free_inode,
	.evict_inode	= msharefs_evict_inode,
	.drop_inode	= generic_delete_inode,
	.statfs		= msharefs_statfs,
};

static int msharefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct inode *root;

	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = MSHAREFS_MAGIC;
	sb->s_op = &msharefs_sops;
	sb->s_time_gran = 1;

	root = msharefs_get_inode(sb, NULL, MSHAREFS_ROOT_MODE);
	if (!root)
		return -ENOMEM;
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return msharefs_create_info(sb);
}

static int msharefs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, msharefs_fill_super);
}

static void msharefs_free_fc(struct fs_context *fc)
{
	kfree(fc->s_fs_info);
}

static const struct fs_context_operations msharefs_context_ops = {
	.free		= msharefs_free_fc,
	.get_tree	= msharefs_get_tree,
};

static int msharefs_init_fs_context(struct fs_context *fc)
{
	struct msharefs_sb_info *sbi;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	atomic_long_set(&sbi->nr_pages, 0);
	fc->s_fs_info = sbi;
	fc->ops = &msharefs_context_ops;
	return 0;
}

static void msharefs_kill_sb(struct super_block *sb)
{
	struct msharefs_sb_info *sbi = sb->s_fs_info;

	kill_litter_super(sb);
	WARN_ON_ONCE(atomic_long_read(&sbi->nr_pages));
	kfree(sbi);
}

struct file_system_type msharefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= MSHAREFS_FSTYPE,
	.init_fs_context	= msharefs_init_fs_context,
	.kill_sb		= msharefs_kill_sb,
};

static void msharefs_inode_init_once(void *obj)
{
	struct msharefs_inode *mi = obj;

	inode_init_once(&mi->vfs_inode);
}

int msharefs_inode_cache_init(void)
{
	msharefs_inode_cachep = kmem_cache_create("msharefs_inode_cache",
						  sizeof(struct msharefs_inode),
						  0, SLAB_RECLAIM_ACCOUNT |
						  SLAB_ACCOUNT,
						  msharefs_inode_init_once);
	return msharefs_inode_cachep ? 0 : -ENOMEM;
}

void msharefs_inode_cache_destroy(void)
{
	/* Inodes are freed after an RCU grace period. */
	rcu_barrier();
	kmem_cache_destroy(msharefs_inode_cachep);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: the filesystem.  Regions are regular files, directories group
 * them, and the root holds the read-only mshare_info file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/statfs.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include <linux/falloc.h>

#include <uapi/linux/msharefs.h>

#include "msharefs.h"

/*
 * The default mode of the root directory, like /dev/shm: everyone may
 * create regions, only owners remove them.
 */
#define MSHAREFS_ROOT_MODE	(S_ISVTX | 0777)

static struct kmem_cache *msharefs_inode_cachep;

/* huge=: the values of tmpfs's option that make sense for a region. */
static const char * const msharefs_huge_names[MSHARE_HUGE_MOUNTS] = {
	[MSHARE_HUGE_NEVER]		= "never",
	[MSHARE_HUGE_ALWAYS]		= "always",
	[MSHARE_HUGE_WITHIN_SIZE]	= "within_size",
};

static const struct inode_operations msharefs_dir_iops;
static const struct inode_operations msharefs_region_iops;
static const struct file_operations msharefs_region_fops;
static const struct file_operations msharefs_info_fops;
static const struct file_operations msharefs_dir_fops;

/*
 * Region memory is in a shmem file of the region's (region.c); the region
 * file's own page cache stays empty: nothing to write back.
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
		inode->i_fop = &msharefs_region_fops;
		inode->i_mapping->a_ops = &msharefs_region_aops;
		mshare_region_init(&MSHAREFS_I(inode)->region, sb->s_fs_info,
				   inode->i_mapping);
		/*
		 * The inode is on the superblock's list already: the statistics
		 * walk takes it for a region by its i_op, so only once the
		 * region is initialised.
		 */
		smp_wmb();
		WRITE_ONCE(inode->i_op, &msharefs_region_iops);
		break;
	default:
		/* Only directories and regions can be created. */
		iput(inode);
		return NULL;
	}
	return inode;
}

/*
 * nr_regions=: count a new region, or refuse it when the mount already
 * has as many as it may.  Region inodes are uncounted at eviction.
 */
static bool msharefs_charge_region(struct msharefs_sb_info *sbi)
{
	bool ok;

	spin_lock(&sbi->lock);
	ok = !sbi->max_regions || sbi->nr_regions < sbi->max_regions;
	if (ok)
		sbi->nr_regions++;
	spin_unlock(&sbi->lock);
	return ok;
}

static void msharefs_uncharge_region(struct msharefs_sb_info *sbi)
{
	spin_lock(&sbi->lock);
	WARN_ON_ONCE(!sbi->nr_regions);
	sbi->nr_regions--;
	spin_unlock(&sbi->lock);
}

static int msharefs_mknod(struct inode *dir, struct dentry *dentry,
			  umode_t mode)
{
	struct msharefs_sb_info *sbi = dir->i_sb->s_fs_info;
	bool region = S_ISREG(mode);
	struct inode *inode;

	if (region && !msharefs_charge_region(sbi))
		return -ENOSPC;
	inode = msharefs_get_inode(dir->i_sb, dir, mode);
	if (!inode) {
		if (region)
			msharefs_uncharge_region(sbi);
		return -ENOMEM;
	}
	/* Pin the dentry: the dcache is the directory. */
	msharefs_d_make_persistent(dentry, inode);
	msharefs_touch_ctime_mtime(dir);
	return 0;
}

static int msharefs_create(MSHAREFS_IDMAP_T *idmap, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	return msharefs_mknod(dir, dentry, (mode & ~S_IFMT) | S_IFREG);
}

static MSHAREFS_MKDIR_T msharefs_mkdir(MSHAREFS_IDMAP_T *idmap,
				       struct inode *dir, struct dentry *dentry,
				       umode_t mode)
{
	int err = msharefs_mknod(dir, dentry, (mode & ~S_IFMT) | S_IFDIR);

	if (!err)
		inc_nlink(dir);
	return MSHAREFS_MKDIR_RET(err);
}

/*
 * O_TMPFILE: a region without a name, as memfd_create() makes one.  It
 * lives until its last file descriptor and window are gone, counts against
 * nr_regions= from the start, and can never get a name (no ->link).
 */
static int msharefs_tmpfile(MSHAREFS_IDMAP_T *idmap, struct inode *dir,
			    struct file *file, umode_t mode)
{
	struct msharefs_sb_info *sbi = dir->i_sb->s_fs_info;
	struct inode *inode;

	if (!msharefs_charge_region(sbi))
		return -ENOSPC;
	inode = msharefs_get_inode(dir->i_sb, dir, (mode & ~S_IFMT) | S_IFREG);
	if (!inode) {
		msharefs_uncharge_region(sbi);
		return -ENOMEM;
	}
	d_tmpfile(file, inode);
	return finish_open_simple(file, 0);
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
	.tmpfile	= msharefs_tmpfile,
};

/*
 * The size of a region is set once, to a non-zero multiple of the granule,
 * and not to more than the mount's size= (ENOSPC).
 * O_TRUNC of a region whose size is not set yet is accepted as a no-op.
 */
static int msharefs_set_size(struct inode *inode, loff_t size,
			     unsigned int ia_valid)
{
	struct msharefs_sb_info *sbi = inode->i_sb->s_fs_info;
	unsigned long max_pages = READ_ONCE(sbi->max_pages);
	int err;

	if (i_size_read(inode))
		return -EINVAL;
	if (!size)
		return (ia_valid & ATTR_OPEN) ? 0 : -EINVAL;
	if (!IS_ALIGNED(size, MSHAREFS_GRANULE))
		return -EINVAL;
	if (max_pages && (u64)size >> PAGE_SHIFT > max_pages)
		return -ENOSPC;
	err = mshare_region_set_size(&MSHAREFS_I(inode)->region, size);
	if (err)
		return err;
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
	bool region = READ_ONCE(inode->i_op) == &msharefs_region_iops;

	smp_rmb();	/* pairs with msharefs_get_inode() */
	return region;
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

/*
 * Opening a region is a process context with no mm or filesystem lock
 * held (the parent's lock is dropped before ->open): hand back the tables
 * that regions destroyed at exit or umount left in the pool, so that they
 * wait there only until the next open, not the next destruction.
 */
static int msharefs_region_open(struct inode *inode, struct file *file)
{
	mshare_table_pool_drain();
	return 0;
}

/* No read/write: region contents are reached by attaching (EINVAL). */
static const struct file_operations msharefs_region_fops = {
	.open			= msharefs_region_open,
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
	int len = scnprintf(text, sizeof(text), "%lu\n", MSHAREFS_INFO_ALIGN);

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
	msharefs_d_make_persistent(dentry, inode);
	dput(dentry);
	return 0;
}

/*
 * Blocks are pages: f_blocks is size= (all RAM without it), f_blocks -
 * f_bfree the pages the regions hold.  Files are regions: f_files is
 * nr_regions=, f_files - f_ffree the regions that exist; both 0 without a
 * limit, as tmpfs does.
 */
static int msharefs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct msharefs_sb_info *sbi = dentry->d_sb->s_fs_info;
	unsigned long limit = READ_ONCE(sbi->max_pages);
	long used = atomic_long_read(&sbi->nr_pages);

	if (used < 0)
		used = 0;
	if (!limit)
		limit = totalram_pages();
	buf->f_type = MSHAREFS_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_namelen = NAME_MAX;
	/* A fault racing with a smaller size= can leave @used above it. */
	buf->f_blocks = max_t(unsigned long, limit, used);
	buf->f_bfree = buf->f_blocks - used;
	buf->f_bavail = buf->f_bfree;

	spin_lock(&sbi->lock);
	if (sbi->max_regions) {
		buf->f_files = sbi->max_regions;
		buf->f_ffree = sbi->max_regions - sbi->nr_regions;
	}
	spin_unlock(&sbi->lock);
	return 0;
}

/* size= in the largest unit that shows it exactly, as tmpfs does in k. */
static void msharefs_show_size(struct seq_file *m, unsigned long pages)
{
	static const char units[] = "kmgtpe";
	u64 n = (u64)pages << (PAGE_SHIFT - 10);
	unsigned int i = 0;

	while (!(n & 1023) && units[i + 1]) {
		n >>= 10;
		i++;
	}
	seq_printf(m, ",size=%llu%c", n, units[i]);
}

/* The options that differ from the defaults, for /proc/mounts. */
static int msharefs_show_options(struct seq_file *m, struct dentry *root)
{
	struct super_block *sb = root->d_sb;
	struct msharefs_sb_info *sbi = sb->s_fs_info;
	unsigned long max_pages = READ_ONCE(sbi->max_pages);
	unsigned long max_regions = READ_ONCE(sbi->max_regions);
	int huge;

	if (max_pages)
		msharefs_show_size(m, max_pages);
	if (max_regions)
		seq_printf(m, ",nr_regions=%lu", max_regions);
	if (sbi->mode != MSHAREFS_ROOT_MODE)
		seq_printf(m, ",mode=%03o", (unsigned int)sbi->mode);
	if (!uid_eq(sbi->uid, GLOBAL_ROOT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(sb->s_user_ns, sbi->uid));
	if (!gid_eq(sbi->gid, GLOBAL_ROOT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(sb->s_user_ns, sbi->gid));
	huge = READ_ONCE(sbi->huge);
	if (huge != MSHARE_HUGE_SYSFS)
		seq_printf(m, ",huge=%s", msharefs_huge_names[huge]);
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
	msharefs_uncharge_region(inode->i_sb->s_fs_info);
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
	.drop_inode	= msharefs_drop_inode,
	.statfs		= msharefs_statfs,
	.show_options	= msharefs_show_options,
};

/*
 * Mount options, tmpfs-like (see msharefs(7)).  0 for size= or nr_regions=
 * means no limit.  huge= picks the 2 MiB page policy of region memory
 * (backing.c; without it, shmem_enabled's).  Remount changes the limits
 * (not below what is in use) and huge=, and ignores mode=, uid= and gid=,
 * which only a new mount sets.
 */
enum {
	Opt_size,
	Opt_nr_regions,
	Opt_mode,
	Opt_uid,
	Opt_gid,
	Opt_huge,
};

static const struct fs_parameter_spec msharefs_fs_parameters[] = {
	fsparam_string("size",		Opt_size),
	fsparam_string("nr_regions",	Opt_nr_regions),
	fsparam_u32oct("mode",		Opt_mode),
	fsparam_u32("uid",		Opt_uid),
	fsparam_u32("gid",		Opt_gid),
	fsparam_string("huge",		Opt_huge),
	{}
};


#define MSHAREFS_SEEN_SIZE		BIT(0)
#define MSHAREFS_SEEN_NR_REGIONS	BIT(1)
#define MSHAREFS_SEEN_HUGE		BIT(2)

/* What a mount or remount asks for: fc->fs_private. */
struct msharefs_fs_context {
	unsigned int seen;		/* MSHAREFS_SEEN_*: given limits */
	unsigned long max_pages;
	unsigned long max_regions;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	int huge;
};

/*
 * Decimal digits and an optional suffix: k, m, g, t, p or e (either case)
 * multiply by a power of 1024 as memparse() does, '%' (if @percent is
 * given) makes it a percentage, stored in *@percent.  Unlike memparse(),
 * nothing else may follow and an overflow is an error.
 */
static int msharefs_parse_number(const char *s, u64 *val, bool *percent)
{
	size_t len = strspn(s, "0123456789");
	const char *end = s + len;
	unsigned int shift = 0;
	char digits[21];
	u64 v;

	if (!len || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (kstrtou64(digits, 10, &v))
		return -EINVAL;
	if (percent)
		*percent = false;

	switch (*end) {
	case '\0':
		break;
	case '%':
		if (!percent)
			return -EINVAL;
		*percent = true;
		end++;
		break;
	case 'e': case 'E':
		shift += 10;
		fallthrough;
	case 'p': case 'P':
		shift += 10;
		fallthrough;
	case 't': case 'T':
		shift += 10;
		fallthrough;
	case 'g': case 'G':
		shift += 10;
		fallthrough;
	case 'm': case 'M':
		shift += 10;
		fallthrough;
	case 'k': case 'K':
		shift += 10;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end || (shift && v > (U64_MAX >> shift)))
		return -EINVAL;
	*val = v << shift;
	return 0;
}

/* size=: bytes (rounded up to pages) or a percentage of RAM, in pages. */
static int msharefs_parse_size(const char *s, unsigned long *pages)
{
	u64 v, ram = totalram_pages();
	bool percent;

	if (msharefs_parse_number(s, &v, &percent))
		return -EINVAL;
	if (percent) {
		if (v > U64_MAX / ram)
			return -EINVAL;
		v = div_u64(v * ram, 100);
	} else {
		v = (v >> PAGE_SHIFT) + !!(v & ~PAGE_MASK);
	}
	if ((unsigned long)v != v)
		return -EINVAL;
	*pages = v;
	return 0;
}

static int msharefs_parse_param(struct fs_context *fc,
				struct fs_parameter *param)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	u64 v;
	int opt;

	opt = fs_parse(fc, msharefs_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case Opt_size:
		if (msharefs_parse_size(param->string, &ctx->max_pages))
			goto bad_value;
		ctx->seen |= MSHAREFS_SEEN_SIZE;
		break;
	case Opt_nr_regions:
		if (msharefs_parse_number(param->string, &v, NULL) ||
		    (unsigned long)v != v)
			goto bad_value;
		ctx->max_regions = v;
		ctx->seen |= MSHAREFS_SEEN_NR_REGIONS;
		break;
	case Opt_mode:
		if (result.uint_32 & ~07777)
			goto bad_value;
		ctx->mode = result.uint_32;
		break;
	case Opt_uid:
		/* In the mounter's user namespace. */
		ctx->uid = make_kuid(fc->user_ns, result.uint_32);
		if (!uid_valid(ctx->uid))
			goto bad_value;
		break;
	case Opt_gid:
		ctx->gid = make_kgid(fc->user_ns, result.uint_32);
		if (!gid_valid(ctx->gid))
			goto bad_value;
		break;
	case Opt_huge:
		ctx->huge = match_string(msharefs_huge_names, MSHARE_HUGE_MOUNTS,
					 param->string);
		/* As tmpfs: only never where there are no huge pages. */
		if (ctx->huge < 0 ||
		    (ctx->huge != MSHARE_HUGE_NEVER && !mshare_thp_supported()))
			goto bad_value;
		ctx->seen |= MSHAREFS_SEEN_HUGE;
		break;
	}
	return 0;

bad_value:
	return invalfc(fc, "Bad value for '%s'", param->key);
}

static int msharefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct msharefs_sb_info *sbi;
	struct inode *root;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	atomic_long_set(&sbi->nr_pages, 0);
	spin_lock_init(&sbi->lock);
	sbi->max_pages = ctx->max_pages;
	sbi->max_regions = ctx->max_regions;
	sbi->mode = ctx->mode;
	sbi->uid = ctx->uid;
	sbi->gid = ctx->gid;
	sbi->huge = ctx->huge;
	sb->s_fs_info = sbi;

	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = MSHAREFS_MAGIC;
	sb->s_op = &msharefs_sops;
	sb->s_time_gran = 1;

	root = msharefs_get_inode(sb, NULL, S_IFDIR | sbi->mode);
	if (!root)
		return -ENOMEM;
	root->i_uid = sbi->uid;
	root->i_gid = sbi->gid;
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return msharefs_create_info(sb);
}

static int msharefs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, msharefs_fill_super);
}

/*
 * Remount: size= and nr_regions= change, but not below what the mount
 * holds now (EINVAL); huge= changes for the regions whose size is set
 * afterwards; mode=, uid= and gid= are checked and ignored.
 */
static int msharefs_reconfigure(struct fs_context *fc)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct msharefs_sb_info *sbi = fc->root->d_sb->s_fs_info;
	unsigned long used = 0, regions = 0;

	spin_lock(&sbi->lock);
	if ((ctx->seen & MSHAREFS_SEEN_NR_REGIONS) && ctx->max_regions &&
	    ctx->max_regions < sbi->nr_regions) {
		regions = sbi->nr_regions;
		goto refuse;
	}
	if ((ctx->seen & MSHAREFS_SEEN_SIZE) && ctx->max_pages) {
		long now = atomic_long_read(&sbi->nr_pages);

		if (now > 0 && ctx->max_pages < (unsigned long)now) {
			used = now;
			goto refuse;
		}
	}
	if (ctx->seen & MSHAREFS_SEEN_NR_REGIONS)
		sbi->max_regions = ctx->max_regions;
	/* For the regions sized from now on; read locklessly. */
	if (ctx->seen & MSHAREFS_SEEN_HUGE)
		WRITE_ONCE(sbi->huge, ctx->huge);
	/* Read locklessly by msharefs_charge_pages(). */
	if (ctx->seen & MSHAREFS_SEEN_SIZE)
		WRITE_ONCE(sbi->max_pages, ctx->max_pages);
	spin_unlock(&sbi->lock);
	return 0;

refuse:
	spin_unlock(&sbi->lock);
	if (regions)
		return invalfc(fc, "nr_regions below the %lu regions in use",
			       regions);
	return invalfc(fc, "size below the %lu pages in use", used);
}

static void msharefs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations msharefs_context_ops = {
	.free		= msharefs_free_fc,
	.parse_param	= msharefs_parse_param,
	.get_tree	= msharefs_get_tree,
	.reconfigure	= msharefs_reconfigure,
};

static int msharefs_init_fs_context(struct fs_context *fc)
{
	struct msharefs_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->mode = MSHAREFS_ROOT_MODE;
	ctx->uid = GLOBAL_ROOT_UID;
	ctx->gid = GLOBAL_ROOT_GID;
	ctx->huge = MSHARE_HUGE_SYSFS;
	fc->fs_private = ctx;
	fc->ops = &msharefs_context_ops;
	return 0;
}

static void msharefs_kill_sb(struct super_block *sb)
{
	struct msharefs_sb_info *sbi = sb->s_fs_info;

	msharefs_kill_persistent_super(sb);
	if (!sbi)	/* msharefs_fill_super() failed early */
		return;
	WARN_ON_ONCE(atomic_long_read(&sbi->nr_pages));
	WARN_ON_ONCE(sbi->nr_regions);
	kfree(sbi);
}

struct file_system_type msharefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= MSHAREFS_FSTYPE,
	.init_fs_context	= msharefs_init_fs_context,
	.parameters		= msharefs_fs_parameters,
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

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msharefs internals shared by the module's files.
 */
#ifndef MSHAREFS_H
#define MSHAREFS_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/xarray.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/mman.h>
#include <linux/memcontrol.h>
#include <linux/maple_tree.h>
#include <linux/wait.h>

#include "compat.h"

/*
 * The size and alignment granule of a region: the span of one PTE table,
 * so that a region can own whole page tables.
 */
#define MSHAREFS_GRANULE	PMD_SIZE

/*
 * What mshare_info reads: upstream mshare v3's size and alignment unit
 * (P4D_SIZE, 512 GiB on x86-64), so that programs written for upstream
 * size and place regions as they would there.  Its multiples are
 * multiples of the granule, which is all msharefs requires; the granule
 * itself is in the statistics (MSHAREFS_GET_FS_STAT), for libmshare.
 */
#define MSHAREFS_INFO_ALIGN	P4D_SIZE

/* The order of a 2 MiB page (HPAGE_PMD_ORDER exists only with THP). */
#define MSHARE_PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)

/*
 * Reported by MODULE_VERSION and MSHAREFS_GET_FS_STAT: the project's version
 * (meson.build's project()), which Kbuild gets from module/Makefile, meson
 * or dkms.conf.
 */
#ifndef MSHAREFS_VERSION
#error "MSHAREFS_VERSION is not defined (build with module/Makefile, meson or dkms)"
#endif

/*
 * Which mount a region's shmem file is on, so which huge page policy its
 * memory follows (backing.c): the huge= mount option.
 */
enum mshare_huge {
	MSHARE_HUGE_SYSFS = -1,		/* no huge=: shmem_enabled */
	MSHARE_HUGE_NEVER,
	MSHARE_HUGE_ALWAYS,
	MSHARE_HUGE_WITHIN_SIZE,
	MSHARE_HUGE_MOUNTS,
};

/* One per mount; the limits are mount options (see inode.c). */
struct msharefs_sb_info {
	atomic_long_t nr_pages;		/* pages held by this mount's regions */
	unsigned long max_pages;	/* size= in pages; 0: no limit */
	spinlock_t lock;		/* guards the two below */
	unsigned long nr_regions;	/* region inodes alive on the mount */
	unsigned long max_regions;	/* nr_regions=; 0: no limit */
	umode_t mode;			/* mode= of the root directory */
	kuid_t uid;			/* uid= of the root directory */
	kgid_t gid;			/* gid= of the root directory */
	int huge;			/* huge=: enum mshare_huge */
};

/*
 * Account @nr new pages to the mount; false (nothing accounted) when that
 * would exceed size=.
 */
static inline bool msharefs_charge_pages(struct msharefs_sb_info *sbi,
					 long nr)
{
	long now = atomic_long_add_return(nr, &sbi->nr_pages);
	unsigned long max = READ_ONCE(sbi->max_pages);

	if (max && now > (long)max) {
		atomic_long_sub(nr, &sbi->nr_pages);
		return false;
	}
	return true;
}

static inline void msharefs_uncharge_pages(struct msharefs_sb_info *sbi,
					   long nr)
{
	atomic_long_sub(nr, &sbi->nr_pages);
}

struct mshare_region;

/*
 * How the pages of a region reach the page tables of its attachers.
 * The foundation lets the core mm build private page tables from the
 * pages ->fault hands it; a page-table-sharing implementation replaces it.
 */
struct mshare_pt_ops {
	vm_fault_t (*fault)(struct mshare_region *region, struct vm_fault *vmf);
	/* Optional: a window was copied (fork, mremap) or is going away. */
	void (*open)(struct vm_area_struct *vma);
	void (*close)(struct vm_area_struct *vma);
	/* Optional: the region is going away, drop what the implementation holds. */
	void (*release)(struct mshare_region *region);
	/*
	 * Optional: before chunks [@first, @end) change, with @mm's mmap_lock
	 * held for writing; true if the TLBs must be flushed.
	 */
	bool (*unlink_mm)(struct mshare_region *region, struct mm_struct *mm,
			  unsigned long first, unsigned long end);
};

/*
 * A region: the memory behind one msharefs file.  It lives exactly as long
 * as its inode: until it is unlinked and its last open file and mapping are
 * gone (a mapping holds its file).
 */
/* Table sets: one per protection a window can have (write, exec). */
#define MSHARE_TABLE_SETS	4

struct mshare_region {
	/*
	 * Region memory: pages of @backing, a shmem file of the region's
	 * size (NULL until the size is set, then set under @table_lock), or
	 * for the ranges in @huge (MAP_HUGETLB inner mappings, whole
	 * granules) of @backing_huge, whose memory is in 2 MiB pages (made
	 * on first use, under @change_lock and @table_lock).  @pages maps
	 * each page index the region uses to its page and holds one
	 * reference on it: see region.c.
	 */
	struct file *backing;
	struct file *backing_huge;
	struct maple_tree huge;
	struct xarray pages;		/* page index -> struct page * */
	atomic_long_t nr_pages;		/* pages in @pages */
	/*
	 * Pages [@busy_first, @busy_end) are leaving the region (an
	 * inner-mapping change that drops them is under way): faults that
	 * need one wait on @busy_wq.  Under @table_lock.
	 */
	pgoff_t busy_first, busy_end;
	wait_queue_head_t busy_wq;
	struct mutex table_lock;	/* serialises table creation */
	struct xarray tables[MSHARE_TABLE_SETS];	/* chunk -> PTE table */
	atomic_long_t nr_tables;	/* tables in @tables */
	atomic_long_t nr_links;		/* attachers' PMD entries using them */
	struct mutex change_lock;	/* serialises inner-mapping changes */
	unsigned long change_seq;	/* under @attach_lock */
	struct mutex attach_lock;	/* guards the three below */
	struct list_head attachers;	/* struct mshare_attacher, one per mm */
	unsigned long nr_attachers;	/* entries in @attachers */
	unsigned long nr_windows;	/* windows in all attachers */
	const struct mshare_pt_ops *pt_ops;
	struct msharefs_sb_info *sbi;
	struct address_space *mapping;	/* the region file's: its windows */
	/*
	 * Inner mappings: the state of every page, as ranges of value
	 * entries; a page in none has MSHARE_STATE_DEFAULT.  Changed under
	 * @table_lock, which also bumps @gen, so that a fault that looked
	 * before the change does not link a table after it; read under RCU
	 * (the tree frees its nodes after a grace period).
	 */
	struct maple_tree states;
	atomic_long_t gen;
	struct mem_cgroup *memcg;	/* the creator's: charged for the pages */
};

/* Page state: PROT_* bits of the inner mapping, or a hole. */
#define MSHARE_STATE_HOLE	0x100
#define MSHARE_STATE_PROT_MASK	(PROT_READ | PROT_WRITE | PROT_EXEC)
#define MSHARE_STATE_DEFAULT	(PROT_READ | PROT_WRITE | PROT_EXEC)

/* A region table: one PTE table page, owned by one region or pooled. */
struct mshare_table {
	struct page *page;
	struct mshare_region *region;	/* NULL in the pool */
	struct list_head pool;		/* in the pool */
};

struct msharefs_inode {
	struct mshare_region region;
	struct inode vfs_inode;
};

static inline struct msharefs_inode *MSHAREFS_I(struct inode *inode)
{
	return container_of(inode, struct msharefs_inode, vfs_inode);
}

static inline struct mshare_region *file_region(struct file *file)
{
	return &MSHAREFS_I(file_inode(file))->region;
}

/* Module-wide counters, checked at unload. */
extern atomic_long_t msharefs_pages_alive;
extern atomic_long_t msharefs_regions_alive;

/* inode.c */
extern struct file_system_type msharefs_fs_type;
int msharefs_inode_cache_init(void);
void msharefs_inode_cache_destroy(void);

/* region.c */
void mshare_region_init(struct mshare_region *region,
			struct msharefs_sb_info *sbi,
			struct address_space *mapping);
void mshare_region_destroy(struct mshare_region *region);
int mshare_region_set_size(struct mshare_region *region, loff_t size);
struct page *mshare_region_get_page(struct mshare_region *region,
				    pgoff_t index);
bool mshare_region_page_live(struct mshare_region *region, struct page *page);
vm_fault_t mshare_region_wait(struct mshare_region *region,
			      struct vm_fault *vmf);
int mshare_region_mmap(struct file *file, struct vm_area_struct *vma);
bool mshare_is_window(struct vm_area_struct *vma);
unsigned int mshare_page_state(struct mshare_region *region, pgoff_t index);
unsigned int mshare_page_state_run(struct mshare_region *region,
				   pgoff_t index, pgoff_t *last);
bool mshare_state_allows(unsigned int state, unsigned int fault_flags);
int mshare_region_map(struct mshare_region *region, pgoff_t first,
		      pgoff_t end, unsigned int prot, bool hugetlb);
int mshare_region_unmap(struct mshare_region *region, pgoff_t first,
			pgoff_t end);
int mshare_region_protect(struct mshare_region *region, pgoff_t first,
			  pgoff_t end, unsigned int prot);
void mshare_region_attach_counts(struct mshare_region *region,
				 unsigned long *attachers,
				 unsigned long *windows);
unsigned long mshare_region_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);

bool msharefs_is_region_inode(struct inode *inode);

/* stats.c */
long mshare_ioctl_region_stat(struct file *file, void __user *ubuf,
			      size_t usize);
long mshare_ioctl_fs_stat(struct file *file, void __user *ubuf, size_t usize);
long mshare_ioctl_list(struct file *file, void __user *ubuf, size_t usize);

/* ioctl.c */
long msharefs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
bool msharefs_is_msharefs_file(struct file *file);

/* backing.c */
bool mshare_thp_supported(void);
struct file *mshare_backing_file(enum mshare_huge huge, loff_t size);
void mshare_backing_exit(void);

/* pt_private.c */
extern const struct mshare_pt_ops mshare_pt_private_ops;

/* pt_pool.c */
int mshare_table_adopt(struct mshare_table *table);
bool mshare_is_region_table(struct page *page);
struct mshare_table *mshare_table_pool_get(void);
void mshare_table_pool_put(struct mshare_table *table);
long mshare_tables_held(void);
long mshare_table_pool_size(void);
void mshare_table_pool_drain(void);
struct page *mshare_parking_page(void);
vm_fault_t mshare_parking_prepare(struct vm_fault *vmf);
void mshare_parking_release(void);

/* pt_shared.c */
extern const struct mshare_pt_ops mshare_pt_shared_ops;
pmd_t *mshare_find_pmd(struct mm_struct *mm, unsigned long addr);
void mshare_pt_shared_exit(void);
void mshare_pt_shared_unlink_stale(struct vm_fault *vmf);
void mshare_flush_tlb_all_cpus(void);

#endif /* MSHAREFS_H */

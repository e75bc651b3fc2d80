// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: the pages of a region and its windows (attachments).
 *
 * A window is a MAP_SHARED mapping of the whole region at offset 0, placed
 * on a granule boundary.  It is one unit: it cannot be split, resized,
 * moved or have its protection changed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mman.h>
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "msharefs.h"

void mshare_region_init(struct mshare_region *region,
			struct msharefs_sb_info *sbi,
			struct address_space *mapping)
{
	unsigned int set;

	xa_init(&region->pages);
	atomic_long_set(&region->nr_pages, 0);
	mutex_init(&region->table_lock);
	for (set = 0; set < MSHARE_TABLE_SETS; set++)
		xa_init(&region->tables[set]);
	atomic_long_set(&region->nr_tables, 0);
	atomic_long_set(&region->nr_links, 0);
	mutex_init(&region->attach_lock);
	INIT_LIST_HEAD(&region->attachers);
	region->nr_attachers = 0;
	region->nr_windows = 0;
	region->pt_ops = &mshare_pt_shared_ops;
	region->sbi = sbi;
	region->mapping = mapping;
	atomic_long_inc(&msharefs_regions_alive);
}

/*
 * Called when the inode is evicted: no file and no mapping refers to the
 * region any more, so no page table maps its pages.
 */
void mshare_region_destroy(struct mshare_region *region)
{
	struct page *page;
	unsigned long index;
	long nr = 0;

	if (region->pt_ops->release)
		region->pt_ops->release(region);
	xa_for_each(&region->pages, index, page) {
		page->mapping = NULL;
		put_page(page);
		nr++;
	}
	xa_destroy(&region->pages);
	atomic_long_sub(nr, &region->nr_pages);
	atomic_long_sub(nr, &region->sbi->nr_pages);
	atomic_long_sub(nr, &msharefs_pages_alive);
	WARN_ON_ONCE(atomic_long_read(&region->nr_pages));
	WARN_ON_ONCE(atomic_long_read(&region->nr_tables));
	WARN_ON_ONCE(atomic_long_read(&region->nr_links));
	WARN_ON_ONCE(!list_empty(&region->attachers));
	atomic_long_dec(&msharefs_regions_alive);
}

/*
 * The page at @index, allocated zero-filled on first use.  The region keeps
 * one reference for as long as it lives; the caller gets no extra one.
 * Pages carry the file's mapping and their index, as page-cache pages do,
 * so that futexes in a window key on (inode, index) and work across
 * processes; they are not in the page cache and never on the LRU, so
 * reclaim, migration and rmap walks leave them alone.
 * Returns NULL when memory is short.
 */
struct page *mshare_region_get_page(struct mshare_region *region,
				    pgoff_t index)
{
	struct page *page, *old;

	page = xa_load(&region->pages, index);
	if (page)
		return page;

	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
	if (!page)
		return NULL;
	page->mapping = region->mapping;
	page->index = index;

	old = xa_cmpxchg(&region->pages, index, NULL, page, GFP_KERNEL);
	if (old) {
		/* Lost a race with another fault, or the xarray ran dry. */
		page->mapping = NULL;
		__free_page(page);
		return xa_is_err(old) ? NULL : old;
	}
	atomic_long_inc(&region->nr_pages);
	atomic_long_inc(&region->sbi->nr_pages);
	atomic_long_inc(&msharefs_pages_alive);
	return page;
}

/*
 * Who attaches the region, for the statistics: one entry per mm with the
 * number of its windows.  Maintained by ->mmap, ->open and ->close, which
 * the core pairs for every window (the pointer is only a key; the entry
 * goes away with the mm's last window, before the mm can).
 */
struct mshare_attacher {
	struct list_head list;
	struct mm_struct *mm;
	unsigned long windows;
};

static int mshare_attach_add(struct mshare_region *region,
			     struct mm_struct *mm, gfp_t gfp)
{
	struct mshare_attacher *a, *new = kmalloc(sizeof(*new), gfp);

	mutex_lock(&region->attach_lock);
	list_for_each_entry(a, &region->attachers, list) {
		if (a->mm == mm) {
			a->windows++;
			goto counted;
		}
	}
	if (!new) {
		mutex_unlock(&region->attach_lock);
		return -ENOMEM;
	}
	new->mm = mm;
	new->windows = 1;
	list_add_tail(&new->list, &region->attachers);
	region->nr_attachers++;
	new = NULL;
counted:
	region->nr_windows++;
	mutex_unlock(&region->attach_lock);
	kfree(new);
	return 0;
}

static void mshare_attach_del(struct mshare_region *region,
			      struct mm_struct *mm)
{
	struct mshare_attacher *a;

	mutex_lock(&region->attach_lock);
	list_for_each_entry(a, &region->attachers, list) {
		if (a->mm != mm)
			continue;
		region->nr_windows--;
		if (!--a->windows) {
			list_del(&a->list);
			region->nr_attachers--;
			kfree(a);
		}
		break;
	}
	mutex_unlock(&region->attach_lock);
}

void mshare_region_attach_counts(struct mshare_region *region,
				 unsigned long *attachers,
				 unsigned long *windows)
{
	mutex_lock(&region->attach_lock);
	*attachers = region->nr_attachers;
	*windows = region->nr_windows;
	mutex_unlock(&region->attach_lock);
}

static vm_fault_t mshare_vm_fault(struct vm_fault *vmf)
{
	struct mshare_region *region = file_region(vmf->vma->vm_file);

	return region->pt_ops->fault(region, vmf);
}

static void mshare_vm_open(struct vm_area_struct *vma)
{
	struct mshare_region *region = file_region(vma->vm_file);

	/* A fork child's copy; ->open cannot fail, and the entry is small. */
	mshare_attach_add(region, vma->vm_mm, GFP_KERNEL | __GFP_NOFAIL);
	if (region->pt_ops->open)
		region->pt_ops->open(vma);
}

static void mshare_vm_close(struct vm_area_struct *vma)
{
	struct mshare_region *region = file_region(vma->vm_file);

	if (region->pt_ops->close)
		region->pt_ops->close(vma);
	mshare_attach_del(region, vma->vm_mm);
}

/* Partial munmap, mprotect of a part, mlock of a part...: the window is one. */
static int mshare_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

/*
 * mremap() that moves the window: refused, the core moves it back.
 * (Growing never gets here: VM_DONTEXPAND makes the core refuse it.)
 */
static int mshare_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* The protection of a window is fixed when it is attached. */
static int mshare_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			      unsigned long end, unsigned long newflags)
{
	return -EINVAL;
}

static const struct vm_operations_struct mshare_vm_ops = {
	.open		= mshare_vm_open,
	.close		= mshare_vm_close,
	.fault		= mshare_vm_fault,
	.may_split	= mshare_vm_may_split,
	.mremap		= mshare_vm_mremap,
	.mprotect	= mshare_vm_mprotect,
};

bool mshare_is_window(struct vm_area_struct *vma)
{
	return vma->vm_ops == &mshare_vm_ops;
}

/*
 * Checks shared by ->get_unmapped_area (before the core unmaps anything at
 * a MAP_FIXED address) and ->mmap (the authoritative one).
 */
static int mshare_check_window(struct file *file, unsigned long len,
			       unsigned long pgoff)
{
	loff_t size = i_size_read(file_inode(file));

	if (!size || pgoff || len != size)
		return -EINVAL;
	return 0;
}

unsigned long mshare_region_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	unsigned long area;
	int err;

	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		return -EINVAL;
	err = mshare_check_window(file, len, pgoff);
	if (err)
		return err;

	if (flags & MAP_FIXED)
		return IS_ALIGNED(addr, MSHAREFS_GRANULE) ? addr : -EINVAL;

	if (len > TASK_SIZE - MSHAREFS_GRANULE)
		return -ENOMEM;
	/* Ask for one granule more than needed, then align inside it. */
	area = msharefs_mm_get_unmapped_area(addr ? ALIGN(addr, MSHAREFS_GRANULE) : 0,
					     len + MSHAREFS_GRANULE,
					     flags & ~MAP_FIXED);
	if (IS_ERR_VALUE(area))
		return area;
	return ALIGN(area, MSHAREFS_GRANULE);
}

int mshare_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	int err;

	/*
	 * A MAP_SHARED mapping of a read-only file keeps VM_MAYSHARE but
	 * loses VM_SHARED; MAP_PRIVATE has neither.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	err = mshare_check_window(file, vma->vm_end - vma->vm_start,
				  vma->vm_pgoff);
	if (err)
		return err;
	if (!IS_ALIGNED(vma->vm_start, MSHAREFS_GRANULE))
		return -EINVAL;
	/* Nothing can fail after ->mmap succeeds without calling ->close. */
	err = mshare_attach_add(file_region(file), vma->vm_mm, GFP_KERNEL);
	if (err)
		return err;

	/*
	 * VM_DONTEXPAND: refuse growth (mremap) and merging with neighbours.
	 * VM_NOHUGEPAGE: khugepaged has nothing to collapse here.
	 */
	msharefs_vm_flags_set(vma, VM_DONTEXPAND | VM_NOHUGEPAGE);
	vma->vm_ops = &mshare_vm_ops;
	vma->vm_private_data = NULL;
	file_accessed(file);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: the pages of a region and its windows (attachments).
 *
 * A window is a MAP_SHARED mapping of the whole region at offset 0, placed
 * on a granule boundary.  It is one unit: it cannot be split, resized,
 * moved or have its protection changed.
 *
 * Inner mappings: each granule (chunk) of a region is anonymous memory with
 * a protection, or a hole.  A sized region starts as one mapping with
 * PROT_READ | PROT_WRITE | PROT_EXEC; MSHAREFS_CREATE_MAPPING, _UNMAP and
 * _PROTECT change chunks for every attacher at once.  An access through a
 * window is allowed by both the window's protection and the chunk's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mman.h>
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>

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
	mutex_init(&region->change_lock);
	region->change_seq = 0;
	mutex_init(&region->attach_lock);
	INIT_LIST_HEAD(&region->attachers);
	region->nr_attachers = 0;
	region->nr_windows = 0;
	region->pt_ops = &mshare_pt_shared_ops;
	region->sbi = sbi;
	region->mapping = mapping;
	mt_init_flags(&region->chunks, MT_FLAGS_USE_RCU);
	atomic_long_set(&region->gen, 0);
	/* Charged to the creator, whoever faults the pages in. */
	region->memcg = current->mm ? get_mem_cgroup_from_mm(current->mm) : NULL;
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
	mtree_destroy(&region->chunks);
	mem_cgroup_put(region->memcg);
	atomic_long_sub(nr, &region->nr_pages);
	msharefs_uncharge_pages(region->sbi, nr);
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
 * Pages are charged to the creator's memory cgroup, and to the mount's
 * size= limit; they are allocated so that hitting either fails (the fault
 * raises SIGBUS) instead of invoking the OOM killer.
 * Returns NULL when memory is short or a limit is reached.
 * Called with @region->table_lock held.
 */
struct page *mshare_region_get_page(struct mshare_region *region,
				    pgoff_t index)
{
	struct mem_cgroup *old_memcg;
	struct page *page, *old;

	page = xa_load(&region->pages, index);
	if (page)
		return page;

	if (!msharefs_charge_pages(region->sbi, 1))
		return NULL;
	old_memcg = set_active_memcg(region->memcg);
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT |
			  __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	set_active_memcg(old_memcg);
	if (!page)
		goto uncharge;
	page->mapping = region->mapping;
	page_folio(page)->index = index;	/* 7.2's struct page has none */

	old = xa_cmpxchg(&region->pages, index, NULL, page, GFP_KERNEL);
	if (old) {
		/* Lost a race with another fault, or the xarray ran dry. */
		page->mapping = NULL;
		__free_page(page);
		msharefs_uncharge_pages(region->sbi, 1);
		return xa_is_err(old) ? NULL : old;
	}
	atomic_long_inc(&region->nr_pages);
	atomic_long_inc(&msharefs_pages_alive);
	return page;

uncharge:
	msharefs_uncharge_pages(region->sbi, 1);
	return NULL;
}

unsigned int mshare_chunk_state(struct mshare_region *region,
				unsigned long chunk)
{
	void *entry = mtree_load(&region->chunks, chunk);

	return entry ? xa_to_value(entry) : MSHARE_CHUNK_DEFAULT;
}

/* Whether a chunk in @state allows the access of a fault with @fault_flags. */
bool mshare_chunk_allows(unsigned int state, unsigned int fault_flags)
{
	if (state & MSHARE_CHUNK_HOLE)
		return false;
	if (fault_flags & FAULT_FLAG_WRITE)
		return state & PROT_WRITE;
	if (fault_flags & FAULT_FLAG_INSTRUCTION)
		return state & PROT_EXEC;
	return state & MSHARE_CHUNK_PROT_MASK;
}

static void mshare_region_unlink_attachers(struct mshare_region *region,
					   unsigned long first,
					   unsigned long end);

/*
 * Change chunks [@first, @end) for every attacher, one change at a time.
 * Under @table_lock: bump the generation, record the new state, take the
 * chunks' tables out of the region and, with @drop_pages, their pages.
 * Then clear every attacher's links to them under its mmap_lock for
 * writing: after that no walker of any attacher can still hold one of
 * those tables, and a fault that looked before the change does not link
 * one (generation).  Then unmap the range from every window: the core
 * zaps what private tables map, and the notifiers park links made since.
 * A fault that found a page before it left the region holds the page lock
 * while it maps it, so clearing page->mapping under that lock and
 * unmapping again catches it.  Only then are the tables pooled and the
 * pages released.
 */
#define MSHARE_DROP_PAGES	1	/* the contents go */
#define MSHARE_REFUSE_HOLES	2	/* ENOMEM if the range has a hole */

static int mshare_region_change(struct mshare_region *region,
				unsigned long first, unsigned long end,
				unsigned int state, unsigned int how)
{
	LIST_HEAD(tables);
	LIST_HEAD(pages);
	struct mshare_table *table, *tmp_table;
	struct page *page, *tmp_page;
	unsigned long chunk, index;
	unsigned int set;
	void *entry;
	long nr = 0;
	int err;

	mutex_lock(&region->change_lock);
	mutex_lock(&region->table_lock);
	if (how & MSHARE_REFUSE_HOLES) {
		/* Only granules that are not in the default state have entries. */
		chunk = first;
		mt_for_each(&region->chunks, entry, chunk, end - 1) {
			if (xa_to_value(entry) & MSHARE_CHUNK_HOLE) {
				mutex_unlock(&region->table_lock);
				mutex_unlock(&region->change_lock);
				return -ENOMEM;
			}
		}
	}
	atomic_long_inc(&region->gen);
	/*
	 * One range entry (splitting those it overlaps), so a request costs
	 * the same on a granule and on a region of terabytes; the tree's
	 * nodes are charged to the caller's memory cgroup.
	 */
	entry = state == MSHARE_CHUNK_DEFAULT ? NULL : xa_mk_value(state);
	err = mtree_store_range(&region->chunks, first, end - 1, entry,
				GFP_KERNEL_ACCOUNT);
	if (err) {
		/* Nothing known to have changed: leave tables and pages. */
		mutex_unlock(&region->table_lock);
		mutex_unlock(&region->change_lock);
		return err;
	}
	for (set = 0; set < MSHARE_TABLE_SETS; set++) {
		xa_for_each_range(&region->tables[set], index, table, first,
				  end - 1) {
			xa_erase(&region->tables[set], index);
			list_add(&table->pool, &tables);
			atomic_long_dec(&region->nr_tables);
		}
	}
	if (how & MSHARE_DROP_PAGES) {
		xa_for_each_range(&region->pages, index, page,
				  first * PTRS_PER_PTE,
				  end * PTRS_PER_PTE - 1) {
			xa_erase(&region->pages, index);
			list_add(&page->lru, &pages);
			nr++;
		}
	}
	mutex_unlock(&region->table_lock);

	if (!list_empty(&tables))
		mshare_region_unlink_attachers(region, first, end);
	unmap_mapping_range(region->mapping, (loff_t)first << PMD_SHIFT,
			    (loff_t)(end - first) << PMD_SHIFT, 0);
	if (nr) {
		list_for_each_entry(page, &pages, lru) {
			lock_page(page);
			page->mapping = NULL;
			unlock_page(page);
		}
		unmap_mapping_range(region->mapping,
				    (loff_t)first << PMD_SHIFT,
				    (loff_t)(end - first) << PMD_SHIFT, 0);
	}

	/*
	 * Walkers that do not hold mmap_lock (6.12's per-VMA lock faults,
	 * PTE-lock holders) reach a table inside an RCU read-side section:
	 * wait for those too before the tables are zeroed and reused.
	 */
	if (!list_empty(&tables))
		synchronize_rcu();
	list_for_each_entry_safe(table, tmp_table, &tables, pool) {
		list_del(&table->pool);
		memset(page_address(table->page), 0, PAGE_SIZE);
		mshare_table_pool_put(table);
	}
	list_for_each_entry_safe(page, tmp_page, &pages, lru) {
		list_del(&page->lru);
		put_page(page);
	}
	atomic_long_sub(nr, &region->nr_pages);
	msharefs_uncharge_pages(region->sbi, nr);
	atomic_long_sub(nr, &msharefs_pages_alive);
	mutex_unlock(&region->change_lock);
	return 0;
}

/* MSHAREFS_CREATE_MAPPING: fresh zero-filled memory with @prot. */
int mshare_region_map(struct mshare_region *region, unsigned long first,
		      unsigned long end, unsigned int prot)
{
	return mshare_region_change(region, first, end, prot,
				    MSHARE_DROP_PAGES);
}

/* MSHAREFS_UNMAP: a hole; any access raises SIGSEGV. */
int mshare_region_unmap(struct mshare_region *region, unsigned long first,
			unsigned long end)
{
	return mshare_region_change(region, first, end, MSHARE_CHUNK_HOLE,
				    MSHARE_DROP_PAGES);
}

/* MSHAREFS_PROTECT: the contents stay; ENOMEM over a hole, like mprotect. */
int mshare_region_protect(struct mshare_region *region, unsigned long first,
			  unsigned long end, unsigned int prot)
{
	return mshare_region_change(region, first, end, prot,
				    MSHARE_REFUSE_HOLES);
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
	unsigned long change_seq;	/* the last change that visited it */
};

/*
 * Clear every attacher's links into chunks [@first, @end) under its
 * mmap_lock for writing (see mshare_region_change(); @change_lock held).
 * An mm that attaches meanwhile is visited too; one whose users are gone
 * is exiting and has no walker left, its notifier's release clears it.
 */
static void mshare_region_unlink_attachers(struct mshare_region *region,
					   unsigned long first,
					   unsigned long end)
{
	struct mshare_attacher *a;
	struct mm_struct *mm;
	unsigned long seq;
	bool flush = false;

	if (!region->pt_ops->unlink_mm)
		return;
	mutex_lock(&region->attach_lock);
	seq = ++region->change_seq;
	for (;;) {
		mm = NULL;
		list_for_each_entry(a, &region->attachers, list) {
			if (a->change_seq != seq) {
				a->change_seq = seq;
				mm = a->mm;
				mmgrab(mm);
				break;
			}
		}
		mutex_unlock(&region->attach_lock);
		if (!mm)
			break;
		if (mmget_not_zero(mm)) {
			mmap_write_lock(mm);
			flush |= region->pt_ops->unlink_mm(region, mm, first,
							   end);
			mmap_write_unlock(mm);
			mmput(mm);
		}
		mmdrop(mm);
		cond_resched();
		mutex_lock(&region->attach_lock);
	}
	if (flush)
		mshare_flush_tlb_all_cpus();
}

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
	new->change_seq = 0;
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

/*
 * A write to a present, read-only entry of a window.  Region tables are
 * read-only where a chunk is: refuse the write, and never let the core
 * make an entry of a region table writable through one process (retry
 * instead: a protection change is unlinking that table).  Entries of
 * private tables follow the core's write-notify path.
 */
static vm_fault_t mshare_vm_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mshare_region *region = file_region(vma->vm_file);
	unsigned long chunk = (vmf->address - vma->vm_start) >> PMD_SHIFT;
	pmd_t pmd;

	if (!mshare_chunk_allows(mshare_chunk_state(region, chunk),
				 FAULT_FLAG_WRITE))
		return VM_FAULT_SIGSEGV;
	/* A new entry (a private fault, do_shared_fault): the core adds it. */
	if (!vmf->pte)
		return 0;
	/*
	 * A present entry (do_wp_page): go on only through a private table.
	 * The core re-takes the PTE lock through the PMD entry after this
	 * returns; an entry another process just unlinked (an inner-mapping
	 * change) must not be relocked, nor a region table edited.
	 */
	pmd = READ_ONCE(*vmf->pmd);
	if (!pmd_present(pmd) || pmd_leaf(pmd) ||
	    mshare_is_region_table(pmd_page(pmd))) {
		/*
		 * The core calls ->page_mkwrite with FAULT_FLAG_WRITE |
		 * FAULT_FLAG_MKWRITE only, so it may never drop the fault
		 * lock here.  A read-only entry of a region table the chunk
		 * now allows writing belongs to a change that waits for this
		 * mm's mmap_lock: take the link out (pt_shared.c) and retry.
		 */
		if (pmd_present(pmd) && !pmd_leaf(pmd))
			mshare_pt_shared_unlink_stale(vmf);
		return VM_FAULT_NOPAGE;
	}
	return 0;
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
	.page_mkwrite	= mshare_vm_page_mkwrite,
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

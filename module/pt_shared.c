// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared page tables: the region owns one PTE table per granule (2 MiB)
 * and protection, and links it into the PMD entry of every attacher.
 *
 * Tables.  A region table is created complete: all PTRS_PER_PTE entries
 * map region pages, so a linked table never faults again.  The table page
 * is one the core constructed: from the pool of tables destroyed regions
 * left (pt_pool.c), else the one it preallocated for this fault
 * (vmf->prealloc_pte), with its split lock, counted in PageTables once.
 * Entries never change while the region lives; tables go back to the pool
 * with the region, which cannot happen while any window (and so any link)
 * exists.
 *
 * Links.  Each attached mm has a struct mshare_mm: an mmu notifier plus the
 * record of which PMD entries of that mm point at region tables.  The core
 * mm must never zap, edit or free a region table through one process, so
 * every invalidation (munmap, exit, madvise, mremap, NUMA hinting...)
 * first takes the links in its range out and flushes the TLBs of all CPUs,
 * then lets the core walk entries that no longer reach a region table.
 * Faults do not link while an invalidation of the mm is in progress; they
 * retry.
 *
 * Parking.  A PMD entry may only go from a table to empty while no walker
 * of the mm can be reading it: 6.1's walkers read the entry again after
 * checking it (pte_offset_map_lock() takes the lock through it), and an
 * empty one yields a NULL split lock or the PTEs of page frame 0.  That
 * holds for munmap, mremap and exit (MMU_NOTIFY_UNMAP: mmap_lock held for
 * writing, or the windows already detached) and at release.  Every other
 * invalidation (madvise under mmap_lock for reading, NUMA hinting,
 * another process's inner-mapping change) points the entry at the
 * parking table instead: a constructed, always empty table, so a walker
 * that reads the entry again finds a valid lock and nothing to do.  The
 * next fault there links the region table in its place.  Kernels whose
 * MADV_DONTNEED frees empty tables (CONFIG_PT_RECLAIM) would free the
 * parking table, and their walkers cope with a cleared entry: there links
 * are cleared, never parked (MSHAREFS_PARK_LINKS, compat.h).  Inner-mapping
 * changes first clear the links of every attacher under that attacher's
 * mmap_lock for writing (mshare_pt_shared_unlink_mm()), which is also
 * what lets them reuse the tables afterwards.
 *
 * Registration.  A notifier can only be registered with mmap_lock held
 * for write, so a window's first fault drops mmap_lock, registers and asks
 * the core to retry (VM_FAULT_RETRY); the window records its notifier in
 * vm_private_data.  A fault that may not drop the lock (some GUP callers)
 * is served with private page tables instead, which the core manages.
 * fork() children start unregistered the same way: copy_page_range() does
 * not copy shared file mappings, and the child's first fault links the
 * same tables.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mmu_notifier.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/pgalloc.h>
#include <asm/tlbflush.h>

#include "msharefs.h"

struct mshare_mm {
	struct mmu_notifier mn;
	/*
	 * links: PMD index (address >> PMD_SHIFT) -> region table linked
	 * there, or MSHARE_PARKED: the entry points at the parking table.
	 */
	struct xarray links;		/* xa_lock also guards @invalidating */
	unsigned int invalidating;	/* invalidations in progress */
};

#define MSHARE_PARKED	xa_mk_value(0)

static struct mshare_mm *to_mshare_mm(struct mmu_notifier *mn)
{
	return container_of(mn, struct mshare_mm, mn);
}

static void mshare_flush_tlb_local(void *unused)
{
	msharefs_flush_tlb_local();
}

/*
 * flush_tlb_mm_range() is not exported; a PMD entry that changed must also
 * leave the paging-structure caches, so flush everything everywhere
 * (compat.h).
 */
void mshare_flush_tlb_all_cpus(void)
{
	on_each_cpu(mshare_flush_tlb_local, NULL, 1);
}

/* The PMD entry of @addr in @mm, NULL if no PMD page covers it. */
pmd_t *mshare_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_bad(*pud) || pud_leaf(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

static bool mshare_pmd_is(pmd_t pmd, struct page *table)
{
	return pmd_present(pmd) && !pmd_leaf(pmd) && pmd_page(pmd) == table;
}

/*
 * If the PMD entry at @addr of @mm still points at @table, point it at
 * @to instead, or clear it if @to is NULL.
 */
static bool mshare_unlink_one(struct mm_struct *mm, unsigned long addr,
			      struct page *table, struct page *to)
{
	pmd_t *pmd = mshare_find_pmd(mm, addr);
	bool done = false;
	spinlock_t *ptl;

	if (!pmd)
		return false;
	ptl = pmd_lock(mm, pmd);
	if (mshare_pmd_is(*pmd, table)) {
		if (to)
			pmd_populate(mm, pmd, to);
		else
			pmd_clear(pmd);
		done = true;
	}
	spin_unlock(ptl);
	return done;
}

/*
 * Take the links of [@start, @end) out: @park them (region tables only;
 * parked entries stay), or clear the entries, parked ones included.
 * Caller holds xa_lock(&mm_s->links); true if a TLB flush is due.
 */
static bool mshare_unlink_range(struct mshare_mm *mm_s, unsigned long start,
				unsigned long end, bool park)
{
	struct page *parking = mshare_parking_page();
	unsigned long index;
	bool flush = false;
	void *entry;

	xa_for_each_range(&mm_s->links, index, entry, start >> PMD_SHIFT,
			  (end - 1) >> PMD_SHIFT) {
		struct mshare_table *table = xa_is_value(entry) ? NULL : entry;
		struct page *page = table ? table->page : parking;
		bool done;

		if (park && !table)
			continue;
		done = mshare_unlink_one(mm_s->mn.mm, index << PMD_SHIFT, page,
					 park ? parking : NULL);
		flush |= done;
		if (park && done)	/* replacing an entry allocates nothing */
			__xa_store(&mm_s->links, index, MSHARE_PARKED,
				   GFP_NOWAIT);
		else
			__xa_erase(&mm_s->links, index);
		if (table)
			atomic_long_dec(&table->region->nr_links);
	}
	return flush;
}

static int mshare_mn_invalidate_range_start(struct mmu_notifier *mn,
					    const struct mmu_notifier_range *range)
{
	struct mshare_mm *mm_s = to_mshare_mm(mn);
	/*
	 * Only an unmap guarantees that no walker reads these entries; where
	 * the core reclaims tables, walkers cope with a cleared one (compat.h).
	 */
	bool park = MSHAREFS_PARK_LINKS && range->event != MMU_NOTIFY_UNMAP;
	bool flush;

	xa_lock(&mm_s->links);
	mm_s->invalidating++;
	flush = mshare_unlink_range(mm_s, range->start, range->end, park);
	xa_unlock(&mm_s->links);
	if (flush)
		mshare_flush_tlb_all_cpus();
	return 0;
}

static void mshare_mn_invalidate_range_end(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct mshare_mm *mm_s = to_mshare_mm(mn);

	xa_lock(&mm_s->links);
	/* An invalidation that began before registration has no start. */
	if (mm_s->invalidating)
		mm_s->invalidating--;
	xa_unlock(&mm_s->links);
}

/* The mm is exiting: unlink everything before its page tables are freed. */
static void mshare_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mshare_mm *mm_s = to_mshare_mm(mn);
	bool flush;

	xa_lock(&mm_s->links);
	flush = mshare_unlink_range(mm_s, 0, ULONG_MAX, false);
	xa_unlock(&mm_s->links);
	if (flush)
		mshare_flush_tlb_all_cpus();
}

static struct mmu_notifier *mshare_mn_alloc(struct mm_struct *mm)
{
	struct mshare_mm *mm_s = kzalloc(sizeof(*mm_s), GFP_KERNEL);

	if (!mm_s)
		return ERR_PTR(-ENOMEM);
	xa_init(&mm_s->links);
	return &mm_s->mn;
}

static void mshare_mn_free(struct mmu_notifier *mn)
{
	struct mshare_mm *mm_s = to_mshare_mm(mn);

	xa_destroy(&mm_s->links);
	kfree(mm_s);
}

static const struct mmu_notifier_ops mshare_mn_ops = {
	.release		= mshare_mn_release,
	.invalidate_range_start	= mshare_mn_invalidate_range_start,
	.invalidate_range_end	= mshare_mn_invalidate_range_end,
	.alloc_notifier		= mshare_mn_alloc,
	.free_notifier		= mshare_mn_free,
};

/*
 * Which table set an access uses: tables carry the protection both the
 * window and the chunk allow.
 */
static unsigned int mshare_table_set(struct vm_area_struct *vma,
				     unsigned int state)
{
	return ((vma->vm_flags & VM_WRITE) && (state & PROT_WRITE) ? 1 : 0) |
	       ((vma->vm_flags & VM_EXEC) && (state & PROT_EXEC) ? 2 : 0);
}

static pgprot_t mshare_set_prot(unsigned int set)
{
	return vm_get_page_prot(VM_READ | VM_SHARED |
				((set & 1) ? VM_WRITE : 0) |
				((set & 2) ? VM_EXEC : 0));
}

/* Fill @table with the pages of chunk @chunk, allocating missing pages. */
static int mshare_fill_table(struct mshare_region *region, struct page *table,
			     unsigned int set, unsigned long chunk)
{
	pgprot_t prot = mshare_set_prot(set);
	pte_t *ptes = page_address(table);
	unsigned int i;

	for (i = 0; i < PTRS_PER_PTE; i++) {
		struct page *page;
		pte_t pte;

		page = mshare_region_get_page(region, chunk * PTRS_PER_PTE + i);
		if (!page)
			return -ENOMEM;	/* the caller clears the table */
		pte = pte_mkyoung(mk_pte(page, prot));
		if (set & 1)
			pte = pte_mkdirty(pte);
		set_pte(ptes + i, pte);
	}
	return 0;
}

/*
 * The region table for the access of @vmf to @chunk, built from the pool or
 * vmf->prealloc_pte when it does not exist yet; *@gen is the region's
 * generation it belongs to.  NULL: no table could be adopted now, retry the
 * fault.  ERR_PTR(-EFAULT): the chunk does not allow the access.
 */
static struct mshare_table *mshare_get_table(struct mshare_region *region,
					     unsigned long chunk,
					     struct vm_fault *vmf,
					     long *gen)
{
	struct mshare_table *table;
	unsigned int state, set;
	int err = -ENOMEM;

	mutex_lock(&region->table_lock);
	*gen = atomic_long_read(&region->gen);
	state = mshare_chunk_state(region, chunk);
	if (!mshare_chunk_allows(state, vmf->flags)) {
		err = -EFAULT;
		goto fail;
	}
	set = mshare_table_set(vmf->vma, state);
	table = xa_load(&region->tables[set], chunk);
	if (table)
		goto out;

	/* A table a destroyed region left, or the one the core prepared. */
	table = mshare_table_pool_get();
	if (!table) {
		/*
		 * The core prepares one for an empty entry only.  A parked
		 * entry whose table a change of the chunk just took out (the
		 * change clears such entries, but only after that) has none.
		 */
		if (!vmf->prealloc_pte) {
			table = pmd_none(*vmf->pmd) ? NULL : ERR_PTR(-EAGAIN);
			goto out;
		}
		table = kmalloc(sizeof(*table), GFP_KERNEL);
		if (!table)
			goto fail;
		table->page = vmf->prealloc_pte;
		if (mshare_table_adopt(table)) {
			kfree(table);
			goto fail;
		}
		vmf->prealloc_pte = NULL;
	}
	table->region = region;
	err = mshare_fill_table(region, table->page, set, chunk);
	if (!err)
		err = xa_err(xa_store(&region->tables[set], chunk, table,
				      GFP_KERNEL));
	if (err) {
		memset(page_address(table->page), 0, PAGE_SIZE);
		mshare_table_pool_put(table);
		goto fail;
	}
	atomic_long_inc(&region->nr_tables);
	goto out;
fail:
	table = ERR_PTR(err);
out:
	mutex_unlock(&region->table_lock);
	return table;
}

enum mshare_link { MSHARE_LINKED, MSHARE_RETRY, MSHARE_FOREIGN };

/* Point the faulting PMD entry at @table, unless something else is there. */
static enum mshare_link mshare_link_table(struct mshare_mm *mm_s,
					  struct vm_fault *vmf,
					  struct mshare_region *region,
					  struct mshare_table *table,
					  long gen)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	unsigned long index = vmf->address >> PMD_SHIFT;
	enum mshare_link ret;
	spinlock_t *ptl;

	if (xa_reserve(&mm_s->links, index, GFP_KERNEL))
		return MSHARE_RETRY;

	xa_lock(&mm_s->links);
	/*
	 * An invalidation of this mm is running, or the region's chunks
	 * changed since the table was looked up (the change unlinks under
	 * this lock after bumping the generation, so one of the two sees
	 * the other).  Only the region's generation may be read here: a
	 * change may have pooled @table, even reused it, meanwhile.
	 */
	if (mm_s->invalidating || atomic_long_read(&region->gen) != gen) {
		ret = MSHARE_RETRY;
		goto unlock;
	}
	ptl = pmd_lock(mm, vmf->pmd);
	if (pmd_none(*vmf->pmd) ||
	    mshare_pmd_is(*vmf->pmd, mshare_parking_page())) {
		/*
		 * Empty, or parked: the parking table has no entry, so a
		 * walker that still reads through it finds nothing, and one
		 * that reads the entry again finds the region table.
		 */
		pmd_populate(mm, vmf->pmd, table->page);
		ret = MSHARE_LINKED;	/* a way cached through it only faults */
	} else if (mshare_pmd_is(*vmf->pmd, table->page)) {
		ret = MSHARE_RETRY;	/* another thread linked it */
	} else {
		ret = MSHARE_FOREIGN;	/* a private table of this mm */
	}
	spin_unlock(ptl);
	if (ret == MSHARE_LINKED) {
		__xa_store(&mm_s->links, index, table, GFP_NOWAIT);
		atomic_long_inc(&region->nr_links);
	}
unlock:
	xa_unlock(&mm_s->links);
	if (ret != MSHARE_LINKED)
		xa_release(&mm_s->links, index);
	return ret;
}

/*
 * The window has no notifier yet (first fault, or a fork child): register
 * one for the mm with mmap_lock dropped, record it in the window, retry.
 */
static vm_fault_t mshare_register(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	unsigned long address = vmf->address;
	struct vm_area_struct *vma;
	struct mmu_notifier *mn;

	mmgrab(mm);
	msharefs_release_fault_lock(vmf);

	mn = mmu_notifier_get(&mshare_mn_ops, mm);
	if (!IS_ERR(mn)) {
		mmap_write_lock(mm);
		vma = vma_lookup(mm, address);
		if (vma && mshare_is_window(vma) && !vma->vm_private_data) {
			msharefs_vma_start_write(vma);
			vma->vm_private_data = mn;
		} else {
			mmu_notifier_put(mn);
		}
		mmap_write_unlock(mm);
	}
	mmdrop(mm);
	return VM_FAULT_RETRY;
}

/* Whether a fault may release its lock and ask the core to retry. */
static bool mshare_may_drop_lock(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_ALLOW_RETRY) &&
	       !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT);
}

/*
 * A parked entry with no table to link and none to build one from: clear
 * it under mmap_lock for writing (no walker reads it then) and retry, so
 * that the core prepares a table for the empty entry.
 */
static vm_fault_t mshare_unpark(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	unsigned long address = vmf->address & PMD_MASK;
	struct vm_area_struct *vma;
	bool flush = false;

	mmgrab(mm);
	msharefs_release_fault_lock(vmf);

	mmap_write_lock(mm);
	vma = vma_lookup(mm, address);
	if (vma && mshare_is_window(vma) && vma->vm_private_data) {
		struct mshare_mm *mm_s = to_mshare_mm(vma->vm_private_data);

		msharefs_vma_start_write(vma);
		xa_lock(&mm_s->links);
		/* A parked entry only: a region table linked meanwhile stays. */
		if (xa_is_value(xa_load(&mm_s->links, address >> PMD_SHIFT)))
			flush = mshare_unlink_range(mm_s, address,
						    address + PMD_SIZE, false);
		xa_unlock(&mm_s->links);
	}
	mmap_write_unlock(mm);
	/* No CPU may cache the way through the parking table once it goes. */
	if (flush)
		mshare_flush_tlb_all_cpus();
	mmdrop(mm);
	return VM_FAULT_RETRY;
}

/*
 * A write the chunk allows hit a read-only entry of a region table: a
 * change (PROTECT) took that table out and waits for this mm's mmap_lock,
 * for writing, to unlink it.  A fault retried with the lock held (GUP:
 * futex keys, O_DIRECT reads) would find the same entry forever and the
 * change would wait forever, so take the link out now as an invalidation
 * would (parked where walkers need it), and let the retry link the chunk's
 * current table.  Caller holds mmap_lock (or the window's lock) for
 * reading, as MADV_DONTNEED does when it parks links.
 */
void mshare_pt_shared_unlink_stale(struct vm_fault *vmf)
{
	struct mmu_notifier *mn = vmf->vma->vm_private_data;
	unsigned long start = vmf->address & PMD_MASK;
	struct mshare_mm *mm_s;
	bool flush;

	if (!mn)	/* no link in this mm: the entry changed meanwhile */
		return;
	mm_s = to_mshare_mm(mn);
	xa_lock(&mm_s->links);
	flush = mshare_unlink_range(mm_s, start, start + PMD_SIZE,
				    MSHAREFS_PARK_LINKS);
	xa_unlock(&mm_s->links);
	if (flush)
		mshare_flush_tlb_all_cpus();
}

static vm_fault_t mshare_pt_shared_fault(struct mshare_region *region,
					 struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmu_notifier *mn = vma->vm_private_data;
	pmd_t pmd = READ_ONCE(*vmf->pmd);
	struct mshare_table *table;
	unsigned long chunk;
	vm_fault_t ret;
	bool parked;
	long gen;

	/* Nothing must ever be added to the parking table. */
	parked = mshare_pmd_is(pmd, mshare_parking_page());
	if (!mn) {
		if (mshare_may_drop_lock(vmf))
			return mshare_register(vmf);
		/* Only registered windows have links to park. */
		if (parked)
			return VM_FAULT_SIGBUS;
		return mshare_pt_private_ops.fault(region, vmf);
	}
	chunk = (vmf->address - vma->vm_start) >> PMD_SHIFT;
	if (!pmd_none(pmd) && !parked) {
		/*
		 * Linked by another thread meanwhile (complete tables have no
		 * empty entry to fault on): just retry the access.
		 */
		if (pmd_present(pmd) && !pmd_leaf(pmd) &&
		    mshare_is_region_table(pmd_page(pmd)))
			return VM_FAULT_NOPAGE;
		/* A private table from before registration: stay private. */
		return mshare_pt_private_ops.fault(region, vmf);
	}

	/* Links need somewhere to park first. */
	ret = mshare_parking_prepare(vmf);
	if (ret)
		return ret;
	table = mshare_get_table(region, chunk, vmf, &gen);
	if (IS_ERR(table) && PTR_ERR(table) == -EAGAIN) {
		if (mshare_may_drop_lock(vmf))
			return mshare_unpark(vmf);
		/*
		 * GUP that cannot drop mmap_lock racing a change of this
		 * granule (the change waits for that lock to clear the entry).
		 */
		return VM_FAULT_SIGBUS;
	}
	if (IS_ERR(table))
		return PTR_ERR(table) == -EFAULT ? VM_FAULT_SIGSEGV :
						   VM_FAULT_SIGBUS;
	if (!table)
		return VM_FAULT_NOPAGE;

	switch (mshare_link_table(to_mshare_mm(mn), vmf, region, table, gen)) {
	case MSHARE_FOREIGN:
		return mshare_pt_private_ops.fault(region, vmf);
	case MSHARE_LINKED:
	case MSHARE_RETRY:
	default:
		return VM_FAULT_NOPAGE;
	}
}

/* A new window (fork child, mremap copy) registers on its first fault. */
static void mshare_pt_shared_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
}

static void mshare_pt_shared_close(struct vm_area_struct *vma)
{
	if (vma->vm_private_data)
		mmu_notifier_put(vma->vm_private_data);
}

/*
 * The region is gone: no window, so no link, refers to its tables.  They
 * go to the pool (see pt_pool.c): a module cannot free a table itself.
 */
static void mshare_pt_shared_release(struct mshare_region *region)
{
	struct mshare_table *table;
	unsigned long index;
	unsigned int set;

	for (set = 0; set < MSHARE_TABLE_SETS; set++) {
		xa_for_each(&region->tables[set], index, table) {
			memset(page_address(table->page), 0, PAGE_SIZE);
			mshare_table_pool_put(table);
			atomic_long_dec(&region->nr_tables);
		}
		xa_destroy(&region->tables[set]);
	}
}

/*
 * Clear the links of @mm into chunks [@first, @end) of @region, parked
 * ones included.  The caller holds @mm's mmap_lock for writing, so no
 * walker of @mm reads those entries, and flushes the TLBs when told to.
 */
static bool mshare_pt_shared_unlink_mm(struct mshare_region *region,
				       struct mm_struct *mm,
				       unsigned long first, unsigned long end)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;
	bool flush = false;

	for_each_vma(vmi, vma) {
		struct mshare_mm *mm_s;

		if (!mshare_is_window(vma) || !vma->vm_private_data ||
		    vma->vm_file->f_mapping != region->mapping)
			continue;
		mm_s = to_mshare_mm(vma->vm_private_data);
		xa_lock(&mm_s->links);
		flush |= mshare_unlink_range(mm_s,
					     vma->vm_start + (first << PMD_SHIFT),
					     vma->vm_start + (end << PMD_SHIFT),
					     false);
		xa_unlock(&mm_s->links);
	}
	return flush;
}

void mshare_pt_shared_exit(void)
{
	/* Notifiers are freed asynchronously after their last put. */
	mmu_notifier_synchronize();
}

const struct mshare_pt_ops mshare_pt_shared_ops = {
	.fault		= mshare_pt_shared_fault,
	.open		= mshare_pt_shared_open,
	.close		= mshare_pt_shared_close,
	.release	= mshare_pt_shared_release,
	.unlink_mm	= mshare_pt_shared_unlink_mm,
};

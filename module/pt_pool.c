// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where region tables come from and how they go back.
 *
 * A region table is a PTE table page the core allocated for a fault
 * (vmf->prealloc_pte): constructed by pte_alloc_one(), counted in
 * PageTables, and on kernels with ALLOC_SPLIT_PTLOCKS (lockdep, PREEMPT_RT)
 * carrying a separately allocated split lock.  Giving it back takes the
 * page-table destructor, and there ptlock_free() is not exported: a module
 * cannot call pte_free().  So a module never frees a table itself:
 *
 * - a table the region no longer needs goes to this pool, zeroed, still
 *   constructed; a new region table is taken from the pool first;
 * - the pool is handed back to the core through a process's own page
 *   tables: a temporary anonymous mapping in current->mm, whose empty PMD
 *   entries are pointed at pooled tables and which is then unmapped, so
 *   that free_pgtables() frees them as its own, destructor and all.
 *
 * That needs a process context with an mm and no mm or filesystem lock
 * held: the module does it when a region is destroyed by a process (the
 * usual unlink or last close), when a process opens a region, and drains
 * what is left at module unload (rmmod is such a process).  Tables of
 * regions destroyed elsewhere (at exit, umount, by a kernel thread) wait
 * in the pool until the next of these.  The one
 * way it can go wrong: another thread of the process unmapping the
 * temporary mapping and mapping anonymous memory at the same place in the
 * few microseconds between; its memory is then unmapped.  A thread that
 * unmaps what it did not map is already broken.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/pgalloc.h>

#include "msharefs.h"

static DEFINE_SPINLOCK(mshare_pool_lock);
static LIST_HEAD(mshare_pool);
static atomic_long_t mshare_pool_size = ATOMIC_LONG_INIT(0);

/* Every table page the module holds (in a region or pooled), by pfn. */
static DEFINE_XARRAY(mshare_table_pages);

/* @table->page becomes a region table (from vmf->prealloc_pte). */
int mshare_table_adopt(struct mshare_table *table)
{
	return xa_err(xa_store(&mshare_table_pages, page_to_pfn(table->page),
			       table, GFP_KERNEL));
}

/*
 * How many table pages the module holds (region tables, pooled ones and the
 * parking table): none once the module has handed everything back, which
 * makes the unload's leak report exact on kernels whose PageTables also
 * counts the kernel's own tables (7.x).
 */
long mshare_tables_held(void)
{
	unsigned long pfn;
	void *entry;
	long n = 0;

	xa_for_each(&mshare_table_pages, pfn, entry)
		n++;
	return n;
}

/* Whether @page is a table the module holds: never to be edited by the core. */
bool mshare_is_region_table(struct page *page)
{
	return xa_load(&mshare_table_pages, page_to_pfn(page)) != NULL;
}

/* A zeroed, constructed table from the pool, or NULL if it is empty. */
struct mshare_table *mshare_table_pool_get(void)
{
	struct mshare_table *table;

	spin_lock(&mshare_pool_lock);
	table = list_first_entry_or_null(&mshare_pool, struct mshare_table,
					 pool);
	if (table) {
		list_del(&table->pool);
		atomic_long_dec(&mshare_pool_size);
	}
	spin_unlock(&mshare_pool_lock);
	return table;
}

/* @table's page must be all zero (pte_none) and linked nowhere. */
void mshare_table_pool_put(struct mshare_table *table)
{
	table->region = NULL;
	spin_lock(&mshare_pool_lock);
	list_add(&table->pool, &mshare_pool);
	atomic_long_inc(&mshare_pool_size);
	spin_unlock(&mshare_pool_lock);
}

long mshare_table_pool_size(void)
{
	return atomic_long_read(&mshare_pool_size);
}

/*
 * The parking table: one zeroed, constructed table that is never filled.
 * A PMD entry that must stop pointing at a region table while walkers of
 * its mm may still read it is pointed here instead of being cleared (see
 * pt_shared.c).  Made from the first fault's preallocated table, before
 * any link exists; pooled at unload, when no entry can point at it.
 */
static struct mshare_table *mshare_parking;

/* The parking table's page, or NULL while no link was ever made. */
struct page *mshare_parking_page(void)
{
	/* Pairs with the release in mshare_parking_prepare(): page is set. */
	struct mshare_table *parking = smp_load_acquire(&mshare_parking);

	return parking ? parking->page : NULL;
}

/*
 * Make the parking table from @vmf->prealloc_pte unless it exists.
 * 0: it exists; VM_FAULT_NOPAGE: the table went to it, retry the fault for
 * another; VM_FAULT_SIGBUS: no memory.
 */
vm_fault_t mshare_parking_prepare(struct vm_fault *vmf)
{
	struct mshare_table *table;

	/* Pairs with the release below.  No parking, no table (compat.h). */
	if (!MSHAREFS_PARK_LINKS || smp_load_acquire(&mshare_parking))
		return 0;
	if (!vmf->prealloc_pte)
		return VM_FAULT_NOPAGE;
	table = kmalloc(sizeof(*table), GFP_KERNEL);
	if (!table)
		return VM_FAULT_SIGBUS;
	table->page = vmf->prealloc_pte;
	table->region = NULL;
	if (mshare_table_adopt(table)) {
		kfree(table);
		return VM_FAULT_SIGBUS;
	}
	spin_lock(&mshare_pool_lock);
	if (!mshare_parking) {
		/* Publish the table after its fields. */
		smp_store_release(&mshare_parking, table);
		vmf->prealloc_pte = NULL;
		table = NULL;
	}
	spin_unlock(&mshare_pool_lock);
	if (table) {		/* another fault made it first */
		xa_erase(&mshare_table_pages, page_to_pfn(table->page));
		kfree(table);
		return 0;
	}
	return VM_FAULT_NOPAGE;
}

/*
 * Unload: no window, so no PMD entry, is left to point at it; entries
 * relinked from it were not flushed, so no CPU may still cache a way
 * through it when it goes back to the core.
 */
void mshare_parking_release(void)
{
	struct mshare_table *parking = mshare_parking;

	if (parking) {
		mshare_parking = NULL;
		mshare_flush_tlb_all_cpus();
		mshare_table_pool_put(parking);
	}
}

/*
 * Hand up to PTRS_PER_PMD - 1 pooled tables back through one temporary
 * mapping of current->mm.  Returns how many went, or a negative errno.
 */
static long mshare_pool_hand_back(void)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr, base, len, i;
	struct vm_area_struct *vma;
	long given = 0;
	pmd_t *pmd;
	char c;

	/*
	 * One PUD-aligned span: granule 0 is touched so that the core builds
	 * the upper levels (and maps the zero page there); granules 1..n get
	 * pooled tables.  PROT_READ private anonymous memory is not charged
	 * against overcommit.
	 */
	len = PUD_SIZE * 2;
	addr = vm_mmap(NULL, 0, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, 0);
	if (IS_ERR_VALUE(addr))
		return (long)addr;
	base = ALIGN(addr, PUD_SIZE);
	if (get_user(c, (const char __user *)base))
		goto out;

	mmap_write_lock(mm);
	vma = find_vma(mm, base);
	if (!vma || vma->vm_start > base || vma->vm_end < base + PUD_SIZE ||
	    !vma_is_anonymous(vma))
		goto unlock;
	pmd = mshare_find_pmd(mm, base);
	if (!pmd)
		goto unlock;
	for (i = 1; i < PTRS_PER_PMD; i++) {
		struct mshare_table *table;
		spinlock_t *ptl;
		bool done = false;

		table = mshare_table_pool_get();
		if (!table)
			break;
		ptl = pmd_lock(mm, pmd + i);
		if (pmd_none(pmd[i])) {
			mm_inc_nr_ptes(mm);
			pmd_populate(mm, pmd + i, table->page);
			done = true;
		}
		spin_unlock(ptl);
		if (!done) {
			mshare_table_pool_put(table);
			break;
		}
		xa_erase(&mshare_table_pages, page_to_pfn(table->page));
		kfree(table);
		given++;
	}
unlock:
	mmap_write_unlock(mm);
out:
	/* free_pgtables() frees every table under the span, ours included. */
	vm_munmap(addr, len);
	return given;
}

/*
 * Hand the pool back to the core if this context allows it: a user
 * process with its mm, not exiting, not mlocking its future mappings.
 * The caller holds no mm or filesystem lock.
 */
void mshare_table_pool_drain(void)
{
	struct mm_struct *mm = current->mm;

	if (!mm || (current->flags & (PF_KTHREAD | PF_EXITING | PF_MEMALLOC)) ||
	    (mm->def_flags & VM_LOCKED))
		return;
	while (mshare_table_pool_size() > 0 && !fatal_signal_pending(current)) {
		long given = mshare_pool_hand_back();

		if (given < 0 && given != -EINTR)
			pr_notice_ratelimited("%ld page tables kept for later: error %ld\n",
					      mshare_table_pool_size(), given);
		if (given <= 0)
			break;
		cond_resched();
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: the pages of a region and its windows (attachments).
 *
 * A window is a MAP_SHARED mapping of the whole region at offset 0, placed
 * on a granule boundary.  It is one unit: it cannot be split, resized,
 * moved or have its protection changed.
 *
 * Inner mappings: each page of a region is anonymous memory with a
 * protection, or a hole.  A sized region starts as one mapping with
 * PROT_READ | PROT_WRITE | PROT_EXEC; MSHAREFS_CREATE_MAPPING, _UNMAP and
 * _PROTECT change ranges of pages for every attacher at once.  An access
 * through a window is allowed by both the window's protection and the
 * page's.
 *
 * Lock order (outermost first; "->" means "may take while holding"):
 *
 *   inode_lock (setattr, fallocate)
 *     region->table_lock                (setting the shmem file)
 *   region->change_lock                 (inner-mapping changes)
 *     region->attach_lock               (dropped before each mm below)
 *     mm->mmap_lock for writing         (each attacher in turn)
 *       mm's links xa_lock -> pmd lock  (unlinking; pt_shared.c)
 *     region->table_lock                (taken and dropped, never held
 *                                        across the mmap_locks)
 *     folio locks, i_pages, memcg       (truncation, inside shmem)
 *     mshare_huge_lock                  (backing.c)
 *   mm->mmap_lock for reading (faults; GUP)
 *     region->table_lock                (states, tables, page lookups)
 *       folio locks, i_pages, memcg     (inside shmem)
 *     folio lock of a 2 MiB folio       (after table_lock is dropped: a
 *                                        fault returning it locked, a
 *                                        table link into its chunk)
 *       mm's links xa_lock
 *         pmd lock (the page-table lock of the PMD page)
 *   mmu notifier callbacks (core locks held): mm's links xa_lock -> pmd lock
 *   mshare_pool_lock, the table xarray: leaves (pt_pool.c)
 *
 * A fault never waits for change_lock or the busy range while it holds
 * mmap_lock: it drops the lock first (mshare_region_wait()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mman.h>
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/file.h>

#include "msharefs.h"

void mshare_region_init(struct mshare_region *region,
			struct msharefs_sb_info *sbi,
			struct address_space *mapping)
{
	unsigned int set;

	region->backing = NULL;
	region->backing_huge = NULL;
	mt_init_flags(&region->huge, MT_FLAGS_USE_RCU);
	xa_init(&region->pages);
	atomic_long_set(&region->nr_pages, 0);
	region->busy_first = 0;
	region->busy_end = 0;
	init_waitqueue_head(&region->busy_wq);
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
	mt_init_flags(&region->states, MT_FLAGS_USE_RCU);
	atomic_long_set(&region->gen, 0);
	/* Charged to the creator, whoever faults the pages in. */
	region->memcg = current->mm ? get_mem_cgroup_from_mm(current->mm) : NULL;
	atomic_long_inc(&msharefs_regions_alive);
}

/* Drop the region's references to pages [@first, @end); returns how many. */
static long mshare_region_drop_pages(struct mshare_region *region,
				     pgoff_t first, pgoff_t end)
{
	unsigned long index;
	struct page *page;
	long nr = 0;

	xa_for_each_range(&region->pages, index, page, first, end - 1) {
		xa_erase(&region->pages, index);
		put_page(page);
		nr++;
		if (!(nr % PTRS_PER_PTE))
			cond_resched();
	}
	atomic_long_sub(nr, &region->nr_pages);
	msharefs_uncharge_pages(region->sbi, nr);
	atomic_long_sub(nr, &msharefs_pages_alive);
	return nr;
}

/*
 * Called when the inode is evicted: no file and no mapping refers to the
 * region any more, so no page table maps its pages.
 */
void mshare_region_destroy(struct mshare_region *region)
{
	if (region->pt_ops->release)
		region->pt_ops->release(region);
	mshare_region_drop_pages(region, 0, ULONG_MAX);
	xa_destroy(&region->pages);
	/* The last reference: the shmem file frees what it still holds. */
	if (region->backing)
		fput(region->backing);
	if (region->backing_huge)
		fput(region->backing_huge);
	mtree_destroy(&region->huge);
	mtree_destroy(&region->states);
	mem_cgroup_put(region->memcg);
	WARN_ON_ONCE(atomic_long_read(&region->nr_pages));
	WARN_ON_ONCE(atomic_long_read(&region->nr_tables));
	WARN_ON_ONCE(atomic_long_read(&region->nr_links));
	WARN_ON_ONCE(!list_empty(&region->attachers));
	atomic_long_dec(&msharefs_regions_alive);
}

/*
 * Region memory is the page cache of a shmem file of the region's size,
 * made when the size is set (backing.c).  That gives it what shmem pages
 * have: they are charged to a memory cgroup as shared memory (Shmem in
 * meminfo, "shmem" in memory.stat), zero-filled, and in 2 MiB pages where
 * the mount's huge= policy allows.  What makes them the region's:
 *
 * - The region holds one reference per page it uses, in @region->pages,
 *   from the first fault that needs the page until an inner-mapping change
 *   drops it (after unmapping it everywhere) or the region goes.  Region
 *   tables map pages without the core's rmap or map counts: the reference
 *   is what keeps a page there.  It also makes migration (compaction, NUMA
 *   balancing, memory offlining) fail on region pages: migration finds a
 *   page through the rmap of the shmem file, where no window is, and moves
 *   it only when its count is what the page cache and the migration hold.
 * - The shmem file is unevictable (mapping_set_unevictable(), as SHM_LOCK
 *   does), so reclaim never writes region pages to swap: they stay on the
 *   unevictable LRU, counted in Unevictable (meminfo, memory.stat).  Swap
 *   needs reclaim to unmap a page from every attacher, and rmap cannot
 *   find the windows (they map the region file, not the shmem file).
 * - Only this module holds the file: nothing else can map, truncate or
 *   read it.
 */
#define MSHARE_GFP	(GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

int mshare_region_set_size(struct mshare_region *region, loff_t size)
{
	struct file *file;

	file = mshare_backing_file(READ_ONCE(region->sbi->huge), size);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mutex_lock(&region->table_lock);
	region->backing = file;
	mutex_unlock(&region->table_lock);
	return 0;
}

static bool mshare_region_busy(struct mshare_region *region, pgoff_t index)
{
	return index >= region->busy_first && index < region->busy_end;
}

/*
 * The page at @index, from the shmem file (allocated zero-filled on first
 * use).  The region keeps one reference for as long as it uses the page;
 * the caller gets no extra one.  A page that comes in a large folio brings
 * its neighbours: every page of the folio that the region does not hold
 * yet, so a 2 MiB page is held, counted and charged once and whole.
 *
 * Pages are charged to the creator's memory cgroup, and to the mount's
 * size= limit: the first page of a granule charges a whole granule there
 * (what is not used is given back), the others one page.  Hitting either
 * limit fails (the fault raises SIGBUS) instead of invoking the OOM killer.
 *
 * Returns ERR_PTR(-EBUSY) while the page is leaving the region (wait for
 * the change, mshare_region_wait()), other errors when memory is short or
 * a limit is reached.  Called with @region->table_lock held.
 */
struct page *mshare_region_get_page(struct mshare_region *region,
				    pgoff_t index)
{
	pgoff_t chunk = round_down(index, PTRS_PER_PTE), first, i;
	unsigned long at = chunk;
	struct mem_cgroup *old_memcg;
	long charged, inserted = 0;
	struct file *backing;
	struct folio *folio;
	struct page *page;

	lockdep_assert_held(&region->table_lock);
	if (mshare_region_busy(region, index))
		return ERR_PTR(-EBUSY);
	page = xa_load(&region->pages, index);
	if (page)
		return page;
	backing = mtree_load(&region->huge, index) ? region->backing_huge :
						     region->backing;
	if (WARN_ON_ONCE(!backing))
		return ERR_PTR(-EINVAL);

	charged = xa_find(&region->pages, &at, chunk + PTRS_PER_PTE - 1,
			  XA_PRESENT) ? 1 : PTRS_PER_PTE;
	if (!msharefs_charge_pages(region->sbi, charged))
		return ERR_PTR(-ENOSPC);
	old_memcg = set_active_memcg(region->memcg);
	page = shmem_read_mapping_page_gfp(backing->f_mapping, index,
					   MSHARE_GFP);
	set_active_memcg(old_memcg);
	if (IS_ERR(page)) {
		msharefs_uncharge_pages(region->sbi, charged);
		return page;
	}
	folio = page_folio(page);
	/* Written through region tables behind the core's back: dirty. */
	folio_mark_dirty(folio);
	first = folio->index;
	for (i = 0; i < folio_nr_pages(folio); i++) {
		pgoff_t k = first + i;

		if (mshare_region_busy(region, k) || xa_load(&region->pages, k))
			continue;
		if (xa_err(xa_store(&region->pages, k, folio_page(folio, i),
				    GFP_KERNEL)))
			break;
		folio_get(folio);
		inserted++;
	}
	folio_put(folio);	/* the lookup's reference */
	/* Pages of a folio the kernel already holds count whatever size= says. */
	msharefs_uncharge_pages(region->sbi, charged - inserted);
	atomic_long_add(inserted, &region->nr_pages);
	atomic_long_add(inserted, &msharefs_pages_alive);
	return xa_load(&region->pages, index) ?: ERR_PTR(-ENOMEM);
}

/*
 * Whether @page, which a fault got from mshare_region_get_page() and has
 * locked since, is still in the region's memory: an inner-mapping change
 * truncates the pages it drops from the shmem file (under the page lock)
 * only after unmapping them from every window.
 */
bool mshare_region_page_live(struct mshare_region *region, struct page *page)
{
	struct address_space *mapping = READ_ONCE(page_folio(page)->mapping);
	struct file *huge = READ_ONCE(region->backing_huge);

	return mapping && (mapping == region->backing->f_mapping ||
			   (huge && mapping == huge->f_mapping));
}

/*
 * A fault needs a page that an inner-mapping change is replacing: wait for
 * the change with the fault lock dropped (the change takes every
 * attacher's mmap_lock), then retry.  The window's file keeps the region.
 */
vm_fault_t mshare_region_wait(struct mshare_region *region,
			      struct vm_fault *vmf)
{
	struct file *file = get_file(vmf->vma->vm_file);

	msharefs_release_fault_lock(vmf);
	wait_event_killable(region->busy_wq, !READ_ONCE(region->busy_end));
	fput(file);
	return VM_FAULT_RETRY;
}

unsigned int mshare_page_state(struct mshare_region *region, pgoff_t index)
{
	void *entry = mtree_load(&region->states, index);

	return entry ? xa_to_value(entry) : MSHARE_STATE_DEFAULT;
}

/*
 * The state of page @index, and in *@last the last page of the run of
 * pages that have the same entry (with a few runs of the same state, the
 * tree merges nothing: runs may be shorter than the state's extent).
 */
unsigned int mshare_page_state_run(struct mshare_region *region,
				   pgoff_t index, pgoff_t *last)
{
	MA_STATE(mas, &region->states, index, index);
	void *entry;

	rcu_read_lock();
	entry = mas_walk(&mas);
	*last = max_t(pgoff_t, mas.last, index);
	rcu_read_unlock();
	return entry ? xa_to_value(entry) : MSHARE_STATE_DEFAULT;
}

/* Whether a page in @state allows the access of a fault with @fault_flags. */
bool mshare_state_allows(unsigned int state, unsigned int fault_flags)
{
	if (state & MSHARE_STATE_HOLE)
		return false;
	if (fault_flags & FAULT_FLAG_WRITE)
		return state & PROT_WRITE;
	if (fault_flags & FAULT_FLAG_INSTRUCTION)
		return state & PROT_EXEC;
	return state & MSHARE_STATE_PROT_MASK;
}

static void mshare_region_unlink_attachers(struct mshare_region *region,
					   unsigned long first,
					   unsigned long end);

#define MSHARE_DROP_PAGES	1	/* the contents go */
#define MSHARE_REFUSE_HOLES	2	/* ENOMEM if the range has a hole */
#define MSHARE_HUGETLB		4	/* new memory from the 2 MiB file */

/*
 * MAP_HUGETLB memory for a change of [@first, @end) (whole granules): one
 * 2 MiB folio per granule.  Granules that have one already (their memory
 * is the 2 MiB file's) keep it, zeroed once no window maps it; for the
 * others it is allocated now, before anything changes, so that a shortage
 * fails the request (ENOMEM) as a hugetlb reservation would.
 */
struct mshare_hugetlb {
	unsigned long nr;		/* granules */
	struct folio **folio;		/* new ones; NULL: keep, zeroed */
};

static void mshare_hugetlb_free(struct mshare_region *region,
				struct mshare_hugetlb *h, pgoff_t first)
{
	unsigned long i;
	loff_t start;

	for (i = 0; i < h->nr; i++) {
		if (!h->folio[i])
			continue;
		folio_put(h->folio[i]);
		msharefs_uncharge_pages(region->sbi, PTRS_PER_PTE);
		/* Nothing maps it: the region never used it. */
		start = (loff_t)(first + i * PTRS_PER_PTE) << PAGE_SHIFT;
		shmem_truncate_range(file_inode(region->backing_huge), start,
				     start + MSHAREFS_GRANULE - 1);
	}
	kvfree(h->folio);
}

static int mshare_hugetlb_prepare(struct mshare_region *region,
				  struct mshare_hugetlb *h, pgoff_t first,
				  pgoff_t end)
{
	struct mem_cgroup *old_memcg;
	struct file *file;
	unsigned long i;
	int err = 0;

	lockdep_assert_held(&region->change_lock);
	if (!region->backing_huge) {
		file = mshare_backing_file(MSHARE_HUGE_ALWAYS,
					   i_size_read(region->mapping->host));
		if (IS_ERR(file))
			return PTR_ERR(file);
		mutex_lock(&region->table_lock);
		region->backing_huge = file;
		mutex_unlock(&region->table_lock);
	}
	h->nr = (end - first) / PTRS_PER_PTE;
	h->folio = kvcalloc(h->nr, sizeof(*h->folio), GFP_KERNEL_ACCOUNT);
	if (!h->folio)
		return -ENOMEM;
	for (i = 0; i < h->nr && !err; i++) {
		pgoff_t index = first + i * PTRS_PER_PTE;
		struct page *page;

		if (mtree_load(&region->huge, index))
			continue;	/* kept */
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		if (!msharefs_charge_pages(region->sbi, PTRS_PER_PTE)) {
			err = -ENOSPC;
			break;
		}
		old_memcg = set_active_memcg(region->memcg);
		page = shmem_read_mapping_page_gfp(region->backing_huge->f_mapping,
						   index, MSHARE_GFP);
		set_active_memcg(old_memcg);
		if (IS_ERR(page)) {
			msharefs_uncharge_pages(region->sbi, PTRS_PER_PTE);
			err = -ENOMEM;
			break;
		}
		h->folio[i] = page_folio(page);
		folio_mark_dirty(h->folio[i]);
		/* No 2 MiB page to be had: no MAP_HUGETLB memory either. */
		if (folio_order(h->folio[i]) != MSHARE_PMD_ORDER)
			err = -ENOMEM;
		cond_resched();
	}
	if (err)
		mshare_hugetlb_free(region, h, first);
	return err;
}

/* Give the region the 2 MiB folios of a MAP_HUGETLB change: busy pages. */
static void mshare_hugetlb_install(struct mshare_region *region,
				   struct mshare_hugetlb *h, pgoff_t first)
{
	unsigned long i, k;

	lockdep_assert_held(&region->change_lock);
	for (i = 0; i < h->nr; i++) {
		pgoff_t index = first + i * PTRS_PER_PTE;
		struct folio *folio = h->folio[i];
		long inserted = 0;

		if (!folio) {
			/* Kept: unmapped everywhere now, so zero it. */
			struct page *page = shmem_read_mapping_page_gfp(
				region->backing_huge->f_mapping, index,
				MSHARE_GFP);

			if (IS_ERR(page))	/* it is there: cannot happen */
				continue;
			folio = page_folio(page);
			folio_zero_range(folio, 0, folio_size(folio));
			msharefs_uncharge_pages(region->sbi, -PTRS_PER_PTE);
		}
		mutex_lock(&region->table_lock);
		for (k = 0; k < folio_nr_pages(folio); k++) {
			if (xa_err(xa_store(&region->pages, index + k,
					    folio_page(folio, k), GFP_KERNEL)))
				break;
			folio_get(folio);
			inserted++;
		}
		mutex_unlock(&region->table_lock);
		/* What the xarray could not take faults bring in later. */
		msharefs_uncharge_pages(region->sbi, PTRS_PER_PTE - inserted);
		atomic_long_add(inserted, &region->nr_pages);
		atomic_long_add(inserted, &msharefs_pages_alive);
		folio_put(folio);
		cond_resched();
	}
	kvfree(h->folio);
}

/*
 * Change pages [@first, @end) for every attacher; @change_lock held.
 * Under @table_lock: bump the generation, record the new state (and where
 * new memory comes from), take the tables of every granule the range
 * touches out of the region and, with MSHARE_DROP_PAGES, mark the pages
 * busy (no fault takes one any more).  Then clear every attacher's links
 * to those granules under its mmap_lock for writing: after that no walker
 * of any attacher can still hold one of the tables, and a fault that
 * looked before the change does not link one (generation); a fault that
 * got a page before it became busy has mapped it by then (it held that
 * mmap_lock).  Then unmap the range from every window: the core zaps what
 * private tables and PMD entries map, and the notifiers park links made
 * since.  Only then are the tables pooled and the pages dropped: the
 * region's references first, then the shmem files' pages themselves
 * (truncated, so that new memory there is zero-filled), then MAP_HUGETLB
 * memory goes in, and the busy range ends.
 *
 * A change of part of a granule costs what a change of the whole granule
 * does: its tables go, so every attacher that uses the granule takes one
 * fault to link the table built for the new state.  The pages of the
 * granule outside the range keep their contents.
 */
static int mshare_region_change(struct mshare_region *region,
				pgoff_t first, pgoff_t end,
				unsigned int state, unsigned int how,
				struct mshare_hugetlb *h)
{
	unsigned long cfirst = first / PTRS_PER_PTE;
	unsigned long cend = DIV_ROUND_UP(end, PTRS_PER_PTE);
	loff_t start = (loff_t)first << PAGE_SHIFT;
	loff_t len = (loff_t)(end - first) << PAGE_SHIFT;
	struct mshare_table *table, *tmp_table;
	unsigned long index, at;
	LIST_HEAD(tables);
	unsigned int set;
	void *entry;
	int err;

	lockdep_assert_held(&region->change_lock);
	mutex_lock(&region->table_lock);
	if (how & MSHARE_REFUSE_HOLES) {
		/* Only pages that are not in the default state have entries. */
		at = first;
		mt_for_each(&region->states, entry, at, end - 1) {
			if (xa_to_value(entry) & MSHARE_STATE_HOLE) {
				mutex_unlock(&region->table_lock);
				return -ENOMEM;
			}
		}
	}
	/*
	 * One range entry (splitting those it overlaps), so a request costs
	 * the same on a page and on a region of terabytes; the trees' nodes
	 * are charged to the caller's memory cgroup.  New memory comes from
	 * the 2 MiB file with MSHARE_HUGETLB, else from the other.
	 */
	if (how & MSHARE_DROP_PAGES) {
		entry = (how & MSHARE_HUGETLB) ? xa_mk_value(1) : NULL;
		err = mtree_store_range(&region->huge, first, end - 1, entry,
					GFP_KERNEL_ACCOUNT);
		if (err) {
			/* Nothing known to have changed. */
			mutex_unlock(&region->table_lock);
			return err;
		}
	}
	atomic_long_inc(&region->gen);
	entry = state == MSHARE_STATE_DEFAULT ? NULL : xa_mk_value(state);
	err = mtree_store_range(&region->states, first, end - 1, entry,
				GFP_KERNEL_ACCOUNT);
	if (err && !(how & MSHARE_DROP_PAGES)) {
		/* Nothing known to have changed: leave tables and pages. */
		mutex_unlock(&region->table_lock);
		return err;
	}
	if (err) {
		/* The memory goes anyway: leave a hole (the request fails). */
		mtree_store_range(&region->states, first, end - 1,
				  xa_mk_value(MSHARE_STATE_HOLE), GFP_ATOMIC);
		mtree_store_range(&region->huge, first, end - 1, NULL,
				  GFP_ATOMIC);
	}
	for (set = 0; set < MSHARE_TABLE_SETS; set++) {
		xa_for_each_range(&region->tables[set], index, table, cfirst,
				  cend - 1) {
			xa_erase(&region->tables[set], index);
			list_add(&table->pool, &tables);
			atomic_long_dec(&region->nr_tables);
		}
	}
	if (how & MSHARE_DROP_PAGES) {
		region->busy_first = first;
		region->busy_end = end;
	}
	mutex_unlock(&region->table_lock);

	/*
	 * Always, tables or not: taking each attacher's mmap_lock also waits
	 * for its faults that looked at the old state (private tables).
	 */
	mshare_region_unlink_attachers(region, cfirst, cend);
	unmap_mapping_range(region->mapping, start, len, 0);

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
	if (how & MSHARE_DROP_PAGES) {
		mshare_region_drop_pages(region, first, end);
		/* The same mappings the shmem file's own truncation makes. */
		unmap_mapping_range(region->mapping, start, len, 0);
		shmem_truncate_range(file_inode(region->backing), start,
				     start + len - 1);
		/* A MAP_HUGETLB change keeps or brings the 2 MiB pages. */
		if (region->backing_huge && (!h || err))
			shmem_truncate_range(file_inode(region->backing_huge),
					     start, start + len - 1);
		if (h && !err)
			mshare_hugetlb_install(region, h, first);
		else if (h)
			mshare_hugetlb_free(region, h, first);
		mutex_lock(&region->table_lock);
		region->busy_first = 0;
		region->busy_end = 0;
		mutex_unlock(&region->table_lock);
		wake_up_all(&region->busy_wq);
	}
	return err;
}

/*
 * MAP_HUGETLB memory lives in whole granules: no change may split one
 * (as munmap and mprotect refuse to split a hugetlb mapping).
 */
static int mshare_region_check_split(struct mshare_region *region,
				     pgoff_t first, pgoff_t end)
{
	if (!IS_ALIGNED(first, PTRS_PER_PTE) &&
	    mtree_load(&region->huge, first))
		return -EINVAL;
	if (!IS_ALIGNED(end, PTRS_PER_PTE) &&
	    mtree_load(&region->huge, end - 1))
		return -EINVAL;
	return 0;
}

/*
 * MSHAREFS_CREATE_MAPPING: fresh zero-filled memory with @prot; with
 * @hugetlb in 2 MiB pages, for [@first, @end) in whole granules.
 */
int mshare_region_map(struct mshare_region *region, pgoff_t first,
		      pgoff_t end, unsigned int prot, bool hugetlb)
{
	struct mshare_hugetlb h = {};
	int err;

	mutex_lock(&region->change_lock);
	err = mshare_region_check_split(region, first, end);
	if (!err && hugetlb)
		err = mshare_hugetlb_prepare(region, &h, first, end);
	if (!err)
		err = mshare_region_change(region, first, end, prot,
					   MSHARE_DROP_PAGES |
					   (hugetlb ? MSHARE_HUGETLB : 0),
					   hugetlb ? &h : NULL);
	mutex_unlock(&region->change_lock);
	return err;
}

/* MSHAREFS_UNMAP: a hole; any access raises SIGSEGV. */
int mshare_region_unmap(struct mshare_region *region, pgoff_t first,
			pgoff_t end)
{
	int err;

	mutex_lock(&region->change_lock);
	err = mshare_region_check_split(region, first, end);
	if (!err)
		err = mshare_region_change(region, first, end,
					   MSHARE_STATE_HOLE,
					   MSHARE_DROP_PAGES, NULL);
	mutex_unlock(&region->change_lock);
	return err;
}

/* MSHAREFS_PROTECT: the contents stay; ENOMEM over a hole, like mprotect. */
int mshare_region_protect(struct mshare_region *region, pgoff_t first,
			  pgoff_t end, unsigned int prot)
{
	int err;

	mutex_lock(&region->change_lock);
	err = mshare_region_check_split(region, first, end);
	if (!err)
		err = mshare_region_change(region, first, end, prot,
					   MSHARE_REFUSE_HOLES, NULL);
	mutex_unlock(&region->change_lock);
	return err;
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

	lockdep_assert_held(&region->change_lock);
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
 * A write to a window that the core is about to allow.  Region tables are
 * read-only where a page is: refuse the write, and never let the core
 * make an entry of a region table writable through one process (retry
 * instead: a protection change is unlinking that table).
 *
 * A new entry (do_shared_fault(): a private table, or a PMD entry for a
 * 2 MiB page): return the page locked, so that the core maps it under the
 * lock a region table linked into the same entry takes (see
 * mshare_link_table()), and not if one was linked since the fault.
 * Entries of private tables otherwise follow the core's write-notify path.
 */
static vm_fault_t mshare_vm_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mshare_region *region = file_region(vma->vm_file);
	pgoff_t index = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	pmd_t pmd;

	if (!mshare_state_allows(mshare_page_state(region, index),
				 FAULT_FLAG_WRITE))
		return VM_FAULT_SIGSEGV;
	if (!vmf->pte) {
		lock_page(vmf->page);
		pmd = READ_ONCE(*vmf->pmd);
		if (!mshare_region_page_live(region, vmf->page) ||
		    (pmd_present(pmd) && !pmd_leaf(pmd) &&
		     mshare_is_region_table(pmd_page(pmd)))) {
			unlock_page(vmf->page);
			return VM_FAULT_NOPAGE;
		}
		if (!mshare_state_allows(mshare_page_state(region, index),
					 FAULT_FLAG_WRITE)) {
			unlock_page(vmf->page);
			return VM_FAULT_SIGSEGV;
		}
		return VM_FAULT_LOCKED;
	}
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
	 * VM_DONTEXPAND: refuse growth (mremap) and merging with neighbours;
	 * it also keeps khugepaged and MADV_COLLAPSE away (VM_NO_KHUGEPAGED),
	 * while the fault maps 2 MiB pages with PMD entries itself, where
	 * VM_NOHUGEPAGE (MADV_NOHUGEPAGE, the process's choice) would stop it.
	 */
	msharefs_vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &mshare_vm_ops;
	vma->vm_private_data = NULL;
	file_accessed(file);
	return 0;
}

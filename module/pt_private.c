// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private page tables: each attacher's core mm builds its own PTEs from the
 * pages the fault handler hands it.  Region pages are never freed while
 * mapped: the region holds a reference until the page leaves it (region
 * destroyed, or an inner-mapping change, which unmaps it first), and each
 * PTE holds the reference taken here.  A fault that may not wait for an
 * inner-mapping change replacing its page gets SIGBUS.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pagemap.h>
#include <asm/pgalloc.h>

#include "msharefs.h"

/*
 * Make sure the PMD entry of @vmf points at a PTE table: install the one
 * the core preallocated in an empty entry, as finish_fault() would.
 * False if the entry is empty and there is no table to install (retry).
 */
static bool mshare_private_table(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl;

	if (!pmd_none(READ_ONCE(*vmf->pmd)))
		return true;
	if (!vmf->prealloc_pte)
		return false;
	smp_wmb();	/* the zeroed table before the entry, as pmd_install() */
	ptl = pmd_lock(mm, vmf->pmd);
	if (pmd_none(*vmf->pmd)) {
		mm_inc_nr_ptes(mm);
		pmd_populate(mm, vmf->pmd, vmf->prealloc_pte);
		vmf->prealloc_pte = NULL;
	}
	spin_unlock(ptl);
	return true;
}

static vm_fault_t mshare_pt_private_fault(struct mshare_region *region,
					  struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	pgoff_t index = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	struct page *page;

	if (index >= i_size_read(file_inode(vma->vm_file)) >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;

	mutex_lock(&region->table_lock);
	if (!mshare_state_allows(mshare_page_state(region, index),
				 vmf->flags)) {
		mutex_unlock(&region->table_lock);
		return VM_FAULT_SIGSEGV;
	}
	page = mshare_region_get_page(region, index);
	if (!IS_ERR(page))
		get_page(page);
	mutex_unlock(&region->table_lock);
	if (IS_ERR(page)) {
		if (PTR_ERR(page) == -EBUSY && mshare_may_drop_lock(vmf))
			return mshare_region_wait(region, vmf);
		return VM_FAULT_SIGBUS;	/* memory cgroup or size= limit */
	}

	/*
	 * The core maps the page with its lock held.  An inner-mapping change
	 * truncates the pages it drops from the shmem file under that lock,
	 * after unmapping them: a page that left meanwhile is not mapped.
	 */
	lock_page(page);
	if (!mshare_region_page_live(region, page)) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_NOPAGE;
	}
	/*
	 * The core maps a page of a 2 MiB folio with a PMD entry where the
	 * entry is empty (finish_fault(), do_set_pmd()), whatever the state
	 * of the folio's other pages.  Give it a private table first.
	 */
	if (PageTransCompound(page) && !mshare_private_table(vmf)) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_NOPAGE;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

const struct mshare_pt_ops mshare_pt_private_ops = {
	.fault		= mshare_pt_private_fault,
	/* No ->release: the core mm frees the page tables it built. */
};

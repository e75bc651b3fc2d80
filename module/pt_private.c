// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private page tables: each attacher's core mm builds its own PTEs from the
 * pages the fault handler hands it.  Region pages are never freed while
 * mapped: the region holds a reference until it is destroyed, which cannot
 * happen while a mapping (which pins the file) exists, and each PTE holds
 * the reference taken here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "msharefs.h"

static vm_fault_t mshare_pt_private_fault(struct mshare_region *region,
					  struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	pgoff_t index = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	struct page *page;

	if (index >= i_size_read(file_inode(vma->vm_file)) >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;

	page = mshare_region_get_page(region, index);
	if (!page)
		return VM_FAULT_OOM;

	get_page(page);
	vmf->page = page;
	return 0;
}

const struct mshare_pt_ops mshare_pt_private_ops = {
	.fault		= mshare_pt_private_fault,
	/* No ->release: the core mm frees the page tables it built. */
};

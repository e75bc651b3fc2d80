/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel version differences, in one place.
 *
 * The module is written against Debian's 6.1 kernel; every interface that
 * changed since is wrapped here so the rest of the code reads the same on
 * every supported kernel.  Kbuild passes the version of the kernel being
 * built against as MSHAREFS_KVER_MAJOR/MINOR.
 */
#ifndef MSHAREFS_COMPAT_H
#define MSHAREFS_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/coredump.h>

#define MSHAREFS_KERNEL_AT_LEAST(major, minor)				\
	(MSHAREFS_KVER_MAJOR > (major) ||				\
	 (MSHAREFS_KVER_MAJOR == (major) && MSHAREFS_KVER_MINOR >= (minor)))

/* 6.3 replaced the user_namespace argument of inode operations by mnt_idmap. */
#if MSHAREFS_KERNEL_AT_LEAST(6, 3)
#define MSHAREFS_IDMAP_T		struct mnt_idmap
#define MSHAREFS_NOP_IDMAP		(&nop_mnt_idmap)
#else
#define MSHAREFS_IDMAP_T		struct user_namespace
#define MSHAREFS_NOP_IDMAP		(&init_user_ns)
#endif

/* 6.3 made vma->vm_flags read-only outside the helpers. */
static inline void msharefs_vm_flags_set(struct vm_area_struct *vma,
					 vm_flags_t flags)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 3)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* 6.6 moved the inode timestamps behind accessors. */
static inline void msharefs_touch_ctime_mtime(struct inode *inode)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 6)
	inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
#else
	inode->i_mtime = inode->i_ctime = current_time(inode);
#endif
}

static inline void msharefs_init_times(struct inode *inode)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 6)
	simple_inode_init_ts(inode);
#else
	inode->i_atime = inode->i_mtime = inode->i_ctime = current_time(inode);
#endif
}

/* 6.6 added the request mask to generic_fillattr(). */
static inline void msharefs_fillattr(MSHAREFS_IDMAP_T *idmap, u32 request_mask,
				     struct inode *inode, struct kstat *stat)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 6)
	generic_fillattr(idmap, request_mask, inode, stat);
#else
	generic_fillattr(idmap, inode, stat);
#endif
}

/* 6.10 removed mm->get_unmapped_area in favour of mm_get_unmapped_area(). */
static inline unsigned long
msharefs_mm_get_unmapped_area(unsigned long addr, unsigned long len,
			      unsigned long flags)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 10)
	return mm_get_unmapped_area(current->mm, NULL, addr, len, 0, flags);
#else
	return current->mm->get_unmapped_area(NULL, addr, len, 0, flags);
#endif
}

/* 6.4 added per-VMA locks: faults may hold one instead of mmap_lock. */
static inline void msharefs_release_fault_lock(struct vm_fault *vmf)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 5)
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

/* Writers of VMA fields must also hold the VMA's own lock since 6.4. */
static inline void msharefs_vma_start_write(struct vm_area_struct *vma)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 4)
	vma_start_write(vma);
#endif
}

/* Whether the process opted out of huge pages (prctl PR_SET_THP_DISABLE). */
static inline bool msharefs_mm_thp_disabled(struct mm_struct *mm)
{
	return test_bit(MMF_DISABLE_THP, &mm->flags);
}

#endif /* MSHAREFS_COMPAT_H */

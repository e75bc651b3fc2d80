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
#include <linux/kvm_types.h>
#include <asm/tlbflush.h>
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

/*
 * 6.10 removed mm->get_unmapped_area in favour of mm_get_unmapped_area();
 * 6.19 dropped its mm argument (always current->mm).
 */
static inline unsigned long
msharefs_mm_get_unmapped_area(unsigned long addr, unsigned long len,
			      unsigned long flags)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 19)
	return mm_get_unmapped_area(NULL, addr, len, 0, flags);
#elif MSHAREFS_KERNEL_AT_LEAST(6, 10)
	return mm_get_unmapped_area(current->mm, NULL, addr, len, 0, flags);
#else
	return current->mm->get_unmapped_area(NULL, addr, len, 0, flags);
#endif
}

/* Whether a fault may release its lock and ask the core to retry. */
static inline bool mshare_may_drop_lock(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_ALLOW_RETRY) &&
	       !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT);
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

/* 6.3 checks permissions through the mount's idmap instead of its userns. */
static inline int msharefs_file_inode_permission(struct file *file,
						 struct inode *inode, int mask)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 3)
	return inode_permission(file_mnt_idmap(file), inode, mask);
#else
	return inode_permission(file_mnt_user_ns(file), inode, mask);
#endif
}

/*
 * Whether the process opted out of huge pages (prctl PR_SET_THP_DISABLE).
 * 6.18 made mm->flags a bitmap read with mm_flags_test() and split the flag
 * in two: "completely" and "except where advised"; the module takes both
 * as an opt-out.
 */
static inline bool msharefs_mm_thp_disabled(struct mm_struct *mm)
{
#ifdef MMF_DISABLE_THP_COMPLETELY
	return mm_flags_test(MMF_DISABLE_THP_COMPLETELY, mm) ||
	       mm_flags_test(MMF_DISABLE_THP_EXCEPT_ADVISED, mm);
#else
	return test_bit(MMF_DISABLE_THP, &mm->flags);
#endif
}

/*
 * 6.15: ->mkdir returns the dentry it instantiated (NULL for the one it was
 * given) or an ERR_PTR, instead of an errno.
 */
#if MSHAREFS_KERNEL_AT_LEAST(6, 15)
#define MSHAREFS_MKDIR_T		struct dentry *
#define MSHAREFS_MKDIR_RET(err)		ERR_PTR(err)
#else
#define MSHAREFS_MKDIR_T		int
#define MSHAREFS_MKDIR_RET(err)		(err)
#endif

/* 6.18 renamed generic_delete_inode() to inode_just_drop(). */
#if MSHAREFS_KERNEL_AT_LEAST(6, 18)
#define msharefs_drop_inode		inode_just_drop
#else
#define msharefs_drop_inode		generic_delete_inode
#endif

/*
 * 6.19 pins the dentries of an in-memory filesystem with DCACHE_PERSISTENT
 * instead of an extra reference: d_make_persistent() instantiates and pins
 * (and hashes an unhashed dentry), simple_unlink()/simple_rmdir() unpin (and
 * warn about a dentry that is not persistent), kill_anon_super() unpins what
 * is left at umount, and kill_litter_super() is gone.  Before 6.19: the
 * same with d_instantiate() + dget(), and kill_litter_super().
 */
static inline void msharefs_d_make_persistent(struct dentry *dentry,
					      struct inode *inode)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 19)
	d_make_persistent(dentry, inode);
#else
	d_instantiate(dentry, inode);
	dget(dentry);
	if (d_unhashed(dentry))
		d_rehash(dentry);
#endif
}

static inline void msharefs_kill_persistent_super(struct super_block *sb)
{
#if MSHAREFS_KERNEL_AT_LEAST(6, 19)
	kill_anon_super(sb);
#else
	kill_litter_super(sb);
#endif
}

/*
 * CONFIG_PT_RECLAIM (6.14): MADV_DONTNEED over a whole PTE table that it
 * leaves empty clears the PMD entry and frees the table, holding mmap_lock
 * only for reading.  A link parked there (pt_shared.c, "Parking") would hand
 * the module's parking table to the core; and the core clearing entries
 * under walkers means that every walker of such a kernel re-reads the entry
 * under the table's lock (pte_offset_map_lock() checks pmd_same()).  So
 * where the core reclaims tables, links are cleared, never parked.
 */
#define MSHAREFS_PARK_LINKS		(!IS_ENABLED(CONFIG_PT_RECLAIM))

/*
 * Flushing every TLB entry and paging-structure cache of this CPU, for all
 * address spaces (the caller runs it on each CPU): a module changes PMD
 * entries the core does not know about, and flush_tlb_mm_range() was never
 * exported.  __flush_tlb_all() was, until the kernel that introduced
 * EXPORT_SYMBOL_FOR_KVM() (6.19) exported it to KVM only; no other exported
 * function flushes a range of an mm the core itself did not change.  There,
 * do what __flush_tlb_all() does with the header's own inlines: INVPCID for
 * all contexts where the CPU has it, else (the kernel then uses no PCIDs) a
 * reload of CR3, which drops every non-global entry and the paging-structure
 * caches; user mappings are never global.  A CPU with PCIDs and no INVPCID,
 * or a Xen PV guest, has no such way: the module refuses to load there
 * (msharefs_tlb_flush_possible()).
 */
#ifdef EXPORT_SYMBOL_FOR_KVM
#include <asm/invpcid.h>
#include <asm/special_insns.h>

static inline bool msharefs_tlb_flush_possible(void)
{
	return !boot_cpu_has(X86_FEATURE_XENPV) &&
	       (boot_cpu_has(X86_FEATURE_INVPCID) ||
		!boot_cpu_has(X86_FEATURE_PCID));
}

static inline void msharefs_flush_tlb_local(void)
{
	if (boot_cpu_has(X86_FEATURE_INVPCID))
		invpcid_flush_all_nonglobals();
	else
		native_write_cr3(__native_read_cr3());
}
#else
static inline bool msharefs_tlb_flush_possible(void)
{
	return true;
}

static inline void msharefs_flush_tlb_local(void)
{
	__flush_tlb_all();
}
#endif

/*
 * The flags of a shmem file's setup: vm_flags_t until 6.x, the bitmap type
 * vma_flags_t in 7.2 (mk_vma_flags() of VMA_*_BIT).
 */
#ifdef EMPTY_VMA_FLAGS
#define MSHAREFS_SHMEM_NORESERVE	mk_vma_flags(VMA_NORESERVE_BIT)
#else
#define MSHAREFS_SHMEM_NORESERVE	VM_NORESERVE
#endif

#endif /* MSHAREFS_COMPAT_H */

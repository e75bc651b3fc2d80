/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * msharefs: share memory, and its page tables, between processes.
 *
 * The user/kernel interface of the msharefs filesystem, shared by the
 * kernel module and libmshare.  It follows the upstream mshare v3 ABI
 * (August 2025): the same filesystem magic, ioctl numbers and structures,
 * so that programs written for upstream run unchanged.
 */
#ifndef _UAPI_LINUX_MSHAREFS_H
#define _UAPI_LINUX_MSHAREFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* statfs(2) f_type of an msharefs mount ("MSHR"). */
#define MSHAREFS_MAGIC		0x4d534852

/* Filesystem type name, and the conventional mount point. */
#define MSHAREFS_FSTYPE		"msharefs"
#define MSHAREFS_MOUNT_POINT	"/sys/fs/mshare"

/* Read-only file in the root of every mount: the granule, decimal text. */
#define MSHAREFS_INFO_NAME	"mshare_info"

/*
 * MSHAREFS_CREATE_MAPPING: create a mapping inside a region.
 * @region_offset: start of the range, relative to the region
 * @size:          length of the range
 * @offset:        offset into @fd (file-backed mappings)
 * @prot:          PROT_* of the new mapping
 * @flags:         MAP_* flags; MAP_SHARED | MAP_FIXED are required
 * @fd:            source file, or -1 with MAP_ANONYMOUS
 */
struct mshare_create {
	__u64 region_offset;
	__u64 size;
	__u64 offset;
	__u32 prot;
	__u32 flags;
	__u32 fd;
};

/*
 * MSHAREFS_UNMAP: remove the mappings of a range of a region.
 */
struct mshare_unmap {
	__u64 region_offset;
	__u64 size;
};

#define MSHAREFS_CREATE_MAPPING	_IOW('x', 0, struct mshare_create)
#define MSHAREFS_UNMAP		_IOW('x', 1, struct mshare_unmap)

#endif /* _UAPI_LINUX_MSHAREFS_H */

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

/*
 * MSHAREFS_PROTECT: change the protection of a range of a region for every
 * attacher at once (a libmshare extension, numbered after upstream's).
 * @region_offset, @size: the range, granule-aligned, inside the region
 * @prot:  PROT_NONE or PROT_READ/PROT_WRITE/PROT_EXEC bits
 * @flags: 0
 */
struct mshare_protect {
	__u64 region_offset;
	__u64 size;
	__u32 prot;
	__u32 flags;
};

#define MSHAREFS_PROTECT	_IOW('x', 2, struct mshare_protect)

/*
 * Statistics: a libmshare extension, not part of upstream mshare.
 *
 * The structures are versioned and extensible.  The ioctl number encodes
 * the size of the structure the caller was built with (_IOC_SIZE); the
 * kernel accepts any size from the first version's up, fills at most that
 * many bytes, and stores in @version the layout it filled and in @size the
 * number of bytes it filled.  Later versions only append fields.
 */
#define MSHAREFS_STAT_VERSION	1

/*
 * MSHAREFS_GET_REGION_STAT: figures of the region open on the fd (any
 * access mode).  Page tables: without sharing, every attacher would pay
 * one PTE table for each granule of a window it touched; with sharing the
 * region pays one table per granule and protection, and each attacher
 * links it into a PMD entry.  @pt_bytes_saved is
 * (@pt_links - @pt_tables) * @page_size and is negative while tables
 * exist that fewer links use (for example after every attacher left).
 */
struct msharefs_region_stat {
	__u32 version;		/* out: MSHAREFS_STAT_VERSION */
	__u32 size;		/* out: bytes filled */
	__u64 region_size;	/* bytes; 0 until the size is set */
	__u64 granule;		/* bytes */
	__u64 page_size;	/* bytes */
	__u32 uid;		/* owner, in the caller's user namespace */
	__u32 gid;
	__u32 mode;		/* st_mode */
	__u32 __reserved;
	__u64 attachers;	/* processes with at least one window */
	__u64 windows;		/* windows (mappings) in all processes */
	__u64 resident_pages;	/* pages allocated to the region */
	__u64 pt_tables;	/* PTE tables owned by the region */
	__u64 pt_links;		/* attachers' PMD entries pointing at them */
	__s64 pt_bytes_saved;	/* (pt_links - pt_tables) * page_size */
};

/*
 * MSHAREFS_GET_FS_STAT: totals of the mount, from an fd of any file or
 * directory on it (including mshare_info).  The counts are sums over the
 * regions; @attachers counts a process once per region it attaches.
 */
struct msharefs_fs_stat {
	__u32 version;		/* out: MSHAREFS_STAT_VERSION */
	__u32 size;		/* out: bytes filled */
	__u64 granule;		/* bytes */
	__u64 page_size;	/* bytes */
	__u64 regions;
	__u64 attachers;
	__u64 windows;
	__u64 resident_pages;
	__u64 pt_tables;
	__u64 pt_links;
	__s64 pt_bytes_saved;
	__u64 pt_pooled;	/* module-wide: spare tables kept for reuse */
	char module_version[32];	/* NUL-terminated */
};

#define MSHAREFS_GET_REGION_STAT _IOR('x', 3, struct msharefs_region_stat)
#define MSHAREFS_GET_FS_STAT	_IOR('x', 4, struct msharefs_fs_stat)

/*
 * MSHAREFS_LIST_REGIONS: the regions of the mount, from an fd of any file
 * or directory on it, including those that have no name (unlinked while
 * open or attached, or created with O_TMPFILE), which no directory shows.
 * A libmshare extension, versioned like the statistics.
 *
 * The caller passes an array of @nr entries of @entry_size bytes each at
 * @entries (any size from the first version's up); the kernel fills at
 * most @nr of them, each with at most @entry_size bytes (the rest of an
 * entry zeroed), and returns in @nr the number filled, in @total the
 * number of regions that matched (more than @nr if the array was too
 * small: call again with a larger one), in @size the bytes of each entry
 * it filled and in @version the layout.  @nr 0 only counts.
 * The figures of @stat are filled only where the caller may read the
 * region (MSHAREFS_ENTRY_NOSTAT otherwise: only @ino, @nlink and the
 * size, owner and mode in @stat are valid).
 */
#define MSHAREFS_LIST_UNLINKED	0x1	/* only regions without a name */

#define MSHAREFS_ENTRY_NOSTAT	0x1	/* figures withheld: no read access */

struct msharefs_region_entry {
	__u64 ino;		/* inode number (st_ino) */
	__u32 nlink;		/* links: 0 for a region without a name */
	__u32 flags;		/* MSHAREFS_ENTRY_* */
	struct msharefs_region_stat stat;
};

struct msharefs_list {
	__u32 version;		/* out: MSHAREFS_STAT_VERSION */
	__u32 size;		/* out: bytes filled in each entry */
	__u32 flags;		/* in: MSHAREFS_LIST_* */
	__u32 entry_size;	/* in: bytes of each entry of the array */
	__u64 entries;		/* in: address of the array */
	__u64 nr;		/* in: entries in the array; out: entries filled */
	__u64 total;		/* out: regions that matched */
};

#define MSHAREFS_LIST_REGIONS	_IOWR('x', 5, struct msharefs_list)

#endif /* _UAPI_LINUX_MSHAREFS_H */

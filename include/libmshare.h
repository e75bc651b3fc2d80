/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare: processes that share memory share its page tables too.
 *
 * Thin wrappers around the msharefs filesystem: a region is a file on the
 * msharefs mount; attaching it is mmap(2) of the whole file.
 */
#ifndef LIBMSHARE_H
#define LIBMSHARE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Environment variable that overrides the discovery of the msharefs mount. */
#define LIBMSHARE_MOUNT_ENV	"LIBMSHARE_MOUNT"

/*
 * Open or create the region @name under the msharefs mount.
 * @flags: O_RDONLY or O_RDWR, optionally O_CREAT, O_EXCL, O_TRUNC.
 * Returns a file descriptor (close-on-exec), or -1 with errno set.
 */
int mcreate(const char *name, int flags, mode_t mode);

/*
 * Attach the whole region open on @fd.  @addr is a hint, or the exact
 * address with MAP_FIXED / MAP_FIXED_NOREPLACE in @flags.
 * Returns the start of the window, or MAP_FAILED with errno set.
 */
void *mattach(int fd, void *addr, int prot, int flags);

/* Detach the region attached at @addr.  Returns 0, or -1 with errno set. */
int mdetach(void *addr);

/* Remove the region @name.  Returns 0, or -1 with errno set. */
int mshare_unlink(const char *name);

/* Set the size of the region open on @fd (once; a multiple of the granule). */
int mshare_set_size(int fd, size_t size);

/* Store the size of the region open on @fd in *@size (0 if not yet set). */
int mshare_get_size(int fd, size_t *size);

/* The size and alignment granule of regions in bytes, or -1 with errno set. */
long mshare_granule(void);

/* The msharefs mount point in use, or NULL with errno set. */
const char *mshare_mount_point(void);

/*
 * Figures of one region (mshare_stat(3)).  Sizes are in bytes.  Page
 * tables: the region owns @pt_tables PTE tables; attachers link them into
 * their page-table trees @pt_links times; each link is a table the attacher
 * did not have to allocate, so @pt_bytes_saved is
 * (@pt_links - @pt_tables) * @page_size, negative while tables exist that
 * fewer links use.  @reserved is zeroed: later versions add fields there.
 */
struct mshare_stat {
	uint64_t size;			/* region size; 0 until set */
	uint64_t granule;
	uint64_t page_size;
	uid_t uid;			/* owner */
	gid_t gid;
	mode_t mode;			/* st_mode: type and permissions */
	unsigned int version;		/* statistics layout of the kernel */
	uint64_t attachers;		/* processes with the region mapped */
	uint64_t windows;		/* mappings, in all processes */
	uint64_t resident_bytes;	/* memory allocated to the region */
	uint64_t pt_tables;		/* PTE tables owned by the region */
	uint64_t pt_links;		/* attachers' links to them */
	int64_t pt_bytes_saved;		/* page-table memory not allocated */
	uint64_t reserved[8];
};

/*
 * Totals of the msharefs mount (mshare_statfs(3)): sums over its regions.
 * @pt_pooled counts, over the whole module, page tables no region uses
 * any more, kept to be reused or given back to the kernel.
 */
struct mshare_statfs {
	unsigned int version;		/* statistics layout of the kernel */
	unsigned int reserved0;
	uint64_t granule;
	uint64_t page_size;
	uint64_t regions;
	uint64_t attachers;		/* a process counts once per region */
	uint64_t windows;
	uint64_t resident_bytes;
	uint64_t pt_tables;
	uint64_t pt_links;
	int64_t pt_bytes_saved;
	uint64_t pt_pooled;		/* module-wide spare tables */
	char module_version[32];	/* of the msharefs module */
	uint64_t reserved[8];
};

/* Figures of the region @name.  Returns 0, or -1 with errno set. */
int mshare_stat(const char *name, struct mshare_stat *st);

/* Figures of the region open on @fd (any access mode). */
int mshare_fstat(int fd, struct mshare_stat *st);

/* Totals of the msharefs mount in use.  Returns 0, or -1 with errno set. */
int mshare_statfs(struct mshare_statfs *st);

/*
 * Inner mappings of the region open on @fd (writable), for every attacher
 * at once; @offset and @len are granule multiples inside the region.
 * mshare_map(): fresh zero-filled memory with protection @prot.
 * mshare_unmap(): a hole; any access to it raises SIGSEGV.
 * mshare_protect(): a new protection, contents kept.
 * Each returns 0, or -1 with errno set.
 */
int mshare_map(int fd, size_t offset, size_t len, int prot);
int mshare_unmap(int fd, size_t offset, size_t len);
int mshare_protect(int fd, size_t offset, size_t len, int prot);

#ifdef __cplusplus
}
#endif

#endif /* LIBMSHARE_H */

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

#ifdef __cplusplus
}
#endif

#endif /* LIBMSHARE_H */

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inner mappings: MSHAREFS_CREATE_MAPPING (anonymous), MSHAREFS_UNMAP and
 * MSHAREFS_PROTECT on a region file descriptor.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

/* The kernel checks the range; the library only refuses what it cannot pass. */
static int bad_prot(int prot)
{
	if (prot < 0) {
		errno = EINVAL;
		return 1;
	}
	return 0;
}

MSH_EXPORT int mshare_map(int fd, size_t offset, size_t len, int prot)
{
	struct mshare_create mc = {
		.region_offset = offset,
		.size = len,
		.offset = 0,
		.prot = (__u32)prot,
		.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
		.fd = (__u32)-1,
	};

	if (bad_prot(prot))
		return -1;
	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc) ? -1 : 0;
}

MSH_EXPORT int mshare_unmap(int fd, size_t offset, size_t len)
{
	struct mshare_unmap mu = {
		.region_offset = offset,
		.size = len,
	};

	return ioctl(fd, MSHAREFS_UNMAP, &mu) ? -1 : 0;
}

MSH_EXPORT int mshare_protect(int fd, size_t offset, size_t len, int prot)
{
	struct mshare_protect mp = {
		.region_offset = offset,
		.size = len,
		.prot = (__u32)prot,
		.flags = 0,
	};

	if (bad_prot(prot))
		return -1;
	return ioctl(fd, MSHAREFS_PROTECT, &mp) ? -1 : 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding an attachment in /proc/self/maps.  No registry is kept by the
 * library: windows made by plain mmap(2), or inherited across fork(2),
 * are found the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "internal.h"

const char *msh_maps_path = MSH_MAPS_PATH;

/*
 * Parse one line of /proc/<pid>/maps:
 *   start-end perms offset major:minor inode [path]
 * Returns 0, or -EINVAL if the line is malformed.
 */
int msh_maps_parse_line(const char *line, struct msh_vma *vma)
{
	int n = -1;

	if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %llx %x:%x %llu%n",
		   &vma->start, &vma->end, &vma->offset, &vma->major,
		   &vma->minor, &vma->inode, &n) != 6 || n < 0)
		return -EINVAL;
	if (line[n] != '\0' && line[n] != ' ' && line[n] != '\n')
		return -EINVAL;
	if (vma->end <= vma->start)
		return -EINVAL;
	return 0;
}

static bool vma_on_dev(const struct msh_vma *vma, dev_t dev)
{
	return vma->inode && vma->major == major(dev) &&
	       vma->minor == minor(dev);
}

/* Does @next continue the window ending with @prev (a split VMA)? */
static bool vma_continues(const struct msh_vma *prev,
			  const struct msh_vma *next)
{
	return next->start == prev->end && next->major == prev->major &&
	       next->minor == prev->minor && next->inode == prev->inode &&
	       next->offset == prev->offset + (prev->end - prev->start);
}

/*
 * Find in @maps the file mapping on device @dev that starts at @addr with
 * file offset 0, with any VMAs it was split into (by mprotect(2), say).  Returns 0 with its extent in *@start and
 * *@len, -EINVAL if no such mapping starts at @addr, or -ENOMEM/-EIO.
 */
int msh_maps_find(FILE *maps, uintptr_t addr, dev_t dev,
		  uintptr_t *start, size_t *len)
{
	struct msh_vma vma, last;
	bool found = false;
	char *line = NULL;
	size_t cap = 0;
	int ret = -EINVAL;

	while (getline(&line, &cap, maps) >= 0) {
		if (msh_maps_parse_line(line, &vma))
			continue;
		if (found) {
			if (!vma_continues(&last, &vma))
				break;
			last = vma;
			continue;
		}
		if (vma.start > addr)
			break;
		if (vma.start != addr)
			continue;
		/* An attachment maps its region from offset 0. */
		if (!vma_on_dev(&vma, dev) || vma.offset != 0)
			break;
		found = true;
		last = vma;
	}
	if (found) {
		*start = addr;
		*len = last.end - addr;
		ret = 0;
	} else if (ferror(maps)) {
		ret = errno == ENOMEM ? -ENOMEM : -EIO;
	}
	free(line);
	return ret;
}

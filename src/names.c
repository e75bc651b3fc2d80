// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Region names: paths relative to the msharefs mount, shm_open(3) style.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <linux/msharefs.h>

#include "internal.h"

static int check_component(const char *comp, size_t len, bool top)
{
	if (len == 0)
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (comp[0] == '.' && (len == 1 || (len == 2 && comp[1] == '.')))
		return -EINVAL;
	if (top && len == strlen(MSHAREFS_INFO_NAME) &&
	    !memcmp(comp, MSHAREFS_INFO_NAME, len))
		return -EINVAL;
	return 0;
}

/*
 * Validate @name and store in *@rel the name relative to the mount (the
 * optional leading '/' stripped).  Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int msh_name_check(const char *name, const char **rel)
{
	const char *comp, *slash;
	bool top = true;
	int ret;

	if (!name)
		return -EINVAL;
	if (name[0] == '/')
		name++;
	if (!name[0])
		return -EINVAL;
	if (strnlen(name, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;

	for (comp = name; ; comp = slash + 1, top = false) {
		slash = strchr(comp, '/');
		ret = check_component(comp, slash ? (size_t)(slash - comp)
						  : strlen(comp), top);
		if (ret)
			return ret;
		if (!slash)
			break;
	}
	if (rel)
		*rel = name;
	return 0;
}

/*
 * Write "@dir/@rel" to @buf.  Returns 0, or -ENAMETOOLONG if it does not
 * fit in @size bytes (PATH_MAX for a usable path).
 */
int msh_path_join(const char *dir, const char *rel, char *buf, size_t size)
{
	size_t dlen = strlen(dir), rlen = strlen(rel);
	bool slash = dlen == 0 || dir[dlen - 1] != '/';

	if (dlen + slash + rlen + 1 > size)
		return -ENAMETOOLONG;
	memcpy(buf, dir, dlen);
	if (slash)
		buf[dlen] = '/';
	memcpy(buf + dlen + slash, rel, rlen + 1);
	return 0;
}

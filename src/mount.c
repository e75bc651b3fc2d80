// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding the msharefs mount: $LIBMSHARE_MOUNT, else the mount table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include <libmount.h>
#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

const char *msh_mountinfo_path = MSH_MOUNTINFO_PATH;

static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static char *mount_cache;

/* Is @path the root (or any directory) of an msharefs mount? */
bool msh_is_msharefs_path(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs))
		return false;
	return sfs.f_type == MSHAREFS_MAGIC;
}

/* Copy @path, trimming trailing slashes (but keeping a lone "/"). */
static int dup_path(const char *path, char **out)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	*out = strndup(path, len);
	return *out ? 0 : -ENOMEM;
}

static bool is_msharefs_entry(struct libmnt_fs *fs)
{
	const char *type = mnt_fs_get_fstype(fs);

	return type && mnt_fs_get_target(fs) && !strcmp(type, MSHAREFS_FSTYPE);
}

/*
 * First msharefs entry of @tb whose target statfs(2) confirms; with
 * @only_default, consider MSHAREFS_MOUNT_POINT only.
 */
static const char *find_target(struct libmnt_table *tb, bool only_default)
{
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	const char *found = NULL;

	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr)
		return NULL;
	while (!found && mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *target;

		if (!is_msharefs_entry(fs))
			continue;
		target = mnt_fs_get_target(fs);
		if (only_default && strcmp(target, MSHAREFS_MOUNT_POINT))
			continue;
		if (msh_is_msharefs_path(target))
			found = target;
	}
	mnt_free_iter(itr);
	return found;
}

/*
 * Choose the msharefs mount of @tb: MSHAREFS_MOUNT_POINT if it is listed,
 * else the first one listed, skipping any statfs(2) does not confirm.
 * Returns 0 and a malloc()ed path in *@out, -ENODEV or -ENOMEM.
 */
int msh_mount_pick(struct libmnt_table *tb, char **out)
{
	const char *target;

	target = find_target(tb, true);
	if (!target)
		target = find_target(tb, false);
	if (!target)
		return -ENODEV;
	return dup_path(target, out);
}

static int skip_bad_line(struct libmnt_table *tb, const char *filename,
			 int line)
{
	(void)tb;
	(void)filename;
	(void)line;
	return 1;
}

static struct libmnt_table *new_table(void)
{
	struct libmnt_table *tb = mnt_new_table();

	if (tb)
		mnt_table_set_parser_errcb(tb, skip_bad_line);
	return tb;
}

static int parse_result(struct libmnt_table *tb, int rc, char **out)
{
	if (rc == 0)
		rc = msh_mount_pick(tb, out);
	else
		rc = rc == -ENOMEM ? -ENOMEM : -ENODEV;
	mnt_unref_table(tb);
	return rc;
}

/* msh_mount_pick() on a mount table in mountinfo format read from @f. */
int msh_mount_discover_stream(FILE *f, char **out)
{
	struct libmnt_table *tb = new_table();

	if (!tb)
		return -ENOMEM;
	return parse_result(tb, mnt_table_parse_stream(tb, f, "stream"), out);
}

/* msh_mount_pick() on the mount table file @mountinfo. */
int msh_mount_discover_file(const char *mountinfo, char **out)
{
	struct libmnt_table *tb = new_table();

	if (!tb)
		return -ENOMEM;
	return parse_result(tb, mnt_table_parse_file(tb, mountinfo), out);
}

/*
 * The mount point to use: @env (the value of $LIBMSHARE_MOUNT, or NULL when
 * unset) if it is msharefs, else discovery from @mountinfo.
 * Returns 0 and a malloc()ed path in *@out, -ENODEV or -ENOMEM.
 */
int msh_mount_resolve(const char *env, const char *mountinfo, char **out)
{
	if (env) {
		if (!msh_is_msharefs_path(env))
			return -ENODEV;
		return dup_path(env, out);
	}
	return msh_mount_discover_file(mountinfo, out);
}

/* Forget the cached mount point.  For unit tests only: not thread-safe
 * against callers still using the string returned earlier. */
void msh_mount_cache_reset(void)
{
	pthread_mutex_lock(&mount_lock);
	free(mount_cache);
	__atomic_store_n(&mount_cache, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mount_lock);
}

MSH_EXPORT const char *mshare_mount_point(void)
{
	char *mnt = __atomic_load_n(&mount_cache, __ATOMIC_ACQUIRE);
	int saved = errno, ret = 0;

	if (mnt)
		return mnt;

	pthread_mutex_lock(&mount_lock);
	mnt = mount_cache;
	if (!mnt) {
		ret = msh_mount_resolve(secure_getenv(LIBMSHARE_MOUNT_ENV),
					msh_mountinfo_path, &mnt);
		if (!ret)
			__atomic_store_n(&mount_cache, mnt, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mount_lock);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	errno = saved;
	return mnt;
}

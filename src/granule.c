// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The granule: what the module reports in MSHAREFS_GET_FS_STAT, asked on
 * <mount>/mshare_info.  The text of mshare_info is the alignment unit of
 * upstream mshare (a multiple of the granule: 512 GiB on x86-64); a file
 * that does not answer the request (ENOTTY: a module without statistics)
 * is taken to hold the granule itself, as such modules wrote it there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

/* Longest mshare_info content accepted: 19 digits and a newline. */
#define GRANULE_TEXT_MAX	32

static long granule_cache;

/*
 * Parse the content of mshare_info: decimal digits, optionally followed by
 * one newline, nothing else; a power of two no larger than LONG_MAX.
 * Returns 0 and stores the value in *@granule, or -EPROTO.
 */
int msh_granule_parse(const char *buf, size_t len, long *granule)
{
	unsigned long val = 0;
	size_t i;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return -EPROTO;
	for (i = 0; i < len; i++) {
		unsigned int digit = (unsigned char)buf[i] - '0';

		if (digit > 9)
			return -EPROTO;
		if (val > ((unsigned long)LONG_MAX - digit) / 10)
			return -EPROTO;
		val = val * 10 + digit;
	}
	if (val == 0 || (val & (val - 1)))
		return -EPROTO;
	*granule = (long)val;
	return 0;
}

static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * The granule of the mount of @fd (mshare_info): 0, -ENOTTY if the file
 * does not answer MSHAREFS_GET_FS_STAT, -EPROTO if the answer is not a
 * power of two, or the negated errno of ioctl(2).
 */
static int granule_from_stat(int fd, long *granule)
{
	struct msharefs_fs_stat st = { 0 };

	if (ioctl(fd, MSHAREFS_GET_FS_STAT, &st))
		return -errno;
	if (!st.granule || (st.granule & (st.granule - 1)) ||
	    st.granule > (unsigned long long)LONG_MAX)
		return -EPROTO;
	*granule = (long)st.granule;
	return 0;
}

/*
 * The granule of the mount at @mnt, from <@mnt>/mshare_info.  Returns 0,
 * -EPROTO for a malformed answer or content, or the negated errno of
 * open(2)/ioctl(2)/read(2).
 */
int msh_granule_read(const char *mnt, long *granule)
{
	char path[PATH_MAX], buf[GRANULE_TEXT_MAX + 1];
	ssize_t len;
	int fd, ret;

	ret = msh_path_join(mnt, MSHAREFS_INFO_NAME, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = granule_from_stat(fd, granule);
	if (ret != -ENOTTY) {
		msh_close_quiet(fd);
		return ret;
	}
	/* One byte more than accepted, to notice overlong content. */
	len = read_all(fd, buf, sizeof(buf));
	msh_close_quiet(fd);
	if (len < 0)
		return (int)len;
	if ((size_t)len > GRANULE_TEXT_MAX)
		return -EPROTO;
	return msh_granule_parse(buf, (size_t)len, granule);
}

/* Forget the cached granule (unit tests only). */
void msh_granule_cache_reset(void)
{
	__atomic_store_n(&granule_cache, 0, __ATOMIC_RELEASE);
}

MSH_EXPORT long mshare_granule(void)
{
	long granule = __atomic_load_n(&granule_cache, __ATOMIC_ACQUIRE);
	const char *mnt;
	int ret;

	if (granule)
		return granule;
	mnt = mshare_mount_point();
	if (!mnt)
		return -1;
	ret = msh_granule_read(mnt, &granule);
	if (ret) {
		errno = -ret;
		return -1;
	}
	__atomic_store_n(&granule_cache, granule, __ATOMIC_RELEASE);
	return granule;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The msharefs mount, as libmshare finds it (LIBMSHARE_MOUNT, else
 * /sys/fs/mshare, else the first msharefs of the mount table), without
 * libmount and without allocating: /proc/self/mountinfo is read in a
 * buffer on the stack.  Called under msp_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include <linux/msharefs.h>

#include "shim.h"

static char mount_path[MSP_PATH_MAX];
static size_t mount_granule;

static bool is_msharefs(const char *path)
{
	struct statfs sfs;

	return !msp_sys_statfs(path, &sfs) && sfs.f_type == MSHAREFS_MAGIC;
}

/* Copy a mountinfo field (space-terminated) unescaping \ooo. */
static int unescape(const char *s, const char *end, char *out, size_t len)
{
	size_t n = 0;

	while (s < end) {
		char c = *s++;

		if (c == '\\' && end - s >= 3 &&
		    s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') << 6 | (s[1] - '0') << 3 |
				   (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Field @i (0-based) of @line: *@f its start, returns its end, or NULL. */
static const char *field(const char *line, int i, const char **f)
{
	const char *p = line;

	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return NULL;
		*f = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (i-- == 0)
			return p;
	}
}

int msp_mountinfo_line(const char *line, char *mnt, size_t len)
{
	const char *sep = strstr(line, " - "), *f, *e;

	if (!sep)
		return -1;
	e = field(sep + 3, 0, &f);
	if (!e || (size_t)(e - f) != strlen(MSHAREFS_FSTYPE) ||
	    strncmp(f, MSHAREFS_FSTYPE, (size_t)(e - f)))
		return -1;
	/* id parent major:minor root mountpoint ... */
	e = field(line, 4, &f);
	if (!e || e > sep)
		return -1;
	return unescape(f, e, mnt, len);
}

/* The first msharefs of /proc/self/mountinfo that statfs confirms. */
static int scan_mountinfo(char *out, size_t len)
{
	char buf[8192], line[MSP_PATH_MAX + 512];
	size_t ll = 0;
	bool skip = false;
	ssize_t n;
	int fd, found = -1;

	fd = msp_sys_open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (found && (n = msp_sys_read(fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < n && found; i++) {
			if (buf[i] != '\n') {
				if (ll + 1 < sizeof(line))
					line[ll++] = buf[i];
				else
					skip = true;	/* too long: not ours */
				continue;
			}
			line[ll] = '\0';
			if (!skip && !msp_mountinfo_line(line, out, len) &&
			    is_msharefs(out))
				found = 0;
			ll = 0;
			skip = false;
		}
	}
	msp_sys_close(fd);
	return found;
}

/*
 * The granule, as libmshare's mshare_granule() finds it: what the module
 * reports in MSHAREFS_GET_FS_STAT on mshare_info; the text of mshare_info
 * is upstream's alignment unit (512 GiB), the granule itself only for a
 * module without statistics (ENOTTY).
 */
static size_t read_granule(const char *mnt)
{
	struct msharefs_fs_stat st = { 0 };
	char path[MSP_PATH_MAX], buf[32];
	size_t g = 0;
	ssize_t n;
	int fd, i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", mnt,
			     MSHAREFS_INFO_NAME) >= sizeof(path))
		return 0;
	fd = msp_sys_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return 0;
	if (msp_sys_ioctl(fd, MSHAREFS_GET_FS_STAT, &st) == 0) {
		msp_sys_close(fd);
		g = (size_t)st.granule;
		if (g < (size_t)msp_sys_page_size() || (g & (g - 1)))
			return 0;
		return g;
	}
	if (errno != ENOTTY) {
		msp_sys_close(fd);
		return 0;
	}
	n = msp_sys_read(fd, buf, sizeof(buf) - 1);
	msp_sys_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (g > SIZE_MAX / 10 - 9)
			return 0;
		g = g * 10 + (size_t)(buf[i] - '0');
	}
	if (buf[i] != '\n' && buf[i] != '\0')
		return 0;
	/* A power of two, at least a page. */
	if (g < (size_t)msp_sys_page_size() || (g & (g - 1)))
		return 0;
	return g;
}

const char *msp_mount(void)
{
	char found[MSP_PATH_MAX];
	const char *want = msp_cfg.mount;

	if (mount_path[0] && is_msharefs(mount_path))
		return mount_path;
	mount_path[0] = '\0';
	mount_granule = 0;
	if (want[0]) {
		if (!is_msharefs(want))
			goto none;
		strcpy(found, want);
	} else if (is_msharefs(MSHAREFS_MOUNT_POINT)) {
		strcpy(found, MSHAREFS_MOUNT_POINT);
	} else if (scan_mountinfo(found, sizeof(found))) {
		goto none;
	}
	mount_granule = read_granule(found);
	if (!mount_granule)
		goto none;
	strcpy(mount_path, found);
	return mount_path;
none:
	errno = ENODEV;
	return NULL;
}

size_t msp_granule(void)
{
	return mount_granule;
}

void msp_mount_reset(void)
{
	mount_path[0] = '\0';
	mount_granule = 0;
}

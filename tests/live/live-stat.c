// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stat: MSHAREFS_GET_REGION_STAT and MSHAREFS_GET_FS_STAT, raw and
 * through mshare_stat()/mshare_fstat()/mshare_statfs().  Known states:
 * a 4-chunk region, 3 attachers touching 2 chunks each (3 attachers,
 * 1024 pages, 2 tables, 6 links, 4 pages saved); an untouched window
 * (attacher, no link); a read-only window (its own table set); two
 * windows in one process; everyone gone (links 0, saving negative);
 * unlinked but attached regions in the mount's totals; a second mount.
 * Request sizes: larger than ours (rest zeroed), smaller than version 1
 * (EINVAL), wrong direction (ENOTTY); REGION_STAT on directories and
 * mshare_info (ENOTTY); FS_STAT from any file of the mount; permissions.
 */
#include "agent.h"

#include <fcntl.h>
#include <libmshare.h>
#include <linux/msharefs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNKS	4
#define SZ	(CHUNKS * GRANULE)
#define PS	4096L
#define NOBODY	65534

/* Version 1 is the current layout. */
#define REGION_V1	((int)sizeof(struct msharefs_region_stat))
#define FS_V1		((int)sizeof(struct msharefs_fs_stat))

struct want {
	unsigned long attachers, windows, pages, tables, links;
};


static void region_stat(int fd, struct msharefs_region_stat *st)
{
	memset(st, 0xa5, sizeof(*st));
	CHECKF(ioctl(fd, MSHAREFS_GET_REGION_STAT, st) == 0,
	       "MSHAREFS_GET_REGION_STAT on fd %d", fd);
	CHECK(st->version == MSHAREFS_STAT_VERSION);
	CHECK(st->size == sizeof(*st));
	CHECK(st->granule == GRANULE);
	CHECK(st->page_size == (unsigned long)PS);
	CHECK(st->__reserved == 0);
	CHECKF(st->pt_bytes_saved ==
	       ((long long)st->pt_links - (long long)st->pt_tables) * PS,
	       "saved %lld, links %llu, tables %llu", st->pt_bytes_saved,
	       st->pt_links, st->pt_tables);
}

static void fs_stat(int fd, struct msharefs_fs_stat *st)
{
	memset(st, 0xa5, sizeof(*st));
	CHECKF(ioctl(fd, MSHAREFS_GET_FS_STAT, st) == 0,
	       "MSHAREFS_GET_FS_STAT on fd %d", fd);
	CHECK(st->version == MSHAREFS_STAT_VERSION);
	CHECK(st->size == sizeof(*st));
	CHECK(st->granule == GRANULE);
	CHECK(st->page_size == (unsigned long)PS);
	CHECK(memchr(st->module_version, 0, sizeof(st->module_version)));
	CHECK(st->pt_bytes_saved ==
	      ((long long)st->pt_links - (long long)st->pt_tables) * PS);
}

static bool region_is(const struct msharefs_region_stat *st,
		      const struct want *w)
{
	return st->attachers == w->attachers && st->windows == w->windows &&
	       st->resident_pages == w->pages && st->pt_tables == w->tables &&
	       st->pt_links == w->links;
}

/*
 * The figures of the region on @fd must become @w (at once when they
 * grow; a process that exited may take a moment to be forgotten), and
 * the library must say the same.
 */
static void expect_region(int line, int fd, const char *name,
			  const struct want *w)
{
	long end = now_ms() + wait_ms(2000);
	struct msharefs_region_stat st;
	struct mshare_stat ls;

	for (;;) {
		region_stat(fd, &st);
		if (region_is(&st, w) || now_ms() > end)
			break;
		usleep(20000);
	}
	CHECKF(region_is(&st, w),
	       "line %d: attachers %llu windows %llu pages %llu tables %llu links %llu, want %lu %lu %lu %lu %lu",
	       line, st.attachers, st.windows, st.resident_pages, st.pt_tables,
	       st.pt_links, w->attachers, w->windows, w->pages, w->tables,
	       w->links);
	CHECK(st.pt_bytes_saved == ((long)w->links - (long)w->tables) * PS);

	EXPECT_OK(mshare_fstat(fd, &ls));
	CHECK(ls.attachers == w->attachers && ls.windows == w->windows);
	CHECK(ls.resident_bytes == w->pages * PS);
	CHECK(ls.pt_tables == w->tables && ls.pt_links == w->links);
	CHECK(ls.pt_bytes_saved == ((long)w->links - (long)w->tables) * PS);
	CHECK(ls.version == 1 && ls.granule == GRANULE && ls.page_size == PS);
	if (name) {
		EXPECT_OK(mshare_stat(name, &ls));
		CHECK(ls.attachers == w->attachers && ls.pt_links == w->links);
		CHECK(ls.resident_bytes == w->pages * PS);
	}
}
#define EXPECT_REGION(fd, name, ...) do {				\
	struct want _w = { __VA_ARGS__ };				\
	expect_region(__LINE__, fd, name, &_w);				\
} while (0)

/* The mount's totals from @fd, and from mshare_statfs(). */
static void expect_fs(int fd, unsigned long regions, const struct want *w)
{
	struct msharefs_fs_stat st;
	struct mshare_statfs ls;

	fs_stat(fd, &st);
	CHECKF(st.regions == regions && st.attachers == w->attachers &&
	       st.windows == w->windows && st.resident_pages == w->pages &&
	       st.pt_tables == w->tables && st.pt_links == w->links,
	       "regions %llu attachers %llu windows %llu pages %llu tables %llu links %llu",
	       st.regions, st.attachers, st.windows, st.resident_pages,
	       st.pt_tables, st.pt_links);
	EXPECT_OK(mshare_statfs(&ls));
	CHECK(ls.regions == regions && ls.attachers == w->attachers);
	CHECK(ls.windows == w->windows && ls.pt_links == w->links);
	CHECK(ls.resident_bytes == w->pages * PS && ls.pt_tables == w->tables);
	CHECK(ls.pt_bytes_saved == ((long)w->links - (long)w->tables) * PS);
	CHECK(!strcmp(ls.module_version, st.module_version));
}

/* An attacher that touches @chunks chunks (0..) of region @name. */
static void attacher(struct agent *a, const char *tag, const char *name,
		     const char *prot, int chunks)
{
	agent_fork(a, tag);
	AGENT(a, "open %s %s", name, prot[1] == 'w' ? "rw" : "ro");
	AGENT(a, "attach %s", prot);
	AGENT(a, "close");
	for (int c = 0; c < chunks; c++)
		CHECK(reply_num(AGENT(a, "probe %c %lu", prot[1] == 'w' ? 'w' : 'r',
				      c * GRANULE), 0) == 0);
}

/* ---- children ---- */

static int no_mount_child(void *arg)
{
	struct mshare_statfs sfs;
	struct mshare_stat st;

	(void)arg;
	setenv(LIBMSHARE_MOUNT_ENV, "/tmp", 1);
	if (mshare_statfs(&sfs) != -1 || errno != ENODEV)
		return 1;
	if (mshare_stat("st", &st) != -1 || errno != ENODEV)
		return 2;
	return 0;
}

static int two_windows_child(void *arg)
{
	int fd = *(int *)arg;
	char *a, *b;
	char c;

	a = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		return 1;
	a[0] = 1;
	b[0] = 2;
	/* Report, then wait for the parent to look (stdin closes). */
	if (write(1, "r", 1) != 1)
		return 2;
	return read(0, &c, 1) >= 0 ? 0 : 3;
}

static int nobody_stat_child(void *arg)
{
	struct mshare_statfs sfs;
	struct mshare_stat st;

	(void)arg;
	if (mshare_stat("priv", &st) != -1 || errno != EACCES)
		return 1;
	if (mshare_stat("pub", &st) || st.uid != 0 || st.mode != (S_IFREG | 0644))
		return 2;
	if (mshare_statfs(&sfs) || sfs.regions < 2)
		return 3;
	return 0;
}

static int nobody_create_child(void *arg)
{
	int fd;

	(void)arg;
	fd = mcreate("mine", O_RDWR | O_CREAT | O_EXCL, 0640);
	return fd < 0 ? 1 : 0;
}

/* Request sizes and directions other than ours. */
static void sizes(int fd, int dirfd)
{
	struct msharefs_region_stat ref;
	struct msharefs_fs_stat fref;
	unsigned char big[256];
	char small[REGION_V1];
	size_t i;

	region_stat(fd, &ref);
	/* Larger than ours: our bytes, the rest zeroed, size says ours. */
	memset(big, 0xa5, sizeof(big));
	EXPECT_OK(ioctl(fd, _IOR('x', 3, unsigned char[256]), big));
	CHECK(((__u32 *)big)[0] == 1 && ((__u32 *)big)[1] == REGION_V1);
	CHECK(!memcmp(big + 8, (char *)&ref + 8, REGION_V1 - 8));
	for (i = REGION_V1; i < sizeof(big); i++)
		CHECKF(big[i] == 0, "byte %zu of 256 is %#x", i, big[i]);
	fs_stat(dirfd, &fref);
	memset(big, 0xa5, sizeof(big));
	EXPECT_OK(ioctl(dirfd, _IOR('x', 4, unsigned char[FS_V1 + 8]), big));
	CHECK(((__u32 *)big)[1] == FS_V1);
	CHECK(!memcmp(big + 8, (char *)&fref + 8, FS_V1 - 8));
	for (i = FS_V1; i < FS_V1 + 8; i++)
		CHECK(big[i] == 0);
	CHECK(big[FS_V1 + 8] == 0xa5);	/* nothing beyond the request */

	/* Exactly version 1, the layout of the header (the ABI). */
	CHECK(REGION_V1 == 96 && FS_V1 == 120);
	EXPECT_OK(ioctl(fd, _IOR('x', 3, char[REGION_V1]), small));

	/* Smaller than version 1: EINVAL, nothing written. */
	memset(small, 0x5a, sizeof(small));
	EXPECT_ERRNO(ioctl(fd, _IOR('x', 3, char[REGION_V1 - 1]), small), EINVAL);
	EXPECT_ERRNO(ioctl(fd, _IOR('x', 3, __u64), small), EINVAL);
	EXPECT_ERRNO(ioctl(fd, _IOC(_IOC_READ, 'x', 3, 0), small), EINVAL);
	EXPECT_ERRNO(ioctl(dirfd, _IOR('x', 4, char[FS_V1 - 1]), big), EINVAL);
	for (i = 0; i < sizeof(small); i++)
		CHECK(small[i] == 0x5a);

	/* Not _IOC_READ: ENOTTY.  Unknown numbers: ENOTTY. */
	EXPECT_ERRNO(ioctl(fd, _IOW('x', 3, struct msharefs_region_stat), &ref),
		     ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOWR('x', 3, struct msharefs_region_stat), &ref),
		     ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IO('x', 3)), ENOTTY);
	EXPECT_ERRNO(ioctl(dirfd, _IOW('x', 4, struct msharefs_fs_stat), &fref),
		     ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOR('x', 5, struct msharefs_region_stat), &ref),
		     ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOR('y', 3, struct msharefs_region_stat), &ref),
		     ENOTTY);
	/* A bad buffer. */
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_GET_REGION_STAT, (void *)8), EFAULT);
	EXPECT_ERRNO(ioctl(dirfd, MSHAREFS_GET_FS_STAT, (void *)8), EFAULT);
}

int main(void)
{
	struct agent ag[5];
	struct msharefs_region_stat st;
	struct msharefs_fs_stat fs;
	struct mshare_stat ls, before;
	struct want w = { 0 };
	int fd, rofd, rootfd, dirfd, infofd, pfd[2], in[2], mfd, fd2;
	const char *ver;
	struct stat sb;
	char c;
	pid_t pid;

	/* Before the library caches the mount: LIBMSHARE_MOUNT elsewhere. */
	CHECK(run_child(no_mount_child, NULL) == 0);

	live_init("live-stat");

	/* An empty mount; the module's version. */
	rootfd = EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	expect_fs(rootfd, 0, &w);
	fs_stat(rootfd, &fs);
	ver = proc_read("/sys/module/msharefs/version");
	CHECKF(ver && !strcmp(fs.module_version, ver), "module_version %s, sysfs %s",
	       fs.module_version, ver ? ver : "(none)");

	/* A new region: size 0 until set, owner, mode; RDONLY fd too. */
	fd = raw_create("st", 0);
	region_stat(fd, &st);
	CHECK(st.region_size == 0 && st.uid == 0 && st.gid == 0);
	CHECK(st.mode == (S_IFREG | 0600));
	EXPECT_REGION(fd, "st", 0, 0, 0, 0, 0);
	CHECK(ftruncate(fd, SZ) == 0);
	region_stat(fd, &st);
	CHECK(st.region_size == SZ);
	rofd = EXPECT_OK(open(mpath("st"), O_RDONLY | O_CLOEXEC));
	region_stat(rofd, &st);
	CHECK(st.region_size == SZ);
	CHECK(fchmod(fd, 0640) == 0);
	EXPECT_OK(mshare_stat("/st", &ls));
	CHECK(ls.size == SZ && ls.mode == (S_IFREG | 0640) && ls.uid == 0);
	expect_fs(rootfd, 1, &w);

	/* 3 attachers, 2 chunks each: the example. */
	for (int i = 0; i < 3; i++)
		attacher(&ag[i], "two-chunks", "st", "rw", 2);
	EXPECT_REGION(fd, "st", .attachers = 3, .windows = 3, .pages = 1024,
		      .tables = 2, .links = 6);
	EXPECT_OK(mshare_stat("st", &ls));
	CHECK(ls.resident_bytes == 4 * MIB && ls.pt_bytes_saved == 4 * PS);
	CHECK(fstat(fd, &sb) == 0 && sb.st_blocks == 1024 * 8);
	w = (struct want){ 3, 3, 1024, 2, 6 };
	expect_fs(rootfd, 1, &w);

	/* An untouched window: an attacher without links. */
	attacher(&ag[3], "untouched", "st", "rw", 0);
	EXPECT_REGION(rofd, "st", 4, 4, 1024, 2, 6);
	/* A read-only window: a table set of its own, the same pages. */
	attacher(&ag[4], "read-only", "st", "r", 1);
	EXPECT_REGION(rofd, "st", 5, 5, 1024, 3, 7);
	/* The untouched window touches a new chunk: pages, table, link. */
	CHECK(reply_num(AGENT(&ag[3], "probe w %lu", 3 * GRANULE), 0) == 0);
	EXPECT_REGION(fd, "st", 5, 5, 1536, 4, 8);

	/* Two windows in one process: one attacher, two windows, two links. */
	CHECK(pipe2(pfd, O_CLOEXEC) == 0 && pipe2(in, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(in[0], 0);
		close(in[1]);	/* or stdin never ends */
		_exit(two_windows_child(&fd));
	}
	close(pfd[1]);
	close(in[0]);
	CHECK(read(pfd[0], &c, 1) == 1);
	EXPECT_REGION(fd, "st", 6, 7, 1536, 4, 10);
	close(in[1]);
	CHECK(wait_status(pid) == 0);
	close(pfd[0]);
	EXPECT_REGION(fd, "st", 5, 5, 1536, 4, 8);

	/* Requests of other sizes and directions; ENOTTY on non-regions. */
	sizes(fd, rootfd);
	CHECK(mkdir(mpath("dir"), 0755) == 0);
	dirfd = EXPECT_OK(open(mpath("dir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	infofd = EXPECT_OK(open(mpath("mshare_info"), O_RDONLY | O_CLOEXEC));
	EXPECT_ERRNO(ioctl(rootfd, MSHAREFS_GET_REGION_STAT, &st), ENOTTY);
	EXPECT_ERRNO(ioctl(dirfd, MSHAREFS_GET_REGION_STAT, &st), ENOTTY);
	EXPECT_ERRNO(ioctl(infofd, MSHAREFS_GET_REGION_STAT, &st), ENOTTY);
	EXPECT_ERRNO(mshare_fstat(rootfd, &ls), ENOTTY);
	EXPECT_ERRNO(mshare_fstat(infofd, &ls), ENOTTY);
	EXPECT_ERRNO(mshare_stat("dir", &ls), ENOTTY);
	/* FS_STAT from the root, a directory, mshare_info, a region. */
	w = (struct want){ 5, 5, 1536, 4, 8 };
	expect_fs(rootfd, 1, &w);
	expect_fs(dirfd, 1, &w);
	expect_fs(infofd, 1, &w);
	expect_fs(fd, 1, &w);
	expect_fs(rofd, 1, &w);

	/* Library errors. */
	memset(&ls, 0x5a, sizeof(ls));
	before = ls;
	EXPECT_ERRNO(mshare_stat("nope", &ls), ENOENT);
	EXPECT_ERRNO(mshare_stat("mshare_info", &ls), EINVAL);
	EXPECT_ERRNO(mshare_stat("st/x", &ls), ENOTDIR);
	EXPECT_ERRNO(mshare_stat("st", NULL), EINVAL);
	EXPECT_ERRNO(mshare_fstat(-1, &ls), EBADF);
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	EXPECT_ERRNO(mshare_fstat(pfd[0], &ls), EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_ERRNO(mshare_statfs(NULL), EINVAL);
	CHECK(!memcmp(&ls, &before, sizeof(ls)));

	/* Permissions: reading the figures needs read access. */
	close(raw_create("priv", GRANULE));
	close(raw_create("pub", GRANULE));
	CHECK(chmod(mpath("pub"), 0644) == 0);
	CHECK(run_child_as(NOBODY, NOBODY, nobody_stat_child, NULL) == 0);
	CHECK(run_child_as(NOBODY, NOBODY, nobody_create_child, NULL) == 0);
	EXPECT_OK(mshare_stat("mine", &ls));
	CHECK(ls.uid == NOBODY && ls.gid == NOBODY && ls.size == 0);
	CHECK((ls.mode & 0777) == (0640 & ~022) || (ls.mode & 0777) == 0640);
	expect_fs(rootfd, 4, &w);
	CHECK(unlink(mpath("priv")) == 0 && unlink(mpath("pub")) == 0 &&
	      unlink(mpath("mine")) == 0);

	/* An unlinked region counts while it is attached or open. */
	CHECK(unlink(mpath("st")) == 0);
	expect_fs(rootfd, 1, &w);
	EXPECT_ERRNO(mshare_stat("st", &ls), ENOENT);
	EXPECT_REGION(fd, NULL, 5, 5, 1536, 4, 8);

	/* Everyone gone: no links, the tables stay, the saving < 0. */
	for (int i = 0; i < 5; i++)
		agent_stop(&ag[i]);
	EXPECT_REGION(fd, NULL, 0, 0, 1536, 4, 0);
	EXPECT_OK(mshare_fstat(fd, &ls));
	CHECK(ls.pt_bytes_saved == -4 * PS);
	w = (struct want){ 0, 0, 1536, 4, 0 };
	expect_fs(rootfd, 1, &w);
	close(rofd);
	close(fd);
	/* Freed with the last reference. */
	{
		long end = now_ms() + wait_ms(2000);

		do {
			fs_stat(rootfd, &fs);
		} while (fs.regions && now_ms() < end && !usleep(20000));
	}
	w = (struct want){ 0 };
	expect_fs(rootfd, 0, &w);

	/* A second mount has totals of its own. */
	mount2_dir();
	CHECK(mount("none", m2, MSHAREFS_FSTYPE, 0, NULL) == 0);
	m2_mounted = true;
	close(raw_create("one", GRANULE));
	mfd = EXPECT_OK(open(m2, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	fs_stat(mfd, &fs);
	CHECK(fs.regions == 0);
	fd2 = EXPECT_OK(openat(mfd, "two", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			       0600));
	CHECK(ftruncate(fd2, GRANULE) == 0);
	fs_stat(mfd, &fs);
	CHECK(fs.regions == 1);
	fs_stat(rootfd, &fs);
	CHECK(fs.regions == 1);
	close(fd2);
	close(mfd);
	CHECK(umount(m2) == 0);
	m2_mounted = false;
	CHECK(unlink(mpath("one")) == 0);

	close(infofd);
	close(dirfd);
	CHECK(rmdir(mpath("dir")) == 0);
	close(rootfd);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-tmpfile: regions without a name.  O_TMPFILE makes one (as
 * memfd_create() does): sized, attached, shared with a fork child, gone
 * with its last descriptor and window, also after SIGKILL; it can never
 * get a name (linkat EPERM), counts against nr_regions= (ENOSPC) and
 * follows the directory's permissions (EACCES).  MSHAREFS_LIST_REGIONS
 * lists every region of the mount, with a name or without: entries, the
 * UNLINKED filter, counting with a small array, larger entries than ours
 * (rest zeroed), figures withheld from who may not read a region, and its
 * errors (EINVAL, EFAULT, ENOTTY).
 *
 * Parts (all by default): create lifetime link limits list errors.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ	(2 * GRANULE)
#define NOBODY	65534
#define MAXE	64

static struct msharefs_region_entry ents[MAXE];

/* A nameless region of SZ bytes on the mount at dir; its fd. */
static int tmp_region(const char *dir)
{
	int fd = (int)EXPECT_OK(open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600));

	CHECK(ftruncate(fd, SZ) == 0);
	return fd;
}

/* MSHAREFS_LIST_REGIONS into ents[] on fd; the header. */
static struct msharefs_list list_on(int fd, unsigned int flags)
{
	struct msharefs_list l = {
		.flags = flags,
		.entry_size = sizeof(ents[0]),
		.entries = (uintptr_t)ents,
		.nr = MAXE,
	};

	memset(ents, 0xa5, sizeof(ents));
	CHECKF(ioctl(fd, MSHAREFS_LIST_REGIONS, &l) == 0,
	       "MSHAREFS_LIST_REGIONS flags %#x", flags);
	CHECK(l.version == MSHAREFS_STAT_VERSION);
	CHECK(l.size == sizeof(ents[0]));
	CHECK(l.nr == l.total && l.nr <= MAXE);
	return l;
}

static struct msharefs_list list_mnt(unsigned int flags)
{
	int fd = (int)EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	struct msharefs_list l = list_on(fd, flags);

	close(fd);
	return l;
}

/* The entry of inode ino in the last list, or NULL. */
static struct msharefs_region_entry *entry_of(const struct msharefs_list *l,
					      ino_t ino)
{
	uint64_t i;

	for (i = 0; i < l->nr; i++)
		if (ents[i].ino == ino)
			return &ents[i];
	return NULL;
}

static ino_t ino_of(int fd)
{
	struct stat st;

	CHECK(fstat(fd, &st) == 0);
	return st.st_ino;
}

static int child_reads(void *arg)
{
	const char *p = arg;

	return strcmp(p, "nameless") ? 1 : 0;
}

/* O_TMPFILE: a region with no name, sized, attached, shared. */
static void part_create(void)
{
	struct msharefs_region_entry *e;
	struct msharefs_list l;
	struct stat st;
	long used0 = used_pages(MNT);
	int fd, fd2;
	char *p;

	fd = (int)EXPECT_OK(open(MNT, O_RDWR | O_TMPFILE | O_CLOEXEC, 0640));
	CHECK(fstat(fd, &st) == 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640);
	CHECK(st.st_nlink == 0 && st.st_size == 0);
	/* Not in the directory, but in the list and the mount's totals. */
	l = list_mnt(0);
	CHECK(l.total == 1);
	e = entry_of(&l, st.st_ino);
	CHECK(e && e->nlink == 0 && e->flags == 0 && e->stat.region_size == 0);
	CHECK(e->stat.version == MSHAREFS_STAT_VERSION &&
	      e->stat.size == sizeof(e->stat));
	EXPECT_ERRNO(mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	CHECK(ftruncate(fd, SZ) == 0);
	EXPECT_ERRNO(ftruncate(fd, SZ), EINVAL);	/* once, as any region */
	p = (char *)EXPECT_OK(mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
				   fd, 0));
	CHECK(((uintptr_t)p & (GRANULE - 1)) == 0);
	strcpy(p, "nameless");
	CHECK(run_child(child_reads, p) == 0);
	CHECK(used_pages(MNT) == used0 + CHUNK_PAGES);
	l = list_mnt(MSHAREFS_LIST_UNLINKED);
	CHECK(l.total == 1);
	e = entry_of(&l, st.st_ino);
	CHECK(e && e->stat.attachers == 1 && e->stat.windows == 1);
	CHECK(e->stat.region_size == SZ && e->stat.resident_pages == CHUNK_PAGES);
	CHECK(e->stat.mode == (S_IFREG | 0640) && e->stat.uid == 0);
	/* A second descriptor through /proc reaches the same region. */
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		fd2 = (int)EXPECT_OK(open(path, O_RDONLY | O_CLOEXEC));
		CHECK(ino_of(fd2) == st.st_ino);
		close(fd2);
	}
	/* Every O_TMPFILE is a new region. */
	fd2 = tmp_region(MNT);
	CHECK(ino_of(fd2) != st.st_ino);
	CHECK(list_mnt(MSHAREFS_LIST_UNLINKED).total == 2);
	close(fd2);
	CHECK(list_mnt(0).total == 1);
	close(fd);
	CHECK(list_mnt(0).total == 1);		/* the window keeps it */
	CHECK(strcmp(p, "nameless") == 0);
	CHECK(munmap(p, SZ) == 0);
	CHECK(list_mnt(0).total == 0);
	CHECK(wait_used_pages(MNT, used0) == used0);
	/* In a directory: the same. */
	CHECK(mkdir(mpath("d"), 0755) == 0);
	fd = tmp_region(mpath("d"));
	CHECK(list_mnt(MSHAREFS_LIST_UNLINKED).total == 1);
	/* As on tmpfs, a nameless region does not keep its directory. */
	CHECK(rmdir(mpath("d")) == 0);
	CHECK(list_mnt(MSHAREFS_LIST_UNLINKED).total == 1);
	close(fd);
	CHECK(list_mnt(0).total == 0);
}

static int hold_and_wait(void *arg)
{
	int *pipefd = arg;
	char *p;
	int fd;

	fd = tmp_region(MNT);
	p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	close(fd);
	memset(p, 1, SZ);
	if (write(pipefd[1], "x", 1) != 1)
		return 1;
	pause();
	return 0;
}

/* The last window or descriptor takes the region along, SIGKILL too. */
static void part_lifetime(void)
{
	long used0 = used_pages(MNT);
	int pipefd[2], i;
	pid_t pids[4];
	char c;

	CHECK(pipe(pipefd) == 0);
	for (i = 0; i < 4; i++)
		pids[i] = spawn(hold_and_wait, pipefd);
	for (i = 0; i < 4; i++)
		CHECK(read(pipefd[0], &c, 1) == 1);
	CHECK(list_mnt(MSHAREFS_LIST_UNLINKED).total == 4);
	CHECK(used_pages(MNT) == used0 + 4 * 2 * CHUNK_PAGES);
	for (i = 0; i < 4; i++) {
		CHECK(kill(pids[i], SIGKILL) == 0);
		CHECK(wait_status(pids[i]) == 128 + SIGKILL);
	}
	CHECK(wait_used_pages(MNT, used0) == used0);
	CHECK(list_mnt(0).total == 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* No name can be given: msharefs has no hard links. */
static void part_link(void)
{
	char path[64];
	int fd;

	fd = tmp_region(MNT);
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, mpath("named"), AT_EMPTY_PATH),
		     EPERM);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	EXPECT_ERRNO(linkat(AT_FDCWD, path, AT_FDCWD, mpath("named"),
			    AT_SYMLINK_FOLLOW), EPERM);
	CHECK(access(mpath("named"), F_OK) == -1 && errno == ENOENT);
	close(fd);
	/* O_EXCL (never linkable) works the same. */
	fd = (int)EXPECT_OK(open(MNT, O_RDWR | O_TMPFILE | O_EXCL, 0600));
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, mpath("named"), AT_EMPTY_PATH),
		     EPERM);
	close(fd);
}

static int tmpfile_as_nobody(void *arg)
{
	int fd = open((const char *)arg, O_RDWR | O_TMPFILE, 0600);

	if (fd >= 0)
		return 2;
	return errno == EACCES ? 0 : 3;
}

/* nr_regions= counts them; directory permissions apply; VFS rules. */
static void tmpfile_limits(void)
{
	int fd1, fd2;

	mount2_dir();
	CHECK(mount("none", m2, MSHAREFS_FSTYPE, 0, "nr_regions=1") == 0);
	m2_mounted = true;
	fd1 = (int)EXPECT_OK(open(m2, O_RDWR | O_TMPFILE, 0600));
	EXPECT_ERRNO(open(m2, O_RDWR | O_TMPFILE, 0600), ENOSPC);
	EXPECT_ERRNO(open(p2("r"), O_RDWR | O_CREAT, 0600), ENOSPC);
	close(fd1);
	/* Freed at the last close: room again. */
	fd2 = (int)EXPECT_OK(open(m2, O_RDWR | O_TMPFILE, 0600));
	close(fd2);
	CHECK(umount(m2) == 0);
	m2_mounted = false;

	/* A directory the user may not write to. */
	CHECK(mkdir(mpath("ro"), 0755) == 0);
	CHECK(run_child_as(NOBODY, NOBODY, tmpfile_as_nobody,
			   (void *)mpath("ro")) == 0);
	CHECK(rmdir(mpath("ro")) == 0);
	/* What the VFS refuses before msharefs is asked. */
	EXPECT_ERRNO(open(MNT "/mshare_info", O_RDWR | O_TMPFILE, 0600), ENOTDIR);
	EXPECT_ERRNO(open(MNT, O_RDONLY | O_TMPFILE, 0600), EINVAL);
}

static int list_as_nobody(void *arg)
{
	const ino_t *inos = arg;
	struct msharefs_region_entry *e;
	struct msharefs_list l;

	l = list_mnt(0);
	if (l.total != 2)
		return 2;
	e = entry_of(&l, inos[0]);	/* root's 0600: withheld */
	if (!e || e->flags != MSHAREFS_ENTRY_NOSTAT || e->stat.attachers ||
	    e->stat.windows || e->stat.resident_pages ||
	    e->stat.region_size != SZ || e->stat.mode != (S_IFREG | 0600))
		return 3;
	e = entry_of(&l, inos[1]);	/* 0644: shown (our parent and us) */
	if (!e || e->flags != 0 || e->stat.attachers != 2 ||
	    e->stat.resident_pages != CHUNK_PAGES)
		return 4;
	return 0;
}

/* The list: names and no names, filters, sizes, permissions. */
static void part_list(void)
{
	struct msharefs_region_entry *e, big[2][2];
	struct msharefs_list l;
	ino_t inos[2];
	int fdn, fdt, fdu;
	char *p;

	fdn = raw_create("named", SZ);
	fdt = tmp_region(MNT);
	fdu = raw_create("unlinked", SZ);
	CHECK(fchmod(fdu, 0644) == 0);
	CHECK(unlink(mpath("unlinked")) == 0);
	p = raw_attach(fdu, SZ, PROT_READ | PROT_WRITE);
	p[0] = 1;

	l = list_mnt(0);
	CHECK(l.total == 3);
	CHECK((e = entry_of(&l, ino_of(fdn))) && e->nlink == 1);
	CHECK((e = entry_of(&l, ino_of(fdt))) && e->nlink == 0);
	CHECK((e = entry_of(&l, ino_of(fdu))) && e->nlink == 0 &&
	      e->stat.attachers == 1 && e->stat.resident_pages == CHUNK_PAGES);
	l = list_mnt(MSHAREFS_LIST_UNLINKED);
	CHECK(l.total == 2 && !entry_of(&l, ino_of(fdn)));
	/* From any file of the mount: a region, mshare_info. */
	CHECK(list_on(fdn, 0).total == 3);
	{
		int info = (int)EXPECT_OK(open(MNT "/mshare_info", O_RDONLY));

		CHECK(list_on(info, MSHAREFS_LIST_UNLINKED).total == 2);
		close(info);
	}

	/* Counting only, and an array too small. */
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]) };
	CHECK(ioctl(fdn, MSHAREFS_LIST_REGIONS, &l) == 0);
	CHECK(l.nr == 0 && l.total == 3);
	memset(ents, 0xa5, sizeof(ents));
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]),
				    .entries = (uintptr_t)ents, .nr = 2 };
	CHECK(ioctl(fdn, MSHAREFS_LIST_REGIONS, &l) == 0);
	CHECK(l.nr == 2 && l.total == 3);
	CHECK(ents[2].ino == 0xa5a5a5a5a5a5a5a5ULL);	/* untouched */

	/* Entries larger than ours: the rest of each is zeroed. */
	memset(big, 0xa5, sizeof(big));
	l = (struct msharefs_list){ .entry_size = sizeof(big[0]),
				    .entries = (uintptr_t)big, .nr = 2 };
	CHECK(ioctl(fdn, MSHAREFS_LIST_REGIONS, &l) == 0);
	CHECK(l.nr == 2 && l.size == sizeof(ents[0]));
	CHECK(big[0][0].ino != 0xa5a5a5a5a5a5a5a5ULL && big[1][0].ino !=
	      0xa5a5a5a5a5a5a5a5ULL);
	CHECK(big[0][1].ino == 0 && big[1][1].stat.pt_bytes_saved == 0);

	/* Another user sees the figures only of what it may read. */
	CHECK(fchmod(fdt, 0600) == 0);
	close(fdn);
	CHECK(unlink(mpath("named")) == 0);
	inos[0] = ino_of(fdt);
	inos[1] = ino_of(fdu);
	{
		int st = run_child_as(NOBODY, NOBODY, list_as_nobody, inos);

		CHECKF(st == 0, "list as nobody: status %d", st);
	}
	CHECK(munmap(p, SZ) == 0);
	close(fdt);
	close(fdu);
	CHECK(list_mnt(0).total == 0);
}

/* EINVAL, EFAULT, ENOTTY of MSHAREFS_LIST_REGIONS. */
static void list_errors(void)
{
	struct msharefs_list l;
	int fd = (int)EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));
	int t = tmp_region(MNT);

	/* An entry size below version 1, unknown flags, an overflow. */
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]) - 1,
				    .entries = (uintptr_t)ents, .nr = 1 };
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, &l), EINVAL);
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]), .flags = 2,
				    .entries = (uintptr_t)ents, .nr = 1 };
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, &l), EINVAL);
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]),
				    .entries = (uintptr_t)ents,
				    .nr = UINT64_MAX / 64 };
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, &l), EINVAL);
	/* A header smaller than version 1. */
	EXPECT_ERRNO(ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, 'x', 5,
				    sizeof(l) - 8), &l), EINVAL);
	/* Bad memory: the header, the array. */
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, (void *)8), EFAULT);
	l = (struct msharefs_list){ .entry_size = sizeof(ents[0]),
				    .entries = 8, .nr = 1 };
	EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, &l), EFAULT);
	/* Read-only memory for the array. */
	{
		void *ro = mmap(NULL, 4096, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK(ro != MAP_FAILED);
		l = (struct msharefs_list){ .entry_size = sizeof(ents[0]),
					    .entries = (uintptr_t)ro, .nr = 1 };
		EXPECT_ERRNO(ioctl(fd, MSHAREFS_LIST_REGIONS, &l), EFAULT);
		CHECK(munmap(ro, 4096) == 0);
	}
	/* Other directions: ENOTTY. */
	EXPECT_ERRNO(ioctl(fd, _IOR('x', 5, struct msharefs_list), &l), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOW('x', 5, struct msharefs_list), &l), ENOTTY);
	close(t);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct live_part parts[] = {
		{ "create", part_create },
		{ "lifetime", part_lifetime },
		{ "link", part_link },
		{ "limits", tmpfile_limits },
		{ "list", part_list },
		{ "errors", list_errors },
	};

	live_init("live-tmpfile");
	live_run_parts("live-tmpfile", parts, sizeof(parts) / sizeof(parts[0]), argc, argv);
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fake kernel for libmshare-preload's unit tests: see fake-preload.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <linux/msharefs.h>

#include "shim.h"
#include "fake-preload.h"

#define NMAPS	128
#define NFILES	64
#define NFDS	32
#define NSEGS	16
#define FD_BASE	100

struct ffile {
	bool used, dir, linked;
	char path[256];
	uint64_t ino;
	off_t size;
	mode_t mode;
	int refs;		/* descriptors and windows */
};

struct ffd {
	bool used;
	int file;		/* -1: generated content */
	int acc;
	char content[8192];
	size_t len, pos;
	bool listed;		/* getdents done */
};

struct fseg {
	bool used, dest;
	key_t key;
	size_t size;
	int mode;
};

static struct fp_map maps[NMAPS];
static struct ffile files[NFILES];
static struct ffd fds[NFDS];
static struct fseg segs[NSEGS];
static bool mounted;
static unsigned int counts[FP_NR];
static struct { int err; unsigned int skip; } fails[FP_NR];
static uintptr_t next_addr;
static uint64_t next_ino;
struct fp_last fp_last;

static bool enter(enum fp_call c)
{
	counts[c]++;
	if (!fails[c].err)
		return false;
	if (fails[c].skip) {
		fails[c].skip--;
		return false;
	}
	errno = fails[c].err;
	fails[c].err = 0;
	return true;
}

#define ENTER(c, ret) do { if (enter(c)) return ret; } while (0)
#define FAIL(e, ret) do { errno = (e); return ret; } while (0)

void fp_reset(void)
{
	memset(maps, 0, sizeof(maps));
	memset(files, 0, sizeof(files));
	memset(fds, 0, sizeof(fds));
	memset(segs, 0, sizeof(segs));
	memset(counts, 0, sizeof(counts));
	memset(fails, 0, sizeof(fails));
	memset(&fp_last, 0, sizeof(fp_last));
	mounted = true;
	next_addr = 0x100000000UL;
	next_ino = 1000;
	msp_config_ensure();
	msp_cfg.anon = true;
	msp_cfg.sysv = true;
	msp_cfg.hugetlb = false;
	msp_cfg.verbose = getenv("FAKE_VERBOSE") != NULL;
	msp_cfg.min_size = 32UL << 20;
	strcpy(msp_cfg.nodeepbind, MSP_DEFAULT_NODEEPBIND);
	msp_cfg.mount[0] = '\0';
	msp_window_reset();
	msp_mount_reset();
}

void fp_unmount(void)
{
	mounted = false;
}

void fp_fail(enum fp_call call, unsigned int skip, int err)
{
	fails[call].err = err;
	fails[call].skip = skip;
}

unsigned int fp_calls(enum fp_call call)
{
	return counts[call];
}

/* ---- files ---- */

static int file_find(const char *path)
{
	int i;

	for (i = 0; i < NFILES; i++)
		if (files[i].used && files[i].linked &&
		    !strcmp(files[i].path, path))
			return i;
	return -1;
}

static int file_new(const char *path, bool dir, mode_t mode)
{
	int i;

	for (i = 0; i < NFILES; i++) {
		if (files[i].used)
			continue;
		memset(&files[i], 0, sizeof(files[i]));
		files[i].used = true;
		files[i].dir = dir;
		files[i].linked = path != NULL;
		if (path)
			snprintf(files[i].path, sizeof(files[i].path), "%s", path);
		files[i].ino = next_ino++;
		files[i].mode = mode & 07777;
		return i;
	}
	return -1;
}

static void file_put(int f)
{
	if (--files[f].refs == 0 && !files[f].linked)
		files[f].used = false;
}

static bool under_mnt(const char *path)
{
	size_t n = strlen(FAKE_MNT);

	return !strncmp(path, FAKE_MNT, n) && (path[n] == '/' || !path[n]);
}

static bool parent_exists(const char *path)
{
	char parent[256];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (!strcmp(parent, FAKE_MNT))
		return true;
	return file_find(parent) >= 0 && files[file_find(parent)].dir;
}

bool fp_exists(const char *path)
{
	return file_find(path) >= 0;
}

long long fp_size(const char *path)
{
	int f = file_find(path);

	return f < 0 ? -1 : files[f].size;
}

int fp_mode(const char *path)
{
	int f = file_find(path);

	return f < 0 ? -1 : (int)files[f].mode;
}

unsigned int fp_regions(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NFILES; i++)
		n += files[i].used && !files[i].dir;
	return n;
}

unsigned int fp_open_fds(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NFDS; i++)
		n += fds[i].used;
	return n;
}

static int fd_new(int file, int acc)
{
	int i;

	for (i = 0; i < NFDS; i++) {
		if (fds[i].used)
			continue;
		memset(&fds[i], 0, sizeof(fds[i]));
		fds[i].used = true;
		fds[i].file = file;
		fds[i].acc = acc;
		if (file >= 0)
			files[file].refs++;
		return FD_BASE + i;
	}
	FAIL(EMFILE, -1);
}

static struct ffd *fd_get(int fd)
{
	if (fd < FD_BASE || fd >= FD_BASE + NFDS || !fds[fd - FD_BASE].used)
		return NULL;
	return &fds[fd - FD_BASE];
}

static size_t gen_maps(char *buf, size_t len)
{
	size_t n = 0;
	int i;

	for (i = 0; i < NMAPS; i++) {
		const struct fp_map *m = &maps[i];
		uint64_t ino = 0;

		if (!m->kind)
			continue;
		if (m->kind == FP_REGION)
			ino = files[m->file].ino;
		n += (size_t)snprintf(buf + n, len - n,
				      "%lx-%lx rw-s 00000000 %s %llu\n",
				      (unsigned long)m->start,
				      (unsigned long)m->end,
				      m->kind == FP_REGION ? "00:63" : "00:00",
				      (unsigned long long)ino);
	}
	return n;
}

int msp_sys_open(const char *path, int flags, mode_t mode)
{
	int f, fd;

	ENTER(FP_OPEN, -1);
	snprintf(fp_last.open_path, sizeof(fp_last.open_path), "%s", path);
	fp_last.open_flags = flags;
	if (!strcmp(path, "/proc/self/maps") ||
	    !strcmp(path, "/proc/self/mountinfo")) {
		struct ffd *d;

		fd = fd_new(-1, O_RDONLY);
		if (fd < 0)
			return -1;
		d = fd_get(fd);
		if (!strcmp(path, "/proc/self/maps")) {
			d->len = gen_maps(d->content, sizeof(d->content));
		} else {
			d->len = (size_t)snprintf(d->content, sizeof(d->content),
				"22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
				"23 1 0:22 / /sys rw - sysfs sysfs rw\n%s"
				"25 1 0:24 / /tmp\\040dir rw - tmpfs tmpfs rw\n",
				mounted ? "24 23 0:63 / " FAKE_MNT " rw,relatime - msharefs none rw\n" : "");
		}
		return fd;
	}
	if (!under_mnt(path) || !mounted)
		FAIL(ENOENT, -1);
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if (strcmp(path, FAKE_MNT) &&
		    (file_find(path) < 0 || !files[file_find(path)].dir))
			FAIL(ENOENT, -1);
		f = file_new(NULL, false, mode);
		if (f < 0)
			FAIL(ENOSPC, -1);
		return fd_new(f, flags & O_ACCMODE);
	}
	if (!strcmp(path, FAKE_MNT)) {
		if (!(flags & O_DIRECTORY))
			FAIL(EISDIR, -1);
		return fd_new(-1, O_RDONLY);
	}
	if (!strcmp(path, FAKE_MNT "/mshare_info")) {
		struct ffd *d;

		fd = fd_new(-1, O_RDONLY);
		if (fd < 0)
			return -1;
		d = fd_get(fd);
		/* Upstream's unit; the granule is in MSHAREFS_GET_FS_STAT. */
		d->len = (size_t)snprintf(d->content, sizeof(d->content),
					  "%lu\n", 512UL << 30);
		return fd;
	}
	f = file_find(path);
	if (f >= 0) {
		if ((flags & O_CREAT) && (flags & O_EXCL))
			FAIL(EEXIST, -1);
		if ((flags & O_DIRECTORY) && !files[f].dir)
			FAIL(ENOTDIR, -1);
		return fd_new(f, flags & O_ACCMODE);
	}
	if (!(flags & O_CREAT) || !parent_exists(path))
		FAIL(ENOENT, -1);
	f = file_new(path, false, mode);
	if (f < 0)
		FAIL(ENOSPC, -1);
	return fd_new(f, flags & O_ACCMODE);
}

int msp_sys_close(int fd)
{
	struct ffd *d;

	ENTER(FP_CLOSE, -1);
	d = fd_get(fd);
	if (!d)
		FAIL(EBADF, -1);
	if (d->file >= 0)
		file_put(d->file);
	d->used = false;
	return 0;
}

/* mshare_info answers MSHAREFS_GET_FS_STAT with the granule. */
int msp_sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct ffd *d = fd_get(fd);

	if (!d)
		FAIL(EBADF, -1);
	if (d->file < 0 && d->len && cmd == MSHAREFS_GET_FS_STAT) {
		struct msharefs_fs_stat *st = arg;

		memset(st, 0, sizeof(*st));
		st->granule = FAKE_GRANULE;
		return 0;
	}
	FAIL(ENOTTY, -1);
}

ssize_t msp_sys_read(int fd, void *buf, size_t len)
{
	struct ffd *d;
	size_t n;

	ENTER(FP_READ, -1);
	d = fd_get(fd);
	if (!d || d->file >= 0)
		FAIL(EINVAL, -1);
	n = d->len - d->pos < len ? d->len - d->pos : len;
	memcpy(buf, d->content + d->pos, n);
	d->pos += n;
	return (ssize_t)n;
}

int msp_sys_ftruncate(int fd, off_t len)
{
	struct ffd *d;

	ENTER(FP_FTRUNCATE, -1);
	fp_last.ftruncate_len = len;
	d = fd_get(fd);
	if (!d || d->file < 0)
		FAIL(EBADF, -1);
	if (files[d->file].size || !len || len % (off_t)FAKE_GRANULE)
		FAIL(EINVAL, -1);
	files[d->file].size = len;
	return 0;
}

int msp_sys_fstat(int fd, struct stat *st)
{
	struct ffd *d;

	ENTER(FP_FSTAT, -1);
	d = fd_get(fd);
	if (!d)
		FAIL(EBADF, -1);
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 0x63);
	if (d->file < 0) {
		st->st_mode = S_IFDIR | 01777;
		return 0;
	}
	st->st_ino = files[d->file].ino;
	st->st_size = files[d->file].size;
	st->st_mode = (files[d->file].dir ? S_IFDIR : S_IFREG) |
		      files[d->file].mode;
	st->st_nlink = files[d->file].linked;
	return 0;
}

int msp_sys_fchmod(int fd, mode_t mode)
{
	struct ffd *d;

	ENTER(FP_FCHMOD, -1);
	d = fd_get(fd);
	if (!d || d->file < 0)
		FAIL(EBADF, -1);
	files[d->file].mode = mode & 07777;
	return 0;
}

int msp_sys_chmod(const char *path, mode_t mode)
{
	int f;

	ENTER(FP_CHMOD, -1);
	f = file_find(path);
	if (f < 0)
		FAIL(ENOENT, -1);
	files[f].mode = mode & 07777;
	return 0;
}

int msp_sys_chown(const char *path, uid_t uid, gid_t gid)
{
	(void)uid;
	(void)gid;
	ENTER(FP_CHOWN, -1);
	if (file_find(path) < 0)
		FAIL(ENOENT, -1);
	return 0;
}

int msp_sys_statfs(const char *path, struct statfs *st)
{
	ENTER(FP_STATFS, -1);
	memset(st, 0, sizeof(*st));
	if (!under_mnt(path))
		FAIL(ENOENT, -1);
	st->f_type = mounted ? MSHAREFS_MAGIC : 0x01021994 /* tmpfs */;
	return 0;
}

int msp_sys_unlink(const char *path)
{
	int f;

	ENTER(FP_UNLINK, -1);
	f = file_find(path);
	if (f < 0)
		FAIL(ENOENT, -1);
	if (files[f].dir)
		FAIL(EISDIR, -1);
	files[f].linked = false;
	files[f].path[0] = '\0';
	if (!files[f].refs)
		files[f].used = false;
	return 0;
}

int msp_sys_mkdir(const char *path, mode_t mode)
{
	ENTER(FP_MKDIR, -1);
	if (!under_mnt(path) || !mounted || !parent_exists(path))
		FAIL(ENOENT, -1);
	if (file_find(path) >= 0 || !strcmp(path, FAKE_MNT))
		FAIL(EEXIST, -1);
	if (file_new(path, true, mode) < 0)
		FAIL(ENOSPC, -1);
	return 0;
}

int msp_sys_rmdir(const char *path)
{
	size_t n = strlen(path);
	int f, i;

	ENTER(FP_RMDIR, -1);
	f = file_find(path);
	if (f < 0)
		FAIL(ENOENT, -1);
	if (!files[f].dir)
		FAIL(ENOTDIR, -1);
	for (i = 0; i < NFILES; i++)
		if (files[i].used && files[i].linked &&
		    !strncmp(files[i].path, path, n) && files[i].path[n] == '/')
			FAIL(ENOTEMPTY, -1);
	files[f].used = false;
	return 0;
}

int msp_sys_flock(int fd, int op)
{
	(void)op;
	ENTER(FP_FLOCK, -1);
	if (!fd_get(fd))
		FAIL(EBADF, -1);
	return 0;
}

struct fp_dirent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

ssize_t msp_sys_getdents(int fd, void *buf, size_t len)
{
	struct ffd *d;
	const char *dir;
	size_t n = 0, dl;
	int i;

	ENTER(FP_GETDENTS, -1);
	d = fd_get(fd);
	if (!d)
		FAIL(EBADF, -1);
	if (d->listed || d->file < 0)
		return 0;
	d->listed = true;
	dir = files[d->file].path;
	dl = strlen(dir);
	for (i = 0; i < NFILES; i++) {
		struct fp_dirent *e = (struct fp_dirent *)((char *)buf + n);
		const char *name;
		size_t reclen;

		if (!files[i].used || !files[i].linked ||
		    strncmp(files[i].path, dir, dl) || files[i].path[dl] != '/')
			continue;
		name = files[i].path + dl + 1;
		reclen = (sizeof(*e) + strlen(name) + 1 + 7) & ~7UL;
		if (n + reclen > len)
			break;
		e->d_ino = files[i].ino;
		e->d_off = 0;
		e->d_reclen = (unsigned short)reclen;
		e->d_type = files[i].dir ? DT_DIR : DT_REG;
		strcpy(e->d_name, name);
		n += reclen;
	}
	return (ssize_t)n;
}

long msp_sys_page_size(void)
{
	return (long)FAKE_PAGE;
}

/* ---- the address space ---- */

const struct fp_map *fp_map_at(uintptr_t addr)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (maps[i].kind && maps[i].start <= addr && addr < maps[i].end)
			return &maps[i];
	return NULL;
}

unsigned int fp_nr_maps(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NMAPS; i++)
		n += maps[i].kind != 0;
	return n;
}

static bool overlaps(uintptr_t lo, uintptr_t hi)
{
	int i;

	for (i = 0; i < NMAPS; i++)
		if (maps[i].kind && maps[i].start < hi && maps[i].end > lo)
			return true;
	return false;
}

static void map_drop(struct fp_map *m)
{
	if (m->kind == FP_REGION)
		file_put(m->file);
	if (m->kind == FP_SHM) {
		int s = m->shm;

		m->kind = 0;
		if (segs[s].dest && fp_shm_nattch(10 + s) == 0)
			segs[s].used = false;
	}
	m->kind = 0;
}

/* Unmap [lo, hi): EINVAL (nothing done) if a window would be split. */
static int unmap_range(uintptr_t lo, uintptr_t hi)
{
	int i;

	for (i = 0; i < NMAPS; i++) {
		struct fp_map *m = &maps[i];

		if (m->kind == FP_REGION && m->start < hi && m->end > lo &&
		    (m->start < lo || m->end > hi))
			FAIL(EINVAL, -1);
	}
	for (i = 0; i < NMAPS; i++) {
		struct fp_map *m = &maps[i];

		if (!m->kind || m->start >= hi || m->end <= lo)
			continue;
		if (m->start >= lo && m->end <= hi)
			map_drop(m);
		else if (m->start < lo)
			m->end = lo;	/* keeps the head (no splits here) */
		else
			m->start = hi;
	}
	return 0;
}

static struct fp_map *map_new(uintptr_t start, size_t len, int prot, int kind)
{
	int i;

	for (i = 0; i < NMAPS; i++) {
		if (maps[i].kind)
			continue;
		memset(&maps[i], 0, sizeof(maps[i]));
		maps[i].start = start;
		maps[i].end = start + len;
		maps[i].prot = prot;
		maps[i].kind = kind;
		return &maps[i];
	}
	return NULL;
}

static uintptr_t place(size_t len, size_t align)
{
	uintptr_t a = (next_addr + align - 1) & ~(align - 1);

	next_addr = a + len + FAKE_GRANULE;
	return a;
}

void *fp_map_anon(uintptr_t addr, size_t len)
{
	struct fp_map *m = map_new(addr, len, PROT_READ | PROT_WRITE, FP_ANON);

	return m ? (void *)addr : MAP_FAILED;
}

void *msp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		   off_t off)
{
	size_t align = FAKE_PAGE, rlen = (len + FAKE_PAGE - 1) & ~(FAKE_PAGE - 1);
	struct ffd *d = NULL;
	struct fp_map *m;
	uintptr_t a;
	int kind = FP_ANON;

	ENTER(FP_MMAP, MAP_FAILED);
	fp_last.mmap_addr = addr;
	fp_last.mmap_len = len;
	fp_last.mmap_prot = prot;
	fp_last.mmap_flags = flags;
	fp_last.mmap_fd = fd;
	if (!len || (off & (off_t)(FAKE_PAGE - 1)))
		FAIL(EINVAL, MAP_FAILED);
	if ((flags & MAP_HUGETLB) && (flags & MAP_ANONYMOUS))
		FAIL(ENOMEM, MAP_FAILED);	/* no huge pages reserved */
	if (!(flags & MAP_ANONYMOUS)) {
		d = fd_get(fd);
		if (!d)
			FAIL(EBADF, MAP_FAILED);
		if (d->file >= 0 && !files[d->file].dir) {
			kind = FP_REGION;
			if (!files[d->file].size || off ||
			    (off_t)len != files[d->file].size ||
			    (flags & MAP_TYPE) != MAP_SHARED)
				FAIL(EINVAL, MAP_FAILED);
			if ((prot & PROT_WRITE) && d->acc == O_RDONLY)
				FAIL(EACCES, MAP_FAILED);
			align = FAKE_GRANULE;
		} else {
			kind = FP_FILE;
		}
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		a = (uintptr_t)addr;
		if (a & (align - 1))
			FAIL(EINVAL, MAP_FAILED);
		if (flags & MAP_FIXED_NOREPLACE) {
			if (overlaps(a, a + rlen))
				FAIL(EEXIST, MAP_FAILED);
		} else if (unmap_range(a, a + rlen)) {
			return MAP_FAILED;
		}
	} else {
		a = place(rlen, align);
	}
	m = map_new(a, rlen, prot, kind);
	if (!m)
		FAIL(ENOMEM, MAP_FAILED);
	m->shared = (flags & MAP_TYPE) == MAP_SHARED;
	if (kind == FP_REGION) {
		m->file = d->file;
		files[d->file].refs++;
	}
	return (void *)a;
}

int msp_sys_munmap(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr;

	ENTER(FP_MUNMAP, -1);
	fp_last.munmap_addr = addr;
	fp_last.munmap_len = len;
	if (!len || (lo & (FAKE_PAGE - 1)))
		FAIL(EINVAL, -1);
	return unmap_range(lo, lo + ((len + FAKE_PAGE - 1) & ~(FAKE_PAGE - 1)));
}

void *msp_sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		     void *new_addr)
{
	const struct fp_map *m = fp_map_at((uintptr_t)old);
	struct fp_map *n;
	int prot;

	ENTER(FP_MREMAP, MAP_FAILED);
	if (!m)
		FAIL(EFAULT, MAP_FAILED);
	if (m->kind == FP_REGION)
		FAIL(EINVAL, MAP_FAILED);
	if (!(flags & MREMAP_FIXED))
		FAIL(ENOMEM, MAP_FAILED);	/* not modelled */
	prot = m->prot;
	if (unmap_range((uintptr_t)new_addr, (uintptr_t)new_addr + new_len) ||
	    unmap_range((uintptr_t)old, (uintptr_t)old + old_len))
		return MAP_FAILED;
	n = map_new((uintptr_t)new_addr, new_len, prot, FP_ANON);
	return n ? new_addr : MAP_FAILED;
}

/* ENOMEM unless every page of [lo, hi) is mapped. */
static int covered(uintptr_t lo, uintptr_t hi)
{
	uintptr_t p;

	for (p = lo; p < hi; p += FAKE_PAGE)
		if (!fp_map_at(p))
			FAIL(ENOMEM, -1);
	return 0;
}

int msp_sys_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	int i;

	ENTER(FP_MPROTECT, -1);
	fp_last.mprotect_addr = addr;
	fp_last.mprotect_len = len;
	if (covered(lo, hi))
		return -1;
	for (i = 0; i < NMAPS; i++)
		if (maps[i].kind == FP_REGION && maps[i].start < hi &&
		    maps[i].end > lo)
			FAIL(EINVAL, -1);
	for (i = 0; i < NMAPS; i++)
		if (maps[i].kind && maps[i].start < hi && maps[i].end > lo)
			maps[i].prot = prot;
	return 0;
}

int msp_sys_madvise(void *addr, size_t len, int advice)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	int i;

	ENTER(FP_MADVISE, -1);
	if (covered(lo, hi))
		return -1;
	if (advice == MADV_DONTNEED || advice == MADV_WILLNEED)
		return 0;
	/* Advice that changes the VMA splits a window: the module refuses. */
	for (i = 0; i < NMAPS; i++)
		if (maps[i].kind == FP_REGION && maps[i].start < hi &&
		    maps[i].end > lo && (maps[i].start < lo || maps[i].end > hi))
			FAIL(EINVAL, -1);
	return 0;
}

/* ---- System V ---- */

static struct fseg *seg_of(int id)
{
	int s = id - 10;

	if (s < 0 || s >= NSEGS || !segs[s].used)
		return NULL;
	return &segs[s];
}

int fp_shm_nattch(int id)
{
	int i, n = 0;

	for (i = 0; i < NMAPS; i++)
		n += maps[i].kind == FP_SHM && maps[i].shm == id - 10;
	return n;
}

long long fp_shm_size(int id)
{
	struct fseg *s = seg_of(id);

	return s ? (long long)s->size : -1;
}

bool fp_shm_exists(int id)
{
	return seg_of(id) != NULL;
}

void fp_shm_remove(int id)
{
	struct fseg *s = seg_of(id);

	if (!s)
		return;
	s->dest = true;
	s->key = IPC_PRIVATE;
	if (!fp_shm_nattch(id))
		s->used = false;
}

int msp_sys_shmget(key_t key, size_t size, int flags)
{
	int i;

	ENTER(FP_SHMGET, -1);
	fp_last.shmget_flags = flags;
	if (key != IPC_PRIVATE) {
		for (i = 0; i < NSEGS; i++) {
			if (!segs[i].used || segs[i].key != key)
				continue;
			if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
				FAIL(EEXIST, -1);
			if (size > segs[i].size)
				FAIL(EINVAL, -1);
			return 10 + i;
		}
		if (!(flags & IPC_CREAT))
			FAIL(ENOENT, -1);
	}
	if (!size)
		FAIL(EINVAL, -1);
	if (flags & SHM_HUGETLB)
		FAIL(ENOMEM, -1);
	for (i = 0; i < NSEGS; i++) {
		if (segs[i].used)
			continue;
		memset(&segs[i], 0, sizeof(segs[i]));
		segs[i].used = true;
		segs[i].key = key;
		segs[i].size = size;
		segs[i].mode = flags & 0777;
		return 10 + i;
	}
	FAIL(ENOSPC, -1);
}

void *msp_sys_shmat(int id, const void *addr, int flags)
{
	struct fseg *s = seg_of(id);
	size_t len;
	uintptr_t a;
	struct fp_map *m;

	ENTER(FP_SHMAT, (void *)-1);
	if (!s)
		FAIL(EINVAL, (void *)-1);
	len = (s->size + FAKE_PAGE - 1) & ~(FAKE_PAGE - 1);
	if (addr) {
		a = (uintptr_t)addr;
		if (flags & SHM_RND)
			a &= ~(uintptr_t)(SHMLBA - 1);
		if (a & (SHMLBA - 1))
			FAIL(EINVAL, (void *)-1);
		if (overlaps(a, a + len)) {
			if (!(flags & SHM_REMAP))
				FAIL(EINVAL, (void *)-1);
			if (unmap_range(a, a + len))
				return (void *)-1;
		}
	} else {
		a = place(len, FAKE_PAGE);
	}
	m = map_new(a, len, PROT_READ | ((flags & SHM_RDONLY) ? 0 : PROT_WRITE),
		    FP_SHM);
	if (!m)
		FAIL(ENOMEM, (void *)-1);
	m->shm = id - 10;
	m->shared = true;
	return (void *)a;
}

int msp_sys_shmdt(const void *addr)
{
	int i;

	ENTER(FP_SHMDT, -1);
	for (i = 0; i < NMAPS; i++) {
		if (maps[i].kind == FP_SHM && maps[i].start == (uintptr_t)addr) {
			map_drop(&maps[i]);
			return 0;
		}
	}
	FAIL(EINVAL, -1);
}

int msp_sys_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	struct fseg *s;

	ENTER(FP_SHMCTL, -1);
	s = seg_of(id);
	if (!s)
		FAIL(EINVAL, -1);
	switch (cmd) {
	case IPC_STAT:
		memset(buf, 0, sizeof(*buf));
		buf->shm_segsz = s->size;
		buf->shm_nattch = (shmatt_t)fp_shm_nattch(id);
		buf->shm_perm.mode = (unsigned short)(s->mode |
						      (s->dest ? SHM_DEST : 0));
		return 0;
	case IPC_SET:
		s->mode = buf->shm_perm.mode & 0777;
		return 0;
	case IPC_RMID:
		fp_shm_remove(id);
		return 0;
	}
	return 0;
}

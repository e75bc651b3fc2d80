// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-perms: who may do what, as children that drop to other users.
 *
 * Users: "owner" (2001:2001), "group" (2002:2002, member of group 2001
 * through a supplementary group), "other" (2003:2003) and root.
 *
 * 1. Regions owned by 2001:2001 with modes 0600 0640 0604 0660 0666 0644
 *    0400 0200 0000: each user opens them O_RDONLY / O_WRONLY / O_RDWR /
 *    O_CREAT (the mode bits decide, root may do anything), attaches
 *    (PROT_READ needs read access, PROT_WRITE a descriptor open for
 *    writing: EACCES otherwise), calls the ioctls (MSHAREFS_CREATE_MAPPING,
 *    _UNMAP and _PROTECT need a descriptor open for writing, EBADF
 *    otherwise, even for root, and change nothing: a window of root's
 *    keeps its bytes and stays writable; the statistics work on any
 *    descriptor) and unlinks them (the root is sticky: only the owner or
 *    root).  Expected values come from the mode bits; the test prints the
 *    matrix.
 * 2. Directories: the same scenarios (directories 0755, 0777, 1777, 0775,
 *    2775, ... owned by root or by "owner"; create, mkdir, list, stat,
 *    open, O_CREAT of existing files, unlink, rmdir, rename, exchange,
 *    moves in and out, by each user) run on msharefs and on a tmpfs in the
 *    same VM, with fs.protected_regular 0 and 2; every result (errno, and
 *    the owner and mode of what was created) must be the same on both.
 *    The test prints the msharefs matrix and every difference, and checks
 *    a few cells against their known values.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/msharefs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ		(2 * GRANULE)
#define RW		(PROT_READ | PROT_WRITE)
#define RWX		(PROT_READ | PROT_WRITE | PROT_EXEC)
#define SEED		0x7065726d
#define TMPFS_DIR	"/tmp/live-perms-tmpfs"

enum { U_OWNER, U_GROUP, U_OTHER, U_ROOT, NUSERS };

static const struct user {
	const char *name;
	char tag;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[1];
} users[NUSERS] = {
	[U_OWNER] = { "owner", 'A', 2001, 2001, 0, { 0 } },
	[U_GROUP] = { "group", 'B', 2002, 2002, 1, { 2001 } },
	[U_OTHER] = { "other", 'C', 2003, 2003, 0, { 0 } },
	[U_ROOT]  = { "root",  'R', 0, 0, 0, { 0 } },
};

static int run_as(int u, int (*fn)(void *), void *arg)
{
	const struct user *us = &users[u];

	if (u == U_ROOT)
		return run_child(fn, arg);
	return run_child_as_groups(us->uid, us->gid, us->ngroups, us->groups,
				   fn, arg);
}

static void *shared_mem(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

static const char *short_err(int e)
{
	static __thread char buf[4][16];
	static __thread int n;
	char *b;

	if (e == 0)
		return "ok";
	if (e == -1)
		return "-";
	if (e == -2)
		return "DATA";	/* worked, but showed the wrong bytes */
	b = buf[n++ & 3];
	snprintf(b, 16, "%s", live_errname(e));
	return b;
}

static int prot_ioctl(int fd, __u64 off, __u64 size, __u32 prot)
{
	struct mshare_protect mp = {
		.region_offset = off, .size = size, .prot = prot, .flags = 0,
	};

	return ioctl(fd, MSHAREFS_PROTECT, &mp);
}

static int unmap_ioctl(int fd, __u64 off, __u64 size)
{
	struct mshare_unmap mu = { .region_offset = off, .size = size };

	return ioctl(fd, MSHAREFS_UNMAP, &mu);
}

static int create_ioctl(int fd, __u64 off, __u64 size, __u32 prot)
{
	struct mshare_create mc = {
		.region_offset = off, .size = size, .offset = 0, .prot = prot,
		.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, .fd = (__u32)-1,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc);
}

static int rstat_ioctl(int fd)
{
	struct msharefs_region_stat st;

	return ioctl(fd, MSHAREFS_GET_REGION_STAT, &st);
}

static int fstat_ioctl(int fd)
{
	struct msharefs_fs_stat st;

	return ioctl(fd, MSHAREFS_GET_FS_STAT, &st);
}

static int res(int r)
{
	return r == -1 ? errno : 0;
}

/* ======================= 1. regions ======================= */

enum {
	R_RD, R_WR, R_RW, R_CRD, R_CRW,
	M_RO_R, M_RO_RW, M_WO_R, M_RW_RW,
	I_RO_CREATE, I_RO_UNMAP, I_RO_PROTECT, I_RO_RSTAT, I_RO_FSTAT,
	I_WO_PROTECT, I_WO_RSTAT, I_RW_PROTECT, I_RW_FSTAT,
	R_UNLINK, NROPS
};

static const char *const rop_names[NROPS] = {
	[R_RD] = "RDONLY", [R_WR] = "WRONLY", [R_RW] = "RDWR",
	[R_CRD] = "CREAT|RD", [R_CRW] = "CREAT|RW",
	[M_RO_R] = "ro:mmapR", [M_RO_RW] = "ro:mmapRW", [M_WO_R] = "wo:mmapR",
	[M_RW_RW] = "rw:mmapRW",
	[I_RO_CREATE] = "ro:CREATE", [I_RO_UNMAP] = "ro:UNMAP",
	[I_RO_PROTECT] = "ro:PROTECT", [I_RO_RSTAT] = "ro:RSTAT",
	[I_RO_FSTAT] = "ro:FSTAT", [I_WO_PROTECT] = "wo:PROTECT",
	[I_WO_RSTAT] = "wo:RSTAT", [I_RW_PROTECT] = "rw:PROTECT",
	[I_RW_FSTAT] = "rw:FSTAT", [R_UNLINK] = "unlink",
};

static const mode_t region_modes[] = {
	0600, 0640, 0604, 0660, 0666, 0644, 0400, 0200, 0000,
};

#define NA	(-1)
#define BAD	(-2)

static int *rres;	/* shared with the children: NROPS ints */

static int region_child(void *arg)
{
	const char *path = arg;
	int fd;
	char *w;

	umask(022);
	for (int i = 0; i < NROPS; i++)
		rres[i] = NA;

	/* read-only descriptor */
	fd = open(path, O_RDONLY);
	rres[R_RD] = fd < 0 ? errno : 0;
	if (fd >= 0) {
		w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
		rres[M_RO_R] = w == MAP_FAILED ? errno : 0;
		if (w != MAP_FAILED) {
			if (verify_pattern(w, SZ, SEED) != -1)
				rres[M_RO_R] = BAD;
			munmap(w, SZ);
		}
		w = mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);
		rres[M_RO_RW] = w == MAP_FAILED ? errno : 0;
		if (w != MAP_FAILED)
			munmap(w, SZ);
		/* destructive requests: they must all be refused */
		rres[I_RO_CREATE] = res(create_ioctl(fd, 0, SZ, RW));
		rres[I_RO_UNMAP] = res(unmap_ioctl(fd, 0, SZ));
		rres[I_RO_PROTECT] = res(prot_ioctl(fd, 0, SZ, PROT_NONE));
		rres[I_RO_RSTAT] = res(rstat_ioctl(fd));
		rres[I_RO_FSTAT] = res(fstat_ioctl(fd));
		close(fd);
	}

	/* write-only descriptor */
	fd = open(path, O_WRONLY);
	rres[R_WR] = fd < 0 ? errno : 0;
	if (fd >= 0) {
		w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
		rres[M_WO_R] = w == MAP_FAILED ? errno : 0;
		if (w != MAP_FAILED)
			munmap(w, SZ);
		/* the protection the region starts with: changes nothing */
		rres[I_WO_PROTECT] = res(prot_ioctl(fd, 0, SZ, RWX));
		rres[I_WO_RSTAT] = res(rstat_ioctl(fd));
		close(fd);
	}

	/* read-write descriptor */
	fd = open(path, O_RDWR);
	rres[R_RW] = fd < 0 ? errno : 0;
	if (fd >= 0) {
		w = mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);
		rres[M_RW_RW] = w == MAP_FAILED ? errno : 0;
		if (w != MAP_FAILED) {
			if (verify_pattern(w, SZ, SEED) != -1)
				rres[M_RW_RW] = BAD;
			/* write through it, then put the word back */
			((volatile uint64_t *)w)[1] = 42;
			if (((volatile uint64_t *)w)[1] != 42)
				rres[M_RW_RW] = BAD;
			((volatile uint64_t *)w)[1] = pattern_word(SEED, 1);
			munmap(w, SZ);
		}
		rres[I_RW_PROTECT] = res(prot_ioctl(fd, 0, SZ, RWX));
		rres[I_RW_FSTAT] = res(fstat_ioctl(fd));
		close(fd);
	}

	/* O_CREAT of the existing region: the access mode decides */
	fd = open(path, O_RDONLY | O_CREAT, 0600);
	rres[R_CRD] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	rres[R_CRW] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);

	rres[R_UNLINK] = res(unlink(path));
	return 0;
}

static void region_expect(mode_t mode, int u, int *want)
{
	int bits, r, w;

	if (u == U_ROOT)
		bits = 6;	/* CAP_DAC_OVERRIDE */
	else if (u == U_OWNER)
		bits = (mode >> 6) & 7;
	else if (u == U_GROUP)
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	r = (bits & 4) ? 0 : EACCES;
	w = (bits & 2) ? 0 : EACCES;

	for (int i = 0; i < NROPS; i++)
		want[i] = NA;
	want[R_RD] = want[R_CRD] = r;
	want[R_WR] = w;
	want[R_RW] = want[R_CRW] = (r || w) ? EACCES : 0;
	if (!r) {
		want[M_RO_R] = 0;
		want[M_RO_RW] = EACCES;
		want[I_RO_CREATE] = EBADF;
		want[I_RO_UNMAP] = EBADF;
		want[I_RO_PROTECT] = EBADF;
		want[I_RO_RSTAT] = 0;
		want[I_RO_FSTAT] = 0;
	}
	if (!w) {
		want[M_WO_R] = EACCES;		/* shared mappings need read access */
		want[I_WO_PROTECT] = 0;
		want[I_WO_RSTAT] = 0;
	}
	if (!r && !w) {
		want[M_RW_RW] = 0;
		want[I_RW_PROTECT] = 0;
		want[I_RW_FSTAT] = 0;
	}
	/* sticky root: the owner or root */
	want[R_UNLINK] = (u == U_OWNER || u == U_ROOT) ? 0 : EPERM;
}

static int region_matrix(void)
{
	char line[1024];
	int want[NROPS], bad = 0;
	size_t n;

	rres = shared_mem(NROPS * sizeof(int));
	fprintf(stderr, "\n== regions owned by 2001:2001 (group 2001) in the sticky root ==\n");
	fprintf(stderr, "cells: result, '!want' when it differs; ro/wo/rw: "
		"through an O_RDONLY/O_WRONLY/O_RDWR descriptor\n");
	n = (size_t)snprintf(line, sizeof(line), "%-11s", "mode user");
	for (int i = 0; i < NROPS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %-12s", rop_names[i]);
	fprintf(stderr, "%s\n", line);

	for (size_t m = 0; m < sizeof(region_modes) / sizeof(region_modes[0]); m++) {
		mode_t mode = region_modes[m];

		for (int u = 0; u < NUSERS; u++) {
			const char *path = mpath("pm");
			int fd, st;
			char *w;

			fd = EXPECT_OK(open(path, O_RDWR | O_CREAT | O_EXCL, 0600));
			CHECK(ftruncate(fd, SZ) == 0);
			w = raw_attach(fd, SZ, RW);
			fill_pattern(w, SZ, SEED);
			CHECK(fchown(fd, users[U_OWNER].uid, users[U_OWNER].gid) == 0);
			CHECK(fchmod(fd, mode) == 0);

			st = run_as(u, region_child, (void *)path);
			CHECKF(st == 0, "region child %s: status %d", users[u].name, st);
			region_expect(mode, u, want);

			n = (size_t)snprintf(line, sizeof(line), "%04o %-6s", mode, users[u].name);
			for (int i = 0; i < NROPS; i++) {
				char cell[32];

				if (rres[i] == want[i])
					snprintf(cell, sizeof(cell), "%s", short_err(rres[i]));
				else
					snprintf(cell, sizeof(cell), "%s!%s", short_err(rres[i]),
						 short_err(want[i]));
				n += (size_t)snprintf(line + n, sizeof(line) - n, " %-12s", cell);
				if (rres[i] != want[i])
					bad++;
			}
			fprintf(stderr, "%s\n", line);

			/* whatever the child did: root's window is intact and writable */
			CHECKF(verify_pattern(w, SZ, SEED) == -1,
			       "mode %04o user %s: the region's bytes changed", mode, users[u].name);
			CHECKF(probe_write(w + GRANULE, (unsigned char)pattern_word(SEED, GRANULE / 8)) == 0,
			       "mode %04o user %s: root's window is no longer writable",
			       mode, users[u].name);
			CHECK(probe_read(w + SZ - 1) == 0);
			CHECK(munmap(w, SZ) == 0);
			close(fd);
			if (rres[R_UNLINK] != 0)
				CHECK(unlink(path) == 0);
		}
	}
	munmap(rres, NROPS * sizeof(int));
	return bad;
}

/* ======================= 2. directories ======================= */

static const struct dspec {
	const char *name;	/* "." is the mount root itself */
	int owner;
	mode_t mode;
} dirs[] = {
	{ ".",     U_ROOT,  01777 },
	{ "r1777", U_ROOT,  01777 },
	{ "r0755", U_ROOT,  0755 },
	{ "a1777", U_OWNER, 01777 },
	{ "a1770", U_OWNER, 01770 },
	{ "a0777", U_OWNER, 0777 },
	{ "a0775", U_OWNER, 0775 },
	{ "a2775", U_OWNER, 02775 },
	{ "a0770", U_OWNER, 0770 },
	{ "a0755", U_OWNER, 0755 },
	{ "a0733", U_OWNER, 0733 },
	{ "a0555", U_OWNER, 0555 },
	{ "a0700", U_OWNER, 0700 },
};
#define NDIRS	(sizeof(dirs) / sizeof(dirs[0]))

enum {
	D_CREATE, D_MKDIR, D_LIST, D_STAT, D_OPENRW,
	D_CREAT_A, D_CREAT_C, D_CREAT_R,
	D_UNLINK_A, D_UNLINK_B, D_UNLINK_C, D_UNLINK_R,
	D_RMDIR_A, D_RMDIR_C, D_RMDIR_R,
	D_MV_A, D_MV_B, D_MV_C, D_MV_R,
	D_OVER_A, D_OVER_C, D_OVER_R, D_XCHG_A, D_NOREPL_A,
	D_OUT, D_IN, D_MVDIR_A,
	NDOPS
};

static const char *const dop_names[NDOPS] = {
	[D_CREATE] = "create", [D_MKDIR] = "mkdir", [D_LIST] = "list",
	[D_STAT] = "stat.fA", [D_OPENRW] = "rw.fA",
	[D_CREAT_A] = "creat.fA", [D_CREAT_C] = "creat.fC", [D_CREAT_R] = "creat.fR",
	[D_UNLINK_A] = "rm.uA", [D_UNLINK_B] = "rm.uB", [D_UNLINK_C] = "rm.uC",
	[D_UNLINK_R] = "rm.uR",
	[D_RMDIR_A] = "rmdir.eA", [D_RMDIR_C] = "rmdir.eC", [D_RMDIR_R] = "rmdir.eR",
	[D_MV_A] = "mv.mA", [D_MV_B] = "mv.mB", [D_MV_C] = "mv.mC", [D_MV_R] = "mv.mR",
	[D_OVER_A] = "over.tA", [D_OVER_C] = "over.tC", [D_OVER_R] = "over.tR",
	[D_XCHG_A] = "xchg.xA", [D_NOREPL_A] = "norepl.xA",
	[D_OUT] = "move-out", [D_IN] = "move-in", [D_MVDIR_A] = "mv.eA2",
};

#define CELL	28
static char (*dres)[CELL];	/* shared with the children: NDOPS cells */

/* One scenario: the base directory of the filesystem, the directory, the user. */
struct dctx {
	const char *base;
	const char *dir;	/* base "/" name, or base */
	int u;
};

static const char *dp(const struct dctx *c, const char *name)
{
	static char buf[8][PATH_MAX];
	static int n;
	char *b = buf[n++ & 7];

	snprintf(b, PATH_MAX, "%s/%s", c->dir, name);
	return b;
}

/* base "/" prefix "." tag, e.g. "in.A" */
static const char *bp(const struct dctx *c, const char *prefix, char tag)
{
	static char buf[4][PATH_MAX];
	static int n;
	char *b = buf[n++ & 3];

	snprintf(b, PATH_MAX, "%s/%s.%c", c->base, prefix, tag);
	return b;
}

static void put(int op, int r)
{
	snprintf(dres[op], CELL, "%s", r == -1 ? live_errname(errno) : "ok");
}

/* a created object: "ok uid:gid mode" */
static void put_created(int op, int r, const char *path)
{
	struct stat st;

	if (r == -1) {
		put(op, r);
		return;
	}
	if (stat(path, &st) != 0) {
		snprintf(dres[op], CELL, "ok stat:%s", live_errname(errno));
		return;
	}
	snprintf(dres[op], CELL, "ok %d:%d %04o", (int)st.st_uid, (int)st.st_gid,
		 st.st_mode & 07777);
}

static int close_r(int fd)
{
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

static int dir_child(void *arg)
{
	const struct dctx *c = arg;
	char tag = users[c->u].tag;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r;

	umask(022);
	for (int i = 0; i < NDOPS; i++)
		snprintf(dres[i], CELL, "-");

	r = open(dp(c, "n"), O_RDWR | O_CREAT | O_EXCL, 0666);
	put_created(D_CREATE, close_r(r), dp(c, "n"));
	put_created(D_MKDIR, mkdir(dp(c, "nd"), 0777), dp(c, "nd"));
	d = opendir(c->dir);
	if (d) {
		while ((de = readdir(d)))
			;
		closedir(d);
	}
	put(D_LIST, d ? 0 : -1);
	put(D_STAT, stat(dp(c, "fA"), &st));
	put(D_OPENRW, close_r(open(dp(c, "fA"), O_RDWR)));
	put(D_CREAT_A, close_r(open(dp(c, "fA"), O_RDWR | O_CREAT, 0666)));
	put(D_CREAT_C, close_r(open(dp(c, "fC"), O_RDWR | O_CREAT, 0666)));
	put(D_CREAT_R, close_r(open(dp(c, "fR"), O_RDWR | O_CREAT, 0666)));
	put(D_UNLINK_A, unlink(dp(c, "uA")));
	put(D_UNLINK_B, unlink(dp(c, "uB")));
	put(D_UNLINK_C, unlink(dp(c, "uC")));
	put(D_UNLINK_R, unlink(dp(c, "uR")));
	put(D_RMDIR_A, rmdir(dp(c, "eA")));
	put(D_RMDIR_C, rmdir(dp(c, "eC")));
	put(D_RMDIR_R, rmdir(dp(c, "eR")));
	put(D_MV_A, rename(dp(c, "mA"), dp(c, "mA.new")));
	put(D_MV_B, rename(dp(c, "mB"), dp(c, "mB.new")));
	put(D_MV_C, rename(dp(c, "mC"), dp(c, "mC.new")));
	put(D_MV_R, rename(dp(c, "mR"), dp(c, "mR.new")));
	/* the user's own file over another user's */
	put(D_OVER_A, rename(dp(c, "own1"), dp(c, "tA")));
	put(D_OVER_C, rename(dp(c, "own2"), dp(c, "tC")));
	put(D_OVER_R, rename(dp(c, "own3"), dp(c, "tR")));
	put(D_XCHG_A, renameat2(AT_FDCWD, dp(c, "own4"), AT_FDCWD, dp(c, "xA"),
				RENAME_EXCHANGE));
	put(D_NOREPL_A, renameat2(AT_FDCWD, dp(c, "own6"), AT_FDCWD, dp(c, "xA"),
				  RENAME_NOREPLACE));
	/* between this directory and the base (the same one for ".") */
	put(D_OUT, rename(dp(c, "own5"), bp(c, "out", tag)));
	put(D_IN, rename(bp(c, "in", tag), dp(c, "in")));
	/* a directory of the owner's, renamed in place (its ".." stays) */
	put(D_MVDIR_A, rename(dp(c, "eA2"), dp(c, "eA2.new")));
	return 0;
}

static void xcreate(const char *path, int owner, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, mode);

	CHECKF(fd >= 0, "create %s", path);
	CHECK(fchown(fd, users[owner].uid, users[owner].gid) == 0);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void xmkdir(const char *path, int owner, mode_t mode)
{
	CHECKF(mkdir(path, 0700) == 0, "mkdir %s", path);
	CHECK(chown(path, users[owner].uid, users[owner].gid) == 0);
	CHECK(chmod(path, mode) == 0);
}

static void rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		CHECKF(unlink(path) == 0, "unlink %s", path);
		return;
	}
	d = opendir(path);
	CHECK(d != NULL);
	while ((de = readdir(d))) {
		char p[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		rm_tree(p);
	}
	closedir(d);
	CHECKF(rmdir(path) == 0, "rmdir %s", path);
}

static const char *const victim_names[] = {
	"n", "nd", "fA", "fC", "fR", "uA", "uB", "uC", "uR", "eA", "eC", "eR",
	"mA", "mB", "mC", "mR", "mA.new", "mB.new", "mC.new", "mR.new",
	"tA", "tC", "tR", "xA", "own1", "own2", "own3", "own4", "own5", "own6",
	"in", "eA2", "eA2.new",
};

/* Empty the scenario: the directory, or our names in the base. */
static void dir_clean(const struct dctx *c)
{
	if (c->dir != c->base) {
		rm_tree(c->dir);
	} else {
		for (size_t i = 0; i < sizeof(victim_names) / sizeof(victim_names[0]); i++)
			rm_tree(dp(c, victim_names[i]));
	}
	for (int u = 0; u < NUSERS; u++) {
		rm_tree(bp(c, "in", users[u].tag));
		rm_tree(bp(c, "out", users[u].tag));
	}
}

static void dir_setup(const struct dctx *c, const struct dspec *ds)
{
	static const int owners[] = { U_OWNER, U_GROUP, U_OTHER, U_ROOT };
	char name[16];

	dir_clean(c);
	if (c->dir != c->base)
		xmkdir(c->dir, ds->owner, ds->mode);
	for (int i = 0; i < 4; i++) {
		int o = owners[i];
		char t = users[o].tag;

		snprintf(name, sizeof(name), "u%c", t);
		xcreate(dp(c, name), o, 0644);
		snprintf(name, sizeof(name), "m%c", t);
		xcreate(dp(c, name), o, 0644);
		snprintf(name, sizeof(name), "e%c", t);
		if (o != U_GROUP)
			xmkdir(dp(c, name), o, 0755);
		if (o == U_GROUP)
			continue;
		snprintf(name, sizeof(name), "f%c", t);
		xcreate(dp(c, name), o, 0666);
		snprintf(name, sizeof(name), "t%c", t);
		xcreate(dp(c, name), o, 0644);
	}
	xcreate(dp(c, "xA"), U_OWNER, 0644);
	xmkdir(dp(c, "eA2"), U_OWNER, 0755);
	for (int i = 1; i <= 6; i++) {
		snprintf(name, sizeof(name), "own%d", i);
		xcreate(dp(c, name), c->u, 0644);
	}
	xcreate(bp(c, "in", users[c->u].tag), c->u, 0644);
}

struct fsrun {
	const char *name;
	const char *base;
	char (*cells)[NUSERS][NDOPS][CELL];	/* [NDIRS] */
};

static void dir_matrix_run(struct fsrun *fs)
{
	for (size_t d = 0; d < NDIRS; d++) {
		bool root = !strcmp(dirs[d].name, ".");
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/%s", fs->base, dirs[d].name);
		for (int u = 0; u < NUSERS; u++) {
			struct dctx c = {
				.base = fs->base, .dir = root ? fs->base : dir, .u = u,
			};
			int st;

			dir_setup(&c, &dirs[d]);
			st = run_as(u, dir_child, &c);
			CHECKF(st == 0, "%s %s %s: child status %d", fs->name,
			       dirs[d].name, users[u].name, st);
			memcpy(fs->cells[d][u], dres, sizeof(fs->cells[d][u]));
			dir_clean(&c);
		}
	}
}

static const char *cell_of(struct fsrun *fs, const char *dir, int u, int op)
{
	for (size_t d = 0; d < NDIRS; d++)
		if (!strcmp(dirs[d].name, dir))
			return fs->cells[d][u][op];
	CHECKF(0, "no directory %s", dir);
	return NULL;
}

#define KNOWN(fs, dir, u, op, want) do {					\
	const char *_got = cell_of(fs, dir, u, op);				\
	CHECKF(!strcmp(_got, want), "%s: %s %s %s: got %s, want %s",		\
	       (fs)->name, dir, users[u].name, dop_names[op], _got, want);	\
} while (0)

static int dir_matrix(int protected_regular)
{
	struct fsrun ms = { "msharefs", MNT, NULL };
	struct fsrun tf = { "tmpfs", TMPFS_DIR, NULL };
	char line[2048];
	int diffs = 0;
	size_t n;

	ms.cells = calloc(NDIRS, sizeof(*ms.cells));
	tf.cells = calloc(NDIRS, sizeof(*tf.cells));
	CHECK(ms.cells && tf.cells);
	dir_matrix_run(&ms);
	dir_matrix_run(&tf);

	fprintf(stderr, "\n== directories, fs.protected_regular=%d: msharefs "
		"('|tmpfs' where tmpfs differs) ==\n", protected_regular);
	fprintf(stderr, "victims: fX uX mX tX eX owned by A=owner B=group C=other "
		"R=root; ownN, in.U owned by the user; xA owned by A\n");
	n = (size_t)snprintf(line, sizeof(line), "%-12s", "dir user");
	for (int i = 0; i < NDOPS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %-10s", dop_names[i]);
	fprintf(stderr, "%s\n", line);
	for (size_t d = 0; d < NDIRS; d++) {
		for (int u = 0; u < NUSERS; u++) {
			n = (size_t)snprintf(line, sizeof(line), "%-5s %-6s", dirs[d].name,
					     users[u].name);
			for (int i = 0; i < NDOPS; i++) {
				const char *a = ms.cells[d][u][i], *b = tf.cells[d][u][i];
				char cell[64];

				if (strcmp(a, b)) {
					snprintf(cell, sizeof(cell), "%s|%s", a, b);
					diffs++;
				} else {
					snprintf(cell, sizeof(cell), "%s", a);
				}
				n += (size_t)snprintf(line + n, sizeof(line) - n, " %-10s", cell);
			}
			fprintf(stderr, "%s\n", line);
		}
	}

	/* the comparison is not vacuous: cells with known values */
	KNOWN(&ms, ".", U_OTHER, D_UNLINK_A, "EPERM");
	KNOWN(&ms, ".", U_OTHER, D_UNLINK_C, "ok");
	KNOWN(&ms, ".", U_OWNER, D_UNLINK_A, "ok");
	KNOWN(&ms, ".", U_ROOT, D_UNLINK_C, "ok");
	KNOWN(&ms, ".", U_OTHER, D_MV_A, "EPERM");
	KNOWN(&ms, ".", U_OTHER, D_OVER_A, "EPERM");
	KNOWN(&ms, "r1777", U_GROUP, D_RMDIR_A, "EPERM");
	KNOWN(&ms, "a1777", U_OWNER, D_UNLINK_C, "ok");	/* the directory's owner */
	KNOWN(&ms, "a0777", U_OTHER, D_UNLINK_A, "ok");
	KNOWN(&ms, "a0755", U_OTHER, D_CREATE, "EACCES");
	KNOWN(&ms, "a0755", U_OTHER, D_UNLINK_C, "EACCES");
	KNOWN(&ms, "a0755", U_OWNER, D_CREATE, "ok 2001:2001 0644");
	KNOWN(&ms, "a0775", U_GROUP, D_CREATE, "ok 2002:2002 0644");
	KNOWN(&ms, "a0775", U_OTHER, D_MKDIR, "EACCES");
	KNOWN(&ms, "a2775", U_GROUP, D_CREATE, "ok 2002:2001 0644");
	KNOWN(&ms, "a2775", U_GROUP, D_MKDIR, "ok 2002:2001 2755");
	KNOWN(&ms, "a0700", U_OTHER, D_STAT, "EACCES");
	KNOWN(&ms, "a0733", U_OTHER, D_LIST, "EACCES");
	KNOWN(&ms, "a0733", U_OTHER, D_CREATE, "ok 2003:2003 0644");
	KNOWN(&ms, "a0555", U_OWNER, D_CREATE, "EACCES");
	KNOWN(&ms, "a0555", U_ROOT, D_CREATE, "ok 0:0 0644");
	if (protected_regular == 2) {
		/* O_CREAT of another user's file in a sticky world/group-writable dir */
		KNOWN(&ms, ".", U_OTHER, D_CREAT_A, "EACCES");
		KNOWN(&ms, "a1770", U_GROUP, D_CREAT_C, "EACCES");
	} else {
		KNOWN(&ms, ".", U_OTHER, D_CREAT_A, "ok");
	}

	free(ms.cells);
	free(tf.cells);
	return diffs;
}

static char saved_pr[16];

static void restore(void)
{
	if (saved_pr[0])
		proc_write("/proc/sys/fs/protected_regular", saved_pr);
	umount2(TMPFS_DIR, MNT_DETACH);
	rmdir(TMPFS_DIR);
}

int main(void)
{
	const char *pr;
	int bad, diffs;

	live_init("live-perms");
	umask(0);
	live_atexit(restore);
	pr = proc_read("/proc/sys/fs/protected_regular");
	CHECK(pr != NULL);
	snprintf(saved_pr, sizeof(saved_pr), "%s", pr);
	CHECK(proc_write("/proc/sys/fs/protected_regular", "0") == 0);

	bad = region_matrix();

	dres = shared_mem(NDOPS * CELL);
	CHECK(mkdir(TMPFS_DIR, 0755) == 0 || errno == EEXIST);
	CHECKF(mount("tmpfs", TMPFS_DIR, "tmpfs", 0, "mode=1777,uid=0,gid=0,size=8m") == 0,
	       "mount tmpfs on %s", TMPFS_DIR);
	diffs = dir_matrix(0);
	CHECK(proc_write("/proc/sys/fs/protected_regular", "2") == 0);
	diffs += dir_matrix(2);
	CHECK(proc_write("/proc/sys/fs/protected_regular", saved_pr) == 0);

	fprintf(stderr, "\nregion matrix: %d cell(s) differ from the mode bits / contract; "
		"directory matrices: %d cell(s) differ between msharefs and tmpfs\n",
		bad, diffs);
	CHECKF(bad == 0, "%d region cell(s) wrong (see the matrix: got!want)", bad);
	CHECKF(diffs == 0, "%d directory cell(s) differ from tmpfs (msharefs|tmpfs)", diffs);
	CHECK(umount(TMPFS_DIR) == 0);
	CHECK(rmdir(TMPFS_DIR) == 0);
	live_done();
}

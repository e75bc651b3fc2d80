// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-mountopts: the tmpfs-like mount options, on a second msharefs
 * instance mounted at a /tmp directory.
 * - defaults: root 1777 root:root, no option in /proc/mounts, statfs
 *   f_blocks = all RAM, f_files = f_ffree = 0.
 * - mode=, uid=, gid= set the root directory (and so who may create).
 * - size= (bytes with k/m/g suffixes, or % of RAM) and nr_regions= show in
 *   /proc/mounts and in statfs exactly; the N+1th region is ENOSPC (an
 *   unlinked region still open counts, directories never do); ftruncate
 *   and fallocate above size= are ENOSPC; a fault beyond size= kills the
 *   faulting child with SIGBUS, nobody is OOM-killed, and once pages are
 *   freed the same fault works.
 * - remount changes size= and nr_regions=, not below what is in use
 *   (EINVAL), and ignores mode=, uid=, gid=.
 * - bad values and unknown options: EINVAL, nothing mounted.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <mntent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define RW (PROT_READ | PROT_WRITE)

static long pages(unsigned long bytes)
{
	return (long)(bytes / (unsigned long)page_size());
}

/* totalram_pages() of the kernel: sysinfo scales it to bytes on 64-bit. */
static unsigned long ram_pages(void)
{
	struct sysinfo si;

	CHECK(sysinfo(&si) == 0);
	return (unsigned long)si.totalram * si.mem_unit /
	       (unsigned long)page_size();
}

static bool is_mounted(void)
{
	struct statfs sf;

	return statfs(m2, &sf) == 0 && sf.f_type == MSHAREFS_MAGIC;
}

static void do_mount(const char *opts)
{
	CHECKF(mount("none", m2, MSHAREFS_FSTYPE, 0, opts) == 0,
	       "mount -o %s", opts ? opts : "(none)");
	m2_mounted = true;
	CHECK(is_mounted());
}

static void do_umount(void)
{
	CHECK(umount(m2) == 0);
	m2_mounted = false;
	CHECK(!is_mounted());
}

static int remount(const char *opts)
{
	return mount("none", m2, NULL, MS_REMOUNT, opts);
}

/* The options of m2 in /proc/self/mounts. */
static const char *mount_opts(void)
{
	static char opts[512];
	struct mntent *me;
	FILE *f;

	opts[0] = 0;
	CHECK((f = setmntent("/proc/self/mounts", "r")) != NULL);
	while ((me = getmntent(f)))
		if (!strcmp(me->mnt_dir, m2) &&
		    !strcmp(me->mnt_type, MSHAREFS_FSTYPE))
			snprintf(opts, sizeof(opts), "%s", me->mnt_opts);
	endmntent(f);
	CHECKF(opts[0], "no msharefs line for %s in /proc/self/mounts", m2);
	return opts;
}

/* The value of option key in /proc/self/mounts, or NULL. */
static const char *opt_value(const char *key)
{
	static char val[64];
	char buf[512], *tok, *save;
	size_t kl = strlen(key);

	snprintf(buf, sizeof(buf), "%s", mount_opts());
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, key, kl) && tok[kl] == '=') {
			snprintf(val, sizeof(val), "%s", tok + kl + 1);
			return val;
		}
	}
	return NULL;
}

static void expect_opt(const char *key, const char *want)
{
	const char *v = opt_value(key);

	if (!want)
		CHECKF(!v, "%s=%s shown in '%s'", key, v, mount_opts());
	else
		CHECKF(v && !strcmp(v, want), "%s=%s expected in '%s'", key,
		       want, mount_opts());
}

/* size=N[kmgtpe] of /proc/mounts, in bytes. */
static unsigned long shown_size(void)
{
	const char *v = opt_value("size");
	unsigned long n;
	char *end;

	CHECKF(v, "no size= in '%s'", mount_opts());
	n = strtoul(v, &end, 10);
	switch (*end) {
	case 'e': n <<= 10; /* fall through */
	case 'p': n <<= 10; /* fall through */
	case 't': n <<= 10; /* fall through */
	case 'g': n <<= 10; /* fall through */
	case 'm': n <<= 10; /* fall through */
	case 'k': n <<= 10; end++; break;
	default: break;
	}
	CHECKF(*end == 0, "size=%s", v);
	return n;
}

/* statfs of m2 must be exactly these (files -1: unlimited, i.e. 0/0). */
static void expect_statfs(long blocks, long used, long files, long regions)
{
	struct statfs sf;

	CHECK(statfs(m2, &sf) == 0);
	CHECKF(sf.f_type == MSHAREFS_MAGIC, "f_type %#lx", (long)sf.f_type);
	CHECKF(sf.f_bsize == page_size(), "f_bsize %ld", (long)sf.f_bsize);
	CHECKF(sf.f_namelen == 255, "f_namelen %ld", (long)sf.f_namelen);
	CHECKF((long)sf.f_blocks == blocks, "f_blocks %ld, want %ld",
	       (long)sf.f_blocks, blocks);
	CHECKF((long)sf.f_bfree == blocks - used, "f_bfree %ld, want %ld",
	       (long)sf.f_bfree, blocks - used);
	CHECKF(sf.f_bavail == sf.f_bfree, "f_bavail %ld", (long)sf.f_bavail);
	if (files < 0) {
		CHECKF(sf.f_files == 0 && sf.f_ffree == 0,
		       "unlimited: f_files %ld f_ffree %ld",
		       (long)sf.f_files, (long)sf.f_ffree);
	} else {
		CHECKF((long)sf.f_files == files, "f_files %ld, want %ld",
		       (long)sf.f_files, files);
		CHECKF((long)sf.f_ffree == files - regions,
		       "f_ffree %ld, want %ld", (long)sf.f_ffree,
		       files - regions);
	}
}

static int create2(const char *name)
{
	return open(p2(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* ---- bad options ---- */

static void bad_options(void)
{
	static const char *const bad[] = {
		"size=abc", "size=", "size", "size=10x", "size=1k1", "size=-1",
		"size=k", "size=1%%", "size=99999999999999999999",
		"size=16e", "size=1e%",
		"nr_regions=-1", "nr_regions=abc", "nr_regions=1.5",
		"nr_regions=5%", "nr_regions=",
		"mode=999", "mode=10000", "mode=abc", "mode=",
		"uid=4294967295", "gid=4294967295", "uid=-1", "gid=x",
		"unknown=1", "unknown", "size=1m,bogus",
		"huge=advise", "huge=deny", "huge=force", "huge=Always", "huge=",
		"huge", "huge=1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECKF(mount("none", m2, MSHAREFS_FSTYPE, 0, bad[i]) == -1 &&
		       errno == EINVAL, "mount -o %s: expected EINVAL", bad[i]);
		CHECKF(!is_mounted(), "mount -o %s mounted", bad[i]);
	}
}

/* ---- defaults, mode=, uid=, gid= ---- */

static int try_create(void *arg)
{
	int fd = open(p2(arg), O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return errno == EACCES ? 2 : 1;
	close(fd);
	return 0;
}

static void root_options(void)
{
	struct stat st;

	/* defaults */
	do_mount(NULL);
	CHECK(stat(m2, &st) == 0);
	CHECKF(st.st_mode == (S_IFDIR | 01777), "root mode %o", st.st_mode);
	CHECK(st.st_uid == 0 && st.st_gid == 0);
	expect_opt("size", NULL);
	expect_opt("nr_regions", NULL);
	expect_opt("mode", NULL);
	expect_opt("uid", NULL);
	expect_opt("gid", NULL);
	expect_statfs((long)ram_pages(), 0, -1, 0);
	do_umount();

	/* explicit defaults show nothing either */
	do_mount("mode=1777,uid=0,gid=0,size=0,nr_regions=0");
	CHECK(stat(m2, &st) == 0);
	CHECKF(st.st_mode == (S_IFDIR | 01777), "root mode %o", st.st_mode);
	CHECKF(!strstr(mount_opts(), "="), "options '%s'", mount_opts());
	do_umount();

	/* the root directory's owner and mode */
	do_mount("mode=0750,uid=1234,gid=5678");
	CHECK(stat(m2, &st) == 0);
	CHECKF(st.st_mode == (S_IFDIR | 0750), "root mode %o", st.st_mode);
	CHECKF(st.st_uid == 1234 && st.st_gid == 5678, "root %u:%u",
	       st.st_uid, st.st_gid);
	expect_opt("mode", "750");
	expect_opt("uid", "1234");
	expect_opt("gid", "5678");
	expect_opt("size", NULL);
	CHECK(run_child_as(1234, 1, try_create, "byowner") == 0);
	CHECK(run_child_as(4321, 5678, try_create, "bygroup") == 2);
	CHECK(run_child_as(4321, 4321, try_create, "byother") == 2);
	CHECK(stat(p2("byowner"), &st) == 0 && st.st_uid == 1234);
	CHECK(access(p2("bygroup"), F_OK) != 0);

	/* remount ignores mode=, uid=, gid= (but still checks them) */
	CHECK(remount("mode=0700,uid=1,gid=2") == 0);
	CHECK(stat(m2, &st) == 0);
	CHECKF(st.st_mode == (S_IFDIR | 0750), "root mode %o", st.st_mode);
	CHECK(st.st_uid == 1234 && st.st_gid == 5678);
	expect_opt("mode", "750");
	expect_opt("uid", "1234");
	EXPECT_ERRNO(remount("uid=4294967295"), EINVAL);
	EXPECT_ERRNO(remount("mode=99"), EINVAL);
	EXPECT_ERRNO(remount("unknown=1"), EINVAL);
	CHECK(unlink(p2("byowner")) == 0);
	do_umount();

	/* sticky and setgid bits */
	do_mount("mode=3770");
	CHECK(stat(m2, &st) == 0);
	CHECKF(st.st_mode == (S_IFDIR | 03770), "root mode %o", st.st_mode);
	expect_opt("mode", "3770");
	do_umount();
}

/* ---- size= spellings ---- */

static void size_spellings(void)
{
	static const struct {
		const char *opt, *shown;
		unsigned long bytes;
	} sz[] = {
		{ "size=1", "4k", 4096 },
		{ "size=4096", "4k", 4096 },
		{ "size=4097", "8k", 8192 },
		{ "size=1024k", "1m", MIB },
		{ "size=6M", "6m", 6 * MIB },
		{ "size=3072m", "3g", 3072 * MIB },
		{ "size=1G", "1g", 1024 * MIB },
		{ "size=2t", "2t", 2UL << 40 },
		{ "size=1025K", "1028k", 1028 * 1024 },	/* whole pages */
		{ "size=5m,size=7m", "7m", 7 * MIB },	/* the last one wins */
	};
	unsigned long ram = ram_pages();
	int fd;

	for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		do_mount(sz[i].opt);
		expect_opt("size", sz[i].shown);
		expect_statfs(pages(sz[i].bytes), 0, -1, 0);
		do_umount();
	}

	/* a percentage of RAM */
	do_mount("size=50%");
	expect_statfs((long)(ram * 50 / 100), 0, -1, 0);
	CHECK(shown_size() == ram * 50 / 100 * (unsigned long)page_size());
	do_umount();
	do_mount("size=200%");
	expect_statfs((long)(ram * 2), 0, -1, 0);
	do_umount();

	/* size=1 is one page: no region can be sized */
	do_mount("size=1");
	fd = EXPECT_OK(create2("r"));
	EXPECT_ERRNO(ftruncate(fd, (off_t)GRANULE), ENOSPC);
	EXPECT_ERRNO(fallocate(fd, 0, 0, (off_t)GRANULE), ENOSPC);
	close(fd);
	CHECK(unlink(p2("r")) == 0);
	do_umount();
}

/* ---- the limits ---- */

static void limits(void)
{
	struct stat st;
	long pl = pages(8 * MIB);
	int fd1, fd2, fd3, fd4, fd5;
	char *w2;

	do_mount("size=8m,nr_regions=3");
	expect_opt("size", "8m");
	expect_opt("nr_regions", "3");
	expect_statfs(pl, 0, 3, 0);

	/* directories do not count */
	CHECK(mkdir(p2("d"), 0755) == 0);
	expect_statfs(pl, 0, 3, 0);

	fd1 = EXPECT_OK(create2("r1"));
	expect_statfs(pl, 0, 3, 1);
	fd2 = EXPECT_OK(create2("d/r2"));
	expect_statfs(pl, 0, 3, 2);
	fd3 = EXPECT_OK(create2("r3"));
	expect_statfs(pl, 0, 3, 3);
	EXPECT_ERRNO(create2("r4"), ENOSPC);
	EXPECT_ERRNO(create2("d/r4"), ENOSPC);
	CHECK(access(p2("r4"), F_OK) != 0);
	CHECK(mkdir(p2("d2"), 0755) == 0);	/* still fine */
	CHECK(rmdir(p2("d2")) == 0);
	/* opening an existing region is not creating one */
	close(EXPECT_OK(open(p2("r1"), O_RDWR | O_CREAT, 0600)));
	expect_statfs(pl, 0, 3, 3);

	/* size=: sizes above it are ENOSPC, up to it fine */
	EXPECT_ERRNO(ftruncate(fd1, (off_t)(10 * MIB)), ENOSPC);
	EXPECT_ERRNO(fallocate(fd2, 0, 0, (off_t)(10 * MIB)), ENOSPC);
	EXPECT_ERRNO(ftruncate(fd1, (off_t)(9 * MIB)), EINVAL);	/* unaligned */
	CHECK(fstat(fd1, &st) == 0 && st.st_size == 0);
	CHECK(ftruncate(fd1, (off_t)(8 * MIB)) == 0);
	CHECK(fallocate(fd2, 0, 0, (off_t)(4 * MIB)) == 0);
	CHECK(fstat(fd2, &st) == 0 && st.st_size == (off_t)(4 * MIB));

	/* pages in statfs */
	w2 = raw_attach(fd2, 4 * MIB, RW);
	touch_pages(w2, 4 * MIB, 1);
	expect_statfs(pl, pages(4 * MIB), 3, 3);

	/* an unlinked region counts while it is open */
	CHECK(unlink(p2("r3")) == 0);
	EXPECT_ERRNO(create2("r4"), ENOSPC);
	close(fd3);
	expect_statfs(pl, pages(4 * MIB), 3, 2);
	fd4 = EXPECT_OK(create2("r4"));
	expect_statfs(pl, pages(4 * MIB), 3, 3);
	EXPECT_ERRNO(create2("r5"), ENOSPC);

	/* remount below what is in use: EINVAL, nothing changed */
	EXPECT_ERRNO(remount("nr_regions=2"), EINVAL);
	EXPECT_ERRNO(remount("size=2m"), EINVAL);
	EXPECT_ERRNO(remount("size=16m,nr_regions=2"), EINVAL);
	EXPECT_ERRNO(remount("nr_regions=5,size=4088k"), EINVAL);
	expect_opt("size", "8m");
	expect_opt("nr_regions", "3");
	expect_statfs(pl, pages(4 * MIB), 3, 3);
	EXPECT_ERRNO(create2("r5"), ENOSPC);

	/* remount up */
	CHECK(remount("size=16m,nr_regions=5") == 0);
	expect_opt("size", "16m");
	expect_opt("nr_regions", "5");
	expect_statfs(pages(16 * MIB), pages(4 * MIB), 5, 3);
	fd5 = EXPECT_OK(create2("r5"));
	EXPECT_ERRNO(ftruncate(fd5, (off_t)(18 * MIB)), ENOSPC);
	CHECK(ftruncate(fd5, (off_t)(16 * MIB)) == 0);
	expect_statfs(pages(16 * MIB), pages(4 * MIB), 5, 4);

	/* remount exactly to what is in use; options not given stay */
	CHECK(remount("size=4m") == 0);
	expect_opt("size", "4m");
	expect_opt("nr_regions", "5");
	expect_statfs(pages(4 * MIB), pages(4 * MIB), 5, 4);
	CHECK(remount("nr_regions=4") == 0);
	expect_statfs(pages(4 * MIB), pages(4 * MIB), 4, 4);
	EXPECT_ERRNO(create2("r6"), ENOSPC);
	/* a region already sized above the new size= keeps its size */
	CHECK(fstat(fd5, &st) == 0 && st.st_size == (off_t)(16 * MIB));

	/* no limits, then limits again (usage was tracked all along) */
	CHECK(remount("size=0,nr_regions=0") == 0);
	expect_opt("size", NULL);
	expect_opt("nr_regions", NULL);
	expect_statfs((long)ram_pages(), pages(4 * MIB), -1, 0);
	close(EXPECT_OK(create2("r6")));
	CHECK(remount("nr_regions=5,size=20m") == 0);
	expect_statfs(pages(20 * MIB), pages(4 * MIB), 5, 5);
	EXPECT_ERRNO(create2("r7"), ENOSPC);
	EXPECT_ERRNO(remount("nr_regions=4"), EINVAL);
	CHECK(remount("") == 0);			/* nothing changes */
	CHECK(remount(NULL) == 0);
	expect_opt("size", "20m");
	expect_opt("nr_regions", "5");

	/* the mount goes away with its regions and limits */
	CHECK(munmap(w2, 4 * MIB) == 0);
	close(fd1);
	close(fd2);
	close(fd4);
	close(fd5);
	/* the regions still exist, and so do their pages */
	expect_statfs(pages(20 * MIB), pages(4 * MIB), 5, 5);
	do_umount();
	do_mount(NULL);
	expect_statfs((long)ram_pages(), 0, -1, 0);
	do_umount();
}

/* ---- a fault beyond size= ---- */

static char *fault_at;

static int touch_child(void *arg)
{
	(void)arg;
	*(volatile char *)fault_at = 1;	/* SIGBUS kills us here */
	return 0;
}

static int probe_child(void *arg)
{
	(void)arg;
	return probe_write(fault_at, 1);
}

static long oom_kills(void)
{
	char buf[8192], *p;
	FILE *f = fopen("/proc/vmstat", "r");
	size_t n;

	CHECK(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strstr(buf, "\noom_kill ");
	CHECK(p != NULL);
	return strtol(p + 10, NULL, 10);
}

static void fault_limit(void)
{
	long ooms = oom_kills();
	int fda, fdb;
	char *wa, *wb;
	int st;

	/* 3 granules allowed: a holds 2, b (3 granules) gets the third */
	do_mount("size=6m");
	fda = EXPECT_OK(create2("a"));
	CHECK(ftruncate(fda, (off_t)(2 * GRANULE)) == 0);
	fdb = EXPECT_OK(create2("b"));
	CHECK(ftruncate(fdb, (off_t)(3 * GRANULE)) == 0);
	wa = raw_attach(fda, 2 * GRANULE, RW);
	wb = raw_attach(fdb, 3 * GRANULE, RW);
	touch_pages(wa, 2 * GRANULE, 1);
	touch_pages(wb, GRANULE, 2);
	expect_statfs(pages(6 * MIB), pages(6 * MIB), -1, 0);

	/* the second granule of b: SIGBUS in the child that touches it */
	fault_at = wb + GRANULE + 100;
	klog_mark("expect SIGBUS beyond size=");
	st = run_child(touch_child, NULL);
	CHECKF(st == 128 + SIGBUS, "child status %d, want SIGBUS", st);
	st = run_child(probe_child, NULL);
	CHECKF(st == SIGBUS, "probe in child: %d, want SIGBUS", st);
	CHECKF(probe_write(fault_at, 3) == SIGBUS, "probe in the parent");
	CHECKF(probe_read(wb + 3 * GRANULE - 1) == SIGBUS, "read probe");
	expect_statfs(pages(6 * MIB), pages(6 * MIB), -1, 0);
	/* what was there still works */
	CHECK(probe_write(wb + 4096, 4) == 0);
	CHECK(probe_write(wa + GRANULE, 5) == 0);
	CHECK(wb[4096] == 4 && wa[GRANULE] == 5 && wb[0] == 2 && wa[0] == 1);

	/* remount bigger: the same fault works, the next one does not */
	CHECK(remount("size=8m") == 0);
	st = run_child(touch_child, NULL);
	CHECKF(st == 0, "child status %d after remount", st);
	CHECK(wb[GRANULE + 100] == 1);
	CHECK(verify_zero(wb + GRANULE + 101, GRANULE - 101) == -1);
	expect_statfs(pages(8 * MIB), pages(8 * MIB), -1, 0);
	fault_at = wb + 2 * GRANULE;
	st = run_child(touch_child, NULL);
	CHECKF(st == 128 + SIGBUS, "child status %d, want SIGBUS", st);

	/* or free a: then it works, in a child and here */
	CHECK(munmap(wa, 2 * GRANULE) == 0);
	close(fda);
	CHECK(unlink(p2("a")) == 0);
	CHECK(wait_used_pages(m2, pages(4 * MIB)) == pages(4 * MIB));
	st = run_child(touch_child, NULL);
	CHECKF(st == 0, "child status %d after freeing", st);
	CHECK(probe_write(wb + 3 * GRANULE - 1, 6) == 0);
	CHECK(wb[2 * GRANULE] == 1 && wb[3 * GRANULE - 1] == 6);
	expect_statfs(pages(8 * MIB), pages(6 * MIB), -1, 0);

	CHECKF(oom_kills() == ooms, "OOM kills: %ld before, %ld after", ooms,
	       oom_kills());
	CHECK(munmap(wb, 3 * GRANULE) == 0);
	close(fdb);
	CHECK(unlink(p2("b")) == 0);
	CHECK(wait_used_pages(m2, 0) == 0);
	do_umount();
}

int main(void)
{
	live_init("live-mountopts");
	mount2_dir();

	bad_options();
	root_options();
	size_spellings();
	limits();
	fault_limit();
	bad_options();	/* nothing left mounted by a failed mount */

	CHECK(rmdir(m2) == 0);
	m2[0] = 0;
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-lib: the library API against the real module: mshare_granule(),
 * mshare_mount_point(), mcreate() names/flags/O_CLOEXEC, mattach() flags
 * (0, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE), mdetach() EINVAL
 * cases, mshare_unlink(), mshare_set_size/get_size, and LIBMSHARE_MOUNT
 * (a tmpfs directory: ENODEV; a second msharefs mount: used).
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define RW (PROT_READ | PROT_WRITE)

/* ---- re-exec'd modes, with LIBMSHARE_MOUNT set by the parent ---- */

static int mode_tmpfs(void)
{
	const char *mp;
	int fd;

	errno = 0;
	mp = mshare_mount_point();
	if (mp != NULL || errno != ENODEV) {
		fprintf(stderr, "mshare_mount_point() = %s, errno %d\n", mp ? mp : "NULL", errno);
		return 1;
	}
	fd = mcreate("x", O_RDWR | O_CREAT, 0600);
	if (fd != -1 || errno != ENODEV) {
		fprintf(stderr, "mcreate() = %d, errno %d\n", fd, errno);
		return 2;
	}
	if (mshare_unlink("x") != -1 || errno != ENODEV)
		return 3;
	return 0;
}

static int mode_msharefs(const char *dir)
{
	const char *mp = mshare_mount_point();
	size_t sz = 0;
	char *w;
	int fd;

	if (!mp || strcmp(mp, dir)) {
		fprintf(stderr, "mshare_mount_point() = %s, want %s\n", mp ? mp : "NULL", dir);
		return 1;
	}
	if (mshare_granule() != 2097152)
		return 2;
	fd = mcreate("over", O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 3;
	if (mshare_set_size(fd, SZ) || mshare_get_size(fd, &sz) || sz != SZ)
		return 4;
	w = mattach(fd, NULL, RW, 0);
	if (w == MAP_FAILED)
		return 5;
	fill_pattern(w, SZ, 3);
	if (mdetach(w))
		return 6;
	close(fd);
	return 0;
}

static int reexec(const char *mode, const char *env)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *argv[] = { self, (char *)mode, (char *)env, NULL };
	char out[4096];

	CHECK(n > 0);
	self[n] = 0;
	return run_prog(argv, out, sizeof(out));
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
	static const char *bad_names[] = {
		"", "/", "..", "../x", "x/..", "lib-d/../lib-a", "lib-d//r",
		"//lib-a", "lib-a/", ".././lib-a", "mshare_info", "/mshare_info",
	};
	struct stat st, st2;
	char *w, *w2, *res, *heap, stackbuf[16];
	size_t sz;
	int fd, fd2, rofd, ufd, st_child;

	if (argc == 3 && !strcmp(argv[1], "tmpfs")) {
		setenv(LIBMSHARE_MOUNT_ENV, argv[2], 1);
		execl("/proc/self/exe", argv[0], "tmpfs-run", argv[2], (char *)NULL);
		return 99;
	}
	if (argc == 3 && !strcmp(argv[1], "msharefs")) {
		setenv(LIBMSHARE_MOUNT_ENV, argv[2], 1);
		execl("/proc/self/exe", argv[0], "msharefs-run", argv[2], (char *)NULL);
		return 99;
	}
	if (argc == 3 && !strcmp(argv[1], "tmpfs-run"))
		return mode_tmpfs();
	if (argc == 3 && !strcmp(argv[1], "msharefs-run"))
		return mode_msharefs(argv[2]);

	live_init("live-lib");

	/* ---- granule and mount point ---- */
	CHECKF(mshare_granule() == 2097152, "mshare_granule() = %ld", mshare_granule());
	CHECK(mshare_mount_point() != NULL);
	CHECKF(!strcmp(mshare_mount_point(), MNT), "mshare_mount_point() = %s", mshare_mount_point());

	/* ---- mcreate ---- */
	fd = EXPECT_OK(mcreate("lib-a", O_RDWR | O_CREAT | O_EXCL, 0600));
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK(stat(mpath("lib-a"), &st) == 0 && S_ISREG(st.st_mode));
	EXPECT_ERRNO(mcreate("lib-a", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_ERRNO(mcreate("/lib-a", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	fd2 = EXPECT_OK(mcreate("/lib-a", O_RDWR, 0));
	CHECK(fstat(fd2, &st2) == 0 && st2.st_ino == st.st_ino);
	CHECK((fcntl(fd2, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd2);
	EXPECT_ERRNO(mcreate("lib-none", O_RDWR, 0), ENOENT);
	CHECK(mkdir(mpath("lib-d"), 0755) == 0);
	fd2 = EXPECT_OK(mcreate("lib-d/r", O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd2);
	CHECK(exists(mpath("lib-d/r")));
	fd2 = EXPECT_OK(mcreate("/lib-d/r", O_RDONLY, 0));
	close(fd2);
	EXPECT_ERRNO(mcreate("lib-nodir/r", O_RDWR | O_CREAT, 0600), ENOENT);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		errno = 0;
		fd2 = mcreate(bad_names[i], O_RDWR | O_CREAT, 0600);
		CHECKF(fd2 == -1 && errno == EINVAL, "mcreate(\"%s\") = %d, errno %s",
		       bad_names[i], fd2, live_errname(errno));
		errno = 0;
		CHECKF(mshare_unlink(bad_names[i]) == -1 && errno == EINVAL,
		       "mshare_unlink(\"%s\"), errno %s", bad_names[i], live_errname(errno));
	}
	CHECK(!exists(MNT "/x") && !exists(MNT "/lib-d/lib-a"));
	CHECK(exists(MNT "/mshare_info"));

	/* ---- sizes ---- */
	sz = 1;
	EXPECT_OK(mshare_get_size(fd, &sz));
	CHECK(sz == 0);
	EXPECT_ERRNO(mattach(fd, NULL, RW, 0), EINVAL);		/* unsized */
	EXPECT_ERRNO(mshare_set_size(fd, 1000), EINVAL);
	EXPECT_OK(mshare_set_size(fd, SZ));
	EXPECT_ERRNO(mshare_set_size(fd, SZ), EINVAL);
	EXPECT_OK(mshare_get_size(fd, &sz));
	CHECK(sz == SZ);

	/* ---- mattach ---- */
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED);
	CHECK(((uintptr_t)w & (GRANULE - 1)) == 0);
	CHECK(maps_has(w, SZ));
	fill_pattern(w, SZ, 1);
	res = reserve_aligned(SZ);
	w2 = mattach(fd, res, PROT_READ, MAP_FIXED);
	CHECK(w2 == res);
	CHECK(verify_pattern(w2, SZ, 1) == -1);
	EXPECT_ERRNO(mattach(fd, res, RW, MAP_FIXED_NOREPLACE), EEXIST);
	CHECK(verify_pattern(w2, SZ, 1) == -1);
	EXPECT_ERRNO(mattach(fd, res + 4096, RW, MAP_FIXED), EINVAL);
	EXPECT_ERRNO(mattach(fd, res + 4096, RW, MAP_FIXED_NOREPLACE), EINVAL);
	CHECK(mdetach(w2) == 0);
	w2 = mattach(fd, res, RW, MAP_FIXED_NOREPLACE);
	CHECK(w2 == res);
	CHECK(verify_pattern(w2, SZ, 1) == -1);
	CHECK(mdetach(w2) == 0);
	EXPECT_ERRNO(mattach(fd, NULL, RW, MAP_PRIVATE), EINVAL);
	EXPECT_ERRNO(mattach(fd, NULL, RW, MAP_ANONYMOUS), EINVAL);
	EXPECT_ERRNO(mattach(-1, NULL, RW, 0), EBADF);
	rofd = EXPECT_OK(mcreate("lib-a", O_RDONLY, 0));
	EXPECT_ERRNO(mattach(rofd, NULL, RW, 0), EACCES);
	w2 = mattach(rofd, NULL, PROT_READ, 0);
	CHECK(w2 != MAP_FAILED && verify_pattern(w2, SZ, 1) == -1);
	CHECK(probe_write(w2, 1) != 0);
	CHECK(mdetach(w2) == 0);
	close(rofd);

	/* MAP_POPULATE: every page resident right after attach */
	ufd = EXPECT_OK(mcreate("lib-pop", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(ufd, SZ));
	CHECK(fstat(ufd, &st) == 0 && st.st_blocks == 0);
	w2 = mattach(ufd, NULL, RW, MAP_POPULATE);
	CHECK(w2 != MAP_FAILED);
	CHECKF(fstat(ufd, &st) == 0 && st.st_blocks == (blkcnt_t)(SZ / 512),
	       "st_blocks %ld after MAP_POPULATE", (long)st.st_blocks);
	CHECK(verify_zero(w2, SZ) == -1);
	CHECK(mdetach(w2) == 0);
	close(ufd);
	CHECK(mshare_unlink("lib-pop") == 0);

	/* ---- mdetach ---- */
	EXPECT_ERRNO(mdetach(w + 4096), EINVAL);
	EXPECT_ERRNO(mdetach(w + GRANULE), EINVAL);
	EXPECT_ERRNO(mdetach(w + SZ - 4096), EINVAL);
	CHECK(maps_has(w, SZ) && verify_pattern(w, SZ, 1) == -1);
	heap = malloc(100);
	CHECK(heap != NULL);
	EXPECT_ERRNO(mdetach(heap), EINVAL);
	free(heap);
	EXPECT_ERRNO(mdetach(stackbuf), EINVAL);
	EXPECT_ERRNO(mdetach(NULL), EINVAL);
	res = mmap(NULL, SZ, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED);
	EXPECT_ERRNO(mdetach(res), EINVAL);
	CHECK(maps_has(res, SZ) && probe_write(res, 1) == 0);	/* not unmapped */
	CHECK(munmap(res, SZ) == 0);
	CHECK(mdetach(w) == 0);
	EXPECT_ERRNO(mdetach(w), EINVAL);
	CHECK(probe_read(w) != 0);
	/* a window made with raw mmap is an attachment too */
	w = raw_attach(fd, SZ, RW);
	CHECK(mdetach(w) == 0);
	CHECK(!maps_overlaps(w, SZ));
	close(fd);

	/* ---- mshare_unlink ---- */
	CHECK(mshare_unlink("lib-a") == 0);
	CHECK(!exists(mpath("lib-a")));
	EXPECT_ERRNO(mshare_unlink("lib-a"), ENOENT);
	CHECK(mshare_unlink("/lib-d/r") == 0);
	CHECK(!exists(mpath("lib-d/r")));
	CHECK(rmdir(mpath("lib-d")) == 0);

	/* ---- LIBMSHARE_MOUNT: a tmpfs directory ---- */
	{
		char tdir[] = "/tmp/live-lib-XXXXXX";

		CHECK(mkdtemp(tdir) != NULL);
		st_child = reexec("tmpfs", tdir);
		CHECKF(st_child == 0, "LIBMSHARE_MOUNT=%s (tmpfs): status %d", tdir, st_child);
		CHECK(!exists("/tmp/x"));
		{
			char p[128];

			snprintf(p, sizeof(p), "%s/x", tdir);
			CHECK(!exists(p));
		}
		CHECK(rmdir(tdir) == 0);
	}

	/* ---- LIBMSHARE_MOUNT: a second msharefs mount ---- */
	mount2_dir();
	CHECK(mount("none", m2, "msharefs", 0, NULL) == 0);
	m2_mounted = true;
	st_child = reexec("msharefs", m2);
	CHECKF(st_child == 0, "LIBMSHARE_MOUNT=%s (msharefs): status %d", m2, st_child);
	CHECK(!exists(mpath("over")));
	CHECK(stat(p2("over"), &st) == 0 && st.st_size == (off_t)SZ);
	fd = EXPECT_OK(open(p2("over"), O_RDONLY));
	w = raw_attach(fd, SZ, PROT_READ);
	CHECK(verify_pattern(w, SZ, 3) == -1);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(p2("over")) == 0);
	CHECK(umount(m2) == 0);
	m2_mounted = false;
	CHECK(rmdir(m2) == 0);
	m2[0] = 0;

	live_done();
}

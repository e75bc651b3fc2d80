// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The exported calls end to end on a fake msharefs (a tmpfs directory whose
 * statfs(2) reports MSHAREFS_MAGIC), with kernel failures injected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"
#include "fake.h"

#define SZ	(2UL << 20)

/* A region of @size bytes (0: size not set), open O_RDWR. */
static int region(const char *name, size_t size)
{
	int fd = mcreate(name, O_RDWR | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	if (size)
		assert_int_equal(mshare_set_size(fd, size), 0);
	return fd;
}

static bool mapped(void *addr)
{
	unsigned char vec;

	return mincore(addr, 1, &vec) == 0;
}

#define assert_fails(expr, err) do {			\
	errno = 0;					\
	assert_int_equal((expr), -1);			\
	assert_int_equal(errno, (err));			\
} while (0)

#define assert_map_fails(expr, err) do {		\
	errno = 0;					\
	assert_ptr_equal((expr), MAP_FAILED);		\
	assert_int_equal(errno, (err));			\
} while (0)

/* ---- mcreate ---------------------------------------------------------- */

static void test_mcreate(void **state)
{
	const char *mnt = *state;
	char path[PATH_MAX];
	struct stat st;
	int fd;

	fake_reset();
	fd = mcreate("r1", O_RDWR | O_CREAT, 0640);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/r1", mnt);
	assert_string_equal(fake_last.open_path, path);
	assert_int_equal(fake_last.open_flags,
			 O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW);
	assert_int_equal(fake_last.open_mode, 0640);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);

	/* Leading '/' stripped; an existing region opens read-only. */
	fd = mcreate("/r1", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(fake_last.open_path, path);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);

	/* Every accepted flag. */
	fd = mcreate("r1", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_mcreate_subdir(void **state)
{
	const char *mnt = *state;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/db", mnt);
	assert_int_equal(mkdir(path, 0700), 0);
	fd = mcreate("/db/cache", O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/db/cache", mnt);
	assert_string_equal(fake_last.open_path, path);
	close(fd);
	assert_int_equal(mshare_unlink("db/cache"), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* No such directory: open(2)'s errno. */
	assert_fails(mcreate("nodir/x", O_RDWR | O_CREAT, 0600), ENOENT);
}

static void test_mcreate_flags(void **state)
{
	static const int bad[] = {
		O_WRONLY,
		O_WRONLY | O_CREAT,
		O_ACCMODE,
		O_RDWR | O_APPEND,
		O_RDWR | O_NONBLOCK,
		O_RDWR | O_DIRECTORY,
		O_RDWR | O_NOFOLLOW,
		O_RDWR | O_SYNC,
		O_RDWR | O_DIRECT,
		O_RDWR | O_PATH,
		O_RDWR | O_TMPFILE,
		O_RDWR | O_NOCTTY,
		O_RDWR | O_ASYNC,
		O_RDONLY | O_NOATIME,
		O_RDWR | 0x40000000,
		-1,
	};
	size_t i;

	(void)state;
	fake_reset();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("flags %#x\n", bad[i]);
		assert_fails(mcreate("r", bad[i], 0600), EINVAL);
	}
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
}

static void test_mcreate_names(void **state)
{
	static const char *const bad[] = {
		NULL, "", "/", "a//b", "a/", ".", "..", "a/../b", "./a",
		"mshare_info", "/mshare_info",
	};
	char longname[NAME_MAX + 2];
	size_t i;

	(void)state;
	fake_reset();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_fails(mcreate(bad[i], O_RDWR | O_CREAT, 0600), EINVAL);
		assert_fails(mshare_unlink(bad[i]), EINVAL);
	}
	memset(longname, 'x', NAME_MAX + 1);
	longname[NAME_MAX + 1] = '\0';
	assert_fails(mcreate(longname, O_RDWR | O_CREAT, 0600), ENAMETOOLONG);
	assert_fails(mshare_unlink(longname), ENAMETOOLONG);
	/* Rejected before looking for the mount or calling the kernel. */
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
	assert_int_equal(fake_calls(FAKE_UNLINK), 0);
}

static void test_mcreate_joined_too_long(void **state)
{
	const char *mnt = *state;
	size_t len = PATH_MAX - strlen(mnt) - 1;	/* mnt + '/' + len = PATH_MAX */
	char *name = malloc(len + 1);
	size_t i;

	memset(name, 'n', len);
	for (i = 200; i < len; i += 201)
		name[i] = '/';
	name[len] = '\0';
	if (name[len - 1] == '/')
		name[len - 1] = 'n';
	if (name[len - 2] == '/')
		name[len - 2] = 'n';
	assert_int_equal(msh_name_check(name, NULL), 0);
	fake_reset();
	assert_fails(mcreate(name, O_RDWR | O_CREAT, 0600), ENAMETOOLONG);
	assert_fails(mshare_unlink(name), ENAMETOOLONG);
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
	assert_int_equal(fake_calls(FAKE_UNLINK), 0);
	/* One byte shorter fits: the kernel gets to answer. */
	name[len - 1] = '\0';
	assert_fails(mcreate(name, O_RDWR, 0), ENOENT);
	free(name);
}

static void test_mcreate_kernel_errors(void **state)
{
	const char *mnt = *state;
	char path[PATH_MAX];
	int fd;

	fd = region("r", 0);
	close(fd);
	assert_fails(mcreate("r", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	assert_fails(mcreate("missing", O_RDWR, 0), ENOENT);

	/* O_NOFOLLOW is always added. */
	snprintf(path, sizeof(path), "%s/link", mnt);
	assert_int_equal(symlink("r", path), 0);
	assert_fails(mcreate("link", O_RDWR, 0), ELOOP);

	fake_fail(FAKE_OPEN, EACCES);
	assert_fails(mcreate("r", O_RDWR, 0), EACCES);
	fake_fail(FAKE_OPEN, ENOSPC);
	assert_fails(mcreate("new", O_RDWR | O_CREAT, 0600), ENOSPC);
}

static void test_mcreate_enodev(void **state)
{
	(void)state;
	unsetenv(LIBMSHARE_MOUNT_ENV);
	msh_mount_cache_reset();
	msh_mountinfo_path = fixture("mountinfo-none");
	fake_reset();
	assert_fails(mcreate("r", O_RDWR | O_CREAT, 0600), ENODEV);
	assert_fails(mshare_unlink("r"), ENODEV);
	assert_int_equal(fake_calls(FAKE_OPEN), 0);
}

/* ---- mshare_unlink ---------------------------------------------------- */

static void test_unlink(void **state)
{
	const char *mnt = *state;
	char path[PATH_MAX];

	close(region("r", 0));
	fake_reset();
	assert_int_equal(mshare_unlink("/r"), 0);
	snprintf(path, sizeof(path), "%s/r", mnt);
	assert_string_equal(fake_last.unlink_path, path);
	assert_fails(mshare_unlink("r"), ENOENT);
	close(region("r", 0));
	fake_fail(FAKE_UNLINK, EPERM);
	assert_fails(mshare_unlink("r"), EPERM);
	assert_int_equal(access(path, F_OK), 0);
}

/* ---- mshare_set_size / mshare_get_size -------------------------------- */

static void test_sizes(void **state)
{
	size_t size = 1;
	int fd;

	(void)state;
	fd = region("r", 0);
	assert_int_equal(mshare_get_size(fd, &size), 0);
	assert_int_equal(size, 0);
	fake_reset();
	assert_int_equal(mshare_set_size(fd, SZ), 0);
	assert_int_equal(fake_last.ftruncate_len, SZ);
	assert_int_equal(mshare_get_size(fd, &size), 0);
	assert_int_equal(size, SZ);
	close(fd);
}

static void test_sizes_errors(void **state)
{
	size_t size = 77;
	int fd, pipefd[2];

	(void)state;
	fd = region("r", 0);

	assert_fails(mshare_get_size(fd, NULL), EINVAL);
	assert_fails(mshare_get_size(-1, &size), EBADF);
	assert_fails(mshare_set_size(-1, SZ), EBADF);
	assert_fails(mshare_set_size(9999, SZ), EBADF);

	/* Not msharefs: EINVAL without touching the file. */
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fake_reset();
	assert_fails(mshare_set_size(pipefd[0], SZ), EINVAL);
	assert_fails(mshare_get_size(pipefd[0], &size), EINVAL);
	assert_int_equal(fake_calls(FAKE_FTRUNCATE), 0);
	assert_int_equal(fake_calls(FAKE_FSTAT), 0);
	assert_int_equal(size, 77);
	close(pipefd[0]);
	close(pipefd[1]);

	/* Beyond off_t. */
	assert_fails(mshare_set_size(fd, SIZE_MAX), EFBIG);
	assert_fails(mshare_set_size(fd, (size_t)INT64_MAX + 1), EFBIG);
	assert_int_equal(fake_calls(FAKE_FTRUNCATE), 0);

	/* Kernel errors pass through. */
	fake_fail(FAKE_FTRUNCATE, EINVAL);
	assert_fails(mshare_set_size(fd, SZ), EINVAL);
	fake_fail(FAKE_FSTATFS, EIO);
	assert_fails(mshare_set_size(fd, SZ), EIO);
	fake_fail(FAKE_FSTATFS, EIO);
	assert_fails(mshare_get_size(fd, &size), EIO);
	fake_fail(FAKE_FSTAT, EOVERFLOW);
	assert_fails(mshare_get_size(fd, &size), EOVERFLOW);
	assert_int_equal(size, 77);
	close(fd);
}

/* ---- mattach / mdetach ------------------------------------------------ */

static void test_attach_detach(void **state)
{
	char *p;
	int fd;

	(void)state;
	fd = region("r", SZ);
	fake_reset();
	p = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(fake_last.mmap_len, SZ);
	assert_int_equal(fake_last.mmap_prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fake_last.mmap_flags, MAP_SHARED);
	assert_int_equal(fake_last.mmap_fd, fd);
	assert_int_equal(fake_last.mmap_off, 0);
	p[0] = 'x';
	p[SZ - 1] = 'y';

	fake_reset();
	assert_int_equal(mdetach(p), 0);
	assert_ptr_equal(fake_last.munmap_addr, p);
	assert_int_equal(fake_last.munmap_len, SZ);
	assert_false(mapped(p));
	assert_false(mapped(p + SZ - 1));
	/* Gone: a second detach finds nothing. */
	assert_fails(mdetach(p), EINVAL);

	/* The data went to the region. */
	p = mattach(fd, NULL, PROT_READ, MAP_POPULATE);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(fake_last.mmap_flags, MAP_SHARED | MAP_POPULATE);
	assert_int_equal(p[0], 'x');
	assert_int_equal(p[SZ - 1], 'y');
	assert_int_equal(mdetach(p), 0);
	close(fd);
}

static void test_attach_fixed(void **state)
{
	char *hole, *p;
	int fd;

	(void)state;
	fd = region("r", SZ);
	hole = mmap(NULL, 2 * SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_ptr_not_equal(hole, MAP_FAILED);

	/* MAP_FIXED_NOREPLACE over an existing mapping: EEXIST. */
	assert_map_fails(mattach(fd, hole, PROT_READ, MAP_FIXED_NOREPLACE),
			 EEXIST);
	p = mattach(fd, hole + SZ / 2, PROT_READ, MAP_FIXED);
	assert_ptr_equal(p, hole + SZ / 2);
	assert_int_equal(fake_last.mmap_flags, MAP_SHARED | MAP_FIXED);
	assert_int_equal(mdetach(p), 0);
	assert_int_equal(munmap(hole, 2 * SZ), 0);
	/* Now free: MAP_FIXED_NOREPLACE succeeds. */
	p = mattach(fd, hole, PROT_READ | PROT_WRITE, MAP_FIXED_NOREPLACE);
	assert_ptr_equal(p, hole);
	assert_int_equal(mdetach(p), 0);
	close(fd);
}

static void test_attach_args(void **state)
{
	static const int bad_prot[] = {
		PROT_READ | 0x8, PROT_GROWSDOWN, PROT_GROWSUP | PROT_READ,
		0x10, -1,
	};
	static const int bad_flags[] = {
		MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED_VALIDATE,
		MAP_NORESERVE, MAP_LOCKED, MAP_HUGETLB, MAP_GROWSDOWN,
		MAP_FIXED | MAP_FIXED_NOREPLACE,
		MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE,
		MAP_POPULATE | MAP_NONBLOCK, -1,
	};
	size_t i;
	int fd;

	(void)state;
	fd = region("r", SZ);
	fake_reset();
	for (i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++)
		assert_map_fails(mattach(fd, NULL, bad_prot[i], 0), EINVAL);
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
		assert_map_fails(mattach(fd, NULL, PROT_READ, bad_flags[i]),
				 EINVAL);
	assert_int_equal(fake_calls(FAKE_FSTATFS), 0);
	assert_int_equal(fake_calls(FAKE_MMAP), 0);
	close(fd);
}

static void test_attach_errors(void **state)
{
	int fd, rfd, pipefd[2], memfd;

	(void)state;
	assert_map_fails(mattach(-1, NULL, PROT_READ, 0), EBADF);

	/* Size not set. */
	fd = region("empty", 0);
	fake_reset();
	assert_map_fails(mattach(fd, NULL, PROT_READ, 0), EINVAL);
	assert_int_equal(fake_calls(FAKE_MMAP), 0);
	close(fd);

	/* Not msharefs: a pipe, a memfd. */
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_map_fails(mattach(pipefd[0], NULL, PROT_READ, 0), EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	memfd = memfd_create("not-mshare", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, SZ), 0);
	fake_reset();
	assert_map_fails(mattach(memfd, NULL, PROT_READ, 0), EINVAL);
	assert_int_equal(fake_calls(FAKE_MMAP), 0);
	close(memfd);

	/* The kernel's answers pass through. */
	fd = region("r", SZ);
	rfd = mcreate("r", O_RDONLY, 0);
	assert_true(rfd >= 0);
	assert_map_fails(mattach(rfd, NULL, PROT_READ | PROT_WRITE, 0), EACCES);
	assert_map_fails(mattach(fd, (void *)(uintptr_t)4097, PROT_READ,
				 MAP_FIXED), EINVAL);
	fake_fail(FAKE_MMAP, ENOMEM);
	assert_map_fails(mattach(fd, NULL, PROT_READ, 0), ENOMEM);
	fake_fail(FAKE_FSTATFS, EIO);
	assert_map_fails(mattach(fd, NULL, PROT_READ, 0), EIO);
	fake_fail(FAKE_FSTAT, EIO);
	assert_map_fails(mattach(fd, NULL, PROT_READ, 0), EIO);
	close(rfd);
	close(fd);
}

static void test_detach_raw_mmap(void **state)
{
	char *p;
	int fd;

	(void)state;
	/* A window made without the library is found all the same. */
	fd = region("r", SZ);
	p = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal(mdetach(p), 0);
	assert_false(mapped(p));
	close(fd);
}

static void test_detach_split(void **state)
{
	char *p;
	int fd;

	(void)state;
	fd = region("r", SZ);
	p = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	/* Split the window in three VMAs. */
	assert_int_equal(mprotect(p + 4096, 4096, PROT_READ), 0);
	fake_reset();
	assert_fails(mdetach(p + 4096), EINVAL);
	assert_fails(mdetach(p + 8192), EINVAL);
	assert_int_equal(mdetach(p), 0);
	assert_int_equal(fake_last.munmap_len, SZ);
	assert_false(mapped(p + SZ - 1));
	close(fd);
}

static void test_detach_adjacent(void **state)
{
	char *hole, *a, *b;
	int fd;

	(void)state;
	/* Two windows of the same region side by side stay apart. */
	fd = region("r", SZ);
	hole = mmap(NULL, 2 * SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_ptr_not_equal(hole, MAP_FAILED);
	a = mattach(fd, hole, PROT_READ, MAP_FIXED);
	b = mattach(fd, hole + SZ, PROT_READ, MAP_FIXED);
	assert_ptr_equal(a, hole);
	assert_ptr_equal(b, hole + SZ);
	assert_int_equal(mdetach(b), 0);
	assert_int_equal(fake_last.munmap_len, SZ);
	assert_true(mapped(a));
	assert_int_equal(mdetach(a), 0);
	assert_int_equal(fake_last.munmap_len, SZ);
	close(fd);
}

static void test_detach_unlinked(void **state)
{
	char *p;
	int fd;

	(void)state;
	fd = region("r", SZ);
	p = mattach(fd, NULL, PROT_READ, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	close(fd);
	/* The maps line now ends in " (deleted)". */
	assert_int_equal(mshare_unlink("r"), 0);
	assert_int_equal(mdetach(p), 0);
	assert_false(mapped(p));
}

static void test_detach_fork(void **state)
{
	pid_t pid;
	char *p;
	int fd, status;

	(void)state;
	fd = region("r", SZ);
	p = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		p[0] = 'c';
		_exit(mdetach(p) == 0 && !mapped(p) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent's window is untouched and saw the write. */
	assert_int_equal(p[0], 'c');
	assert_int_equal(mdetach(p), 0);
}

static void test_detach_not_attachment(void **state)
{
	char *anon, *shared, *p;
	int fd, memfd;

	(void)state;
	fd = region("r", SZ);
	p = mattach(fd, NULL, PROT_READ, 0);
	assert_ptr_not_equal(p, MAP_FAILED);

	anon = mmap(NULL, SZ, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(anon, MAP_FAILED);
	memfd = memfd_create("not-mshare", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, SZ), 0);
	shared = mmap(NULL, SZ, PROT_READ, MAP_SHARED, memfd, 0);
	assert_ptr_not_equal(shared, MAP_FAILED);

	fake_reset();
	assert_fails(mdetach(NULL), EINVAL);
	assert_fails(mdetach(p + 4096), EINVAL);
	assert_fails(mdetach(p + 1), EINVAL);
	assert_fails(mdetach(p + SZ - 4096), EINVAL);
	assert_fails(mdetach(anon), EINVAL);
	assert_fails(mdetach(shared), EINVAL);
	assert_fails(mdetach(&fd), EINVAL);
	assert_int_equal(fake_calls(FAKE_MUNMAP), 0);
	assert_true(mapped(p) && mapped(anon) && mapped(shared));

	munmap(shared, SZ);
	munmap(anon, SZ);
	close(memfd);
	assert_int_equal(mdetach(p), 0);
	close(fd);
}

static void test_detach_errors(void **state)
{
	char *p;
	int fd;

	(void)state;
	fd = region("r", SZ);
	p = mattach(fd, NULL, PROT_READ, 0);
	assert_ptr_not_equal(p, MAP_FAILED);

	fake_fail(FAKE_STAT, EACCES);
	assert_fails(mdetach(p), EACCES);
	fake_fail(FAKE_FOPEN, EMFILE);
	assert_fails(mdetach(p), EMFILE);
	fake_fail(FAKE_MUNMAP, ENOMEM);
	assert_fails(mdetach(p), ENOMEM);
	assert_true(mapped(p));

	/* A maps file without the window. */
	msh_maps_path = fixture("maps-sample");
	assert_fails(mdetach(p), EINVAL);
	msh_maps_path = MSH_MAPS_PATH;

	/* No msharefs at all. */
	unsetenv(LIBMSHARE_MOUNT_ENV);
	msh_mount_cache_reset();
	msh_mountinfo_path = fixture("mountinfo-none");
	assert_fails(mdetach(p), ENODEV);
	assert_true(mapped(p));
	munmap(p, SZ);
	close(fd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_mount_fixture_setup, \
					       fake_mount_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_mcreate),
		T(test_mcreate_subdir),
		T(test_mcreate_flags),
		T(test_mcreate_names),
		T(test_mcreate_joined_too_long),
		T(test_mcreate_kernel_errors),
		T(test_mcreate_enodev),
		T(test_unlink),
		T(test_sizes),
		T(test_sizes_errors),
		T(test_attach_detach),
		T(test_attach_fixed),
		T(test_attach_args),
		T(test_attach_errors),
		T(test_detach_raw_mmap),
		T(test_detach_split),
		T(test_detach_adjacent),
		T(test_detach_unlinked),
		T(test_detach_fork),
		T(test_detach_not_attachment),
		T(test_detach_errors),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

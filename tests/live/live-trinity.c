// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-trinity: an outside syscall fuzzer, Debian's trinity, as an
 * unprivileged user against msharefs.
 *
 * - Victims (trinity -V): a second msharefs mount (mode=0777, size=,
 *   nr_regions=) holding regions of several sizes and inner-mapping
 *   layouts (a read-only granule, a hole, never sized), a subdirectory with
 *   another region, all mode 0666: trinity opens them (and mshare_info,
 *   and the directories) for its fd pool and uses their names as path
 *   arguments (open, unlink, rename, mkdir, truncate...).
 * - Bounded so that it cannot drive the VM to the OOM killer (whose report
 *   would fail the run): its own cgroup with memory.high (reclaim and
 *   throttling, never an OOM kill), RLIMIT_AS and RLIMIT_FSIZE, its
 *   working directory a small tmpfs, the victims' mount size=, no memfd
 *   (unbounded), kernel.shmall small (its SysV segments).
 * - trinity runs as uid/gid 65534 (it refuses root) with the syscalls that
 *   reach the module and core mm over region windows (SYSCALLS below), for
 *   MSHARE_TRINITY_SECONDS (60), MSHARE_TRINITY_CHILDREN (4) children,
 *   seed MSHARE_TRINITY_SEED (else one from the clock; printed, and in
 *   the kernel log, so a failure reruns: tools/fuzz --seed).  Its own
 *   shared anonymous mappings become regions too when it runs under the
 *   preload shim (MSHARE_TRINITY_PRELOAD, if the shim is in the image).
 * - Then SIGINT (trinity prints how many syscalls it ran), every process
 *   of uid 65534 is killed, and the test checks that the mount still
 *   works: a fresh region shares its tables and keeps its bytes, every
 *   victim left can be stat'ed, and removing them empties the mount.
 *   The harness scans the kernel log, and after the run unmounts,
 *   rmmods and checks for leaks.
 * trinity stops early by itself if the kernel taints (a WARN, an oops):
 * that fails the test, with its last output.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/msharefs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOBODY		65534
#define WORKDIR		"/tmp/trinity"
#define CG		"/sys/fs/cgroup"
#define CG_TRINITY	CG "/trinity"
#define MEM_HIGH	(256 * MIB)	/* the cgroup's throttle */
#define AS_LIMIT	(192 * MIB)	/* each process's address space */
#define FSIZE_LIMIT	(8 * MIB)	/* each file */
#define SHMALL_PAGES	"8192"		/* 32 MiB of SysV shm in all */

static char victims[64];	/* the second mount (m2) */

/* What reaches msharefs and core mm over windows; trinity -c each. */
static const char *const SYSCALLS[] = {
	"mmap", "munmap", "mremap", "mprotect", "pkey_mprotect", "madvise",
	"process_madvise", "mlock", "mlock2", "munlock", "mlockall",
	"munlockall", "msync", "mincore", "remap_file_pages", "ioctl",
	"fork", "vfork", "clone", "clone3", "exit", "exit_group",
	"process_vm_readv", "process_vm_writev", "userfaultfd",
	"io_uring_setup", "io_uring_register", "splice", "vmsplice", "tee",
	"ftruncate", "truncate", "fallocate", "open", "openat", "openat2",
	"creat", "close", "read", "write", "pread64", "pwrite64", "lseek",
	"fstatfs", "statfs", "getdents64", "fcntl", "dup", "unlink",
	"unlinkat", "rename", "renameat", "renameat2", "mkdir", "rmdir",
	"link", "symlink", "chmod", "fchmod", "migrate_pages", "move_pages",
	"mbind", "set_mempolicy", "get_mempolicy", "futex", "membarrier",
};

static long env_num(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

/* A victim region: name, size (0: never sized), then a layout change. */
static void victim(const char *name, size_t size, unsigned long ro_granule,
		   unsigned long hole_granule)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", victims, name);
	fd = EXPECT_OK(open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
	CHECK(fchmod(fd, 0666) == 0);
	if (size)
		CHECK(ftruncate(fd, (off_t)size) == 0);
	if (ro_granule) {
		struct mshare_protect p = {
			.region_offset = ro_granule * GRANULE,
			.size = GRANULE,
			.prot = PROT_READ,
		};

		CHECK(ioctl(fd, MSHAREFS_PROTECT, &p) == 0);
	}
	if (hole_granule) {
		struct mshare_unmap u = {
			.region_offset = hole_granule * GRANULE,
			.size = GRANULE,
		};

		CHECK(ioctl(fd, MSHAREFS_UNMAP, &u) == 0);
	}
	CHECK(close(fd) == 0);
}

/*
 * trinity's mmap() asks for one page, 1 MiB, 2 MiB or 1 GiB: the 2 MiB
 * regions are the ones it can attach (offset 0, MAP_SHARED), so most
 * victims are 2 MiB, with each layout; the larger ones get the other
 * calls (ftruncate, fallocate, ioctl, rename...).
 */
static void make_victims(void)
{
	char sub[96];

	mount2_dir();
	CHECKF(mount("msharefs", m2, "msharefs", 0, "size=160m,nr_regions=64,mode=0777") == 0,
	       "mount msharefs on %s", m2);
	m2_mounted = true;
	snprintf(victims, sizeof(victims), "%s", m2);
	snprintf(sub, sizeof(sub), "%s/sub", victims);
	CHECK(mkdir(sub, 0777) == 0 && chmod(sub, 0777) == 0);
	victim("r2m", GRANULE, 0, 0);
	victim("r2m-b", GRANULE, 0, 0);
	victim("r2m-ro", GRANULE, 0, 0);
	{
		struct mshare_protect p = { .size = GRANULE, .prot = PROT_READ };
		int fd = EXPECT_OK(open(p2("r2m-ro"), O_RDWR | O_CLOEXEC));

		CHECK(ioctl(fd, MSHAREFS_PROTECT, &p) == 0);
		CHECK(close(fd) == 0);
	}
	victim("r4m-ro1", 2 * GRANULE, 1, 0);
	victim("r8m-hole2", 4 * GRANULE, 0, 2);
	victim("r64m-ro3-hole5", 32 * GRANULE, 3, 5);
	victim("unsized", 0, 0, 0);
	victim("sub/r2m", GRANULE, 0, 0);
}

static const char *saved_shmall;

static void restore_limits(void)
{
	if (saved_shmall)
		proc_write("/proc/sys/kernel/shmall", saved_shmall);
	umount2(WORKDIR, MNT_DETACH);
	rmdir(WORKDIR);
	rmdir(CG_TRINITY);
}

/* trinity's cgroup, tmpfs and kernel.shmall (put back at exit). */
static void bound_resources(void)
{
	char v[64];

	saved_shmall = strdup(proc_read("/proc/sys/kernel/shmall"));
	live_atexit(restore_limits);
	CHECK(proc_write("/proc/sys/kernel/shmall", SHMALL_PAGES) == 0);
	CHECK(mkdir(WORKDIR, 0755) == 0);
	snprintf(v, sizeof(v), "size=64m,mode=0755,uid=%d,gid=%d", NOBODY, NOBODY);
	CHECKF(mount("tmpfs", WORKDIR, "tmpfs", 0, v) == 0, "mount tmpfs on %s", WORKDIR);
	if (access(CG "/cgroup.controllers", F_OK))
		CHECKF(mount("none", CG, "cgroup2", 0, NULL) == 0, "mount cgroup2 on " CG);
	CHECK(proc_write(CG "/cgroup.subtree_control", "+memory") == 0);
	CHECK(mkdir(CG_TRINITY, 0755) == 0);
	snprintf(v, sizeof(v), "%lu", MEM_HIGH);
	CHECK(proc_write(CG_TRINITY "/memory.high", v) == 0);
}

/* In the child, before exec: the cgroup and the rlimits. */
static bool enter_bounds(void)
{
	struct rlimit as = { AS_LIMIT, AS_LIMIT }, fs = { FSIZE_LIMIT, FSIZE_LIMIT };
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return proc_write(CG_TRINITY "/cgroup.procs", pid) == 0 &&
	       setrlimit(RLIMIT_AS, &as) == 0 && setrlimit(RLIMIT_FSIZE, &fs) == 0;
}

/* The mount's statistics, for the most windows and links seen. */
static void fs_sample(struct msharefs_fs_stat *max)
{
	struct msharefs_fs_stat st;
	int d = open(victims, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (d < 0)
		return;
	memset(&st, 0, sizeof(st));
	if (ioctl(d, MSHAREFS_GET_FS_STAT, &st) == 0) {
		if (st.windows > max->windows)
			max->windows = st.windows;
		if (st.attachers > max->attachers)
			max->attachers = st.attachers;
		if (st.pt_links > max->pt_links)
			max->pt_links = st.pt_links;
		if (st.resident_pages > max->resident_pages)
			max->resident_pages = st.resident_pages;
		if (st.regions > max->regions)
			max->regions = st.regions;
	}
	close(d);
}

/* Kill every process of uid NOBODY: from a child that becomes that user. */
static void kill_nobody(void)
{
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			if (setgid(NOBODY) || setuid(NOBODY))
				_exit(2);
			/* kill(-1): every process we may signal but ourselves */
			kill(-1, SIGKILL);
			_exit(0);
		}
		CHECK(wait_status(pid) == 0);
		usleep(100000);
	}
}

/* Print a line of /proc/PID/NAME (its first line), or "-". */
static void show_proc_line(const char *pid, const char *name)
{
	char path[300], line[256] = "-";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, name);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			snprintf(line, sizeof(line), "-");
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	fprintf(stderr, " %s=[%s]", name, line);
}

/*
 * How many processes of uid NOBODY are left (zombies reaped by init).
 * With @show, say where each is (state, wait channel, system call): for
 * a trinity that did not stop after SIGINT, before it is killed, so that
 * a run that hangs at its end shows why.
 */
static int nobody_left(bool show)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d))) {
		char path[300];
		struct stat st;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (stat(path, &st) || st.st_uid != NOBODY)
			continue;
		n++;
		if (!show)
			continue;
		fprintf(stderr, "  uid %d pid %s:", NOBODY, de->d_name);
		show_proc_line(de->d_name, "stat");
		show_proc_line(de->d_name, "wchan");
		show_proc_line(de->d_name, "syscall");
		fprintf(stderr, "\n");
	}
	closedir(d);
	return n;
}

/*
 * trinity's stdout and stderr, read while it runs: an hour of it can be
 * more than a pipe holds (64 KiB), and a trinity blocked writing to a full
 * pipe neither fuzzes nor stops at SIGINT.  Kept: its first HEAD_KEEP
 * bytes (the banner, what it enabled) and its last bytes (its "Ran N
 * syscalls" line, a taint report), and how much was dropped between.
 */
#define HEAD_KEEP	8192
#define TAIL_KEEP	49152

struct kept_output {
	char head[HEAD_KEEP];
	size_t head_n;
	char tail[TAIL_KEEP];
	size_t tail_n;
	unsigned long long total;
};

/* Read what @fd has; with @to_eof, block until every writer is gone. */
static void keep_output(int fd, struct kept_output *k, bool to_eof)
{
	char buf[8192];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		size_t n, h = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && to_eof) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, -1);
			continue;
		}
		if (r <= 0)
			return;
		n = (size_t)r;
		k->total += n;
		if (k->head_n < HEAD_KEEP) {
			h = n < HEAD_KEEP - k->head_n ? n : HEAD_KEEP - k->head_n;
			memcpy(k->head + k->head_n, buf, h);
			k->head_n += h;
		}
		n -= h;
		if (k->tail_n + n > TAIL_KEEP) {
			size_t drop = k->tail_n + n - TAIL_KEEP;

			drop = drop < k->tail_n ? drop : k->tail_n;
			memmove(k->tail, k->tail + drop, k->tail_n - drop);
			k->tail_n -= drop;
		}
		memcpy(k->tail + k->tail_n, buf + h, n);
		k->tail_n += n;
	}
}

/* The kept output as one string in @out (at least HEAD_KEEP + TAIL_KEEP + 80). */
static void kept_string(const struct kept_output *k, char *out, size_t len)
{
	unsigned long long gap = k->total - k->head_n - k->tail_n;

	snprintf(out, len, "%.*s", (int)k->head_n, k->head);
	if (gap)
		snprintf(out + strlen(out), len - strlen(out),
			 "\n[... %llu bytes of trinity's output left out ...]\n", gap);
	snprintf(out + strlen(out), len - strlen(out), "%.*s", (int)k->tail_n, k->tail);
}

/* After the fuzzing: a fresh region still shares its tables and data. */
static void mount_still_works(void)
{
	int fd = raw_create("after-trinity", 4 * GRANULE);
	char *w = raw_attach(fd, 4 * GRANULE, PROT_READ | PROT_WRITE);
	struct msharefs_region_stat st;
	pid_t pid;

	fill_pattern(w, 4 * GRANULE, 77);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(verify_pattern(w, 4 * GRANULE, 77) == -1 ? 0 : 1);
	CHECK(wait_status(pid) == 0);
	memset(&st, 0, sizeof(st));
	CHECK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st) == 0);
	CHECKF(st.pt_tables == 4 && st.pt_links >= 4, "after trinity: %llu tables, %llu links",
	       (unsigned long long)st.pt_tables, (unsigned long long)st.pt_links);
	CHECK(munmap(w, 4 * GRANULE) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("after-trinity")) == 0);
}

/* Every victim left (trinity may have renamed, removed or made some). */
static long stat_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		CHECKF(lstat(path, &st) == 0, "stat %s", path);
		n++;
		if (S_ISDIR(st.st_mode))
			n += stat_tree(path);
	}
	closedir(d);
	return n;
}

static void remove_victims(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "mshare_info"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			remove_victims(path);
			CHECKF(rmdir(path) == 0, "rmdir %s", path);
		} else {
			CHECKF(unlink(path) == 0, "unlink %s", path);
		}
	}
	closedir(d);
}

int main(void)
{
	long secs = env_num("MSHARE_TRINITY_SECONDS", 60);
	long children = env_num("MSHARE_TRINITY_CHILDREN", 4);
	unsigned long seed = (unsigned long)env_num("MSHARE_TRINITY_SEED", 0);
	const char *trinity = sibling("trinity");
	char *argv[16 + 2 * sizeof(SYSCALLS) / sizeof(SYSCALLS[0])];
	char seed_s[32], children_s[16], out[HEAD_KEEP + TAIL_KEEP + 128];
	static struct kept_output kept;
	struct msharefs_fs_stat seen = { 0 };
	const char *ran;
	bool clean;
	long t0, left;
	int argc = 0, outfd, st;
	pid_t pid;

	live_init("live-trinity");
	/* The fuzzing is a duration; the watchdog must outlast it. */
	alarm((unsigned int)(secs + wait_ms(120000) / 1000));
	CHECKF(trinity != NULL, "trinity is not in the image (%s/trinity): tools/setup installs "
	       "Debian's trinity package and the live suite copies /usr/bin/trinity", bindir());
	if (!seed)
		seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
	snprintf(seed_s, sizeof(seed_s), "%lu", seed);
	snprintf(children_s, sizeof(children_s), "%ld", children);
	printf("live-trinity: seed %s (MSHARE_TRINITY_SEED=%s to repeat), %ld s, %ld children\n",
	       seed_s, seed_s, secs, children);
	klog_mark("trinity seed %s, %ld s, %ld children", seed_s, secs, children);

	make_victims();
	bound_resources();

	argv[argc++] = (char *)trinity;
	argv[argc++] = "-q";
	argv[argc++] = "-l";
	argv[argc++] = getenv("MSHARE_TRINITY_LOG") ? WORKDIR : "off";
	argv[argc++] = "-s";
	argv[argc++] = seed_s;
	argv[argc++] = "-C";
	argv[argc++] = children_s;
	argv[argc++] = "-V";
	argv[argc++] = victims;
	/*
	 * Fds: the victims, plus what splice/tee/vmsplice and the mm calls
	 * want (pipes, trinity's test files, eventfd).  Sockets: the VM has
	 * no network (and trinity 2023.01 crashed regenerating its socket
	 * cache there); perf and drm reach nothing of ours; memfd is memory
	 * no limit bounds (it once drove a run to the OOM killer).
	 */
	argv[argc++] = "--disable-fds=sockets,perf,drm,timerfd,epoll,memfd";
	for (size_t i = 0; i < sizeof(SYSCALLS) / sizeof(SYSCALLS[0]); i++) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)SYSCALLS[i];
	}
	argv[argc] = NULL;

	{
		int p[2];

		CHECK(pipe(p) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			dup2(p[1], 1);
			dup2(p[1], 2);
			close(p[0]);
			close(p[1]);
			if (!enter_bounds() || chdir(WORKDIR) || setgroups(0, NULL) ||
			    setgid(NOBODY) || setuid(NOBODY))
				_exit(126);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execv(trinity, argv);
			_exit(127);
		}
		close(p[1]);
		outfd = p[0];
		CHECK(fcntl(outfd, F_SETFL, O_NONBLOCK) == 0);
	}

	/* Fuzz for secs, or until trinity stops by itself (kernel tainted). */
	t0 = now_ms();
	while ((left = secs * 1000 - (now_ms() - t0)) > 0) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		CHECK(w >= 0);
		if (w == pid)
			break;
		fs_sample(&seen);
		keep_output(outfd, &kept, false);
		usleep((useconds_t)(left > 200 ? 200000 : left * 1000));
	}
	if (left > 0) {
		keep_output(outfd, &kept, true);
		kept_string(&kept, out, sizeof(out));
		fprintf(stderr, "%s\n", out);
		CHECKF(0, "trinity stopped after %ld s of %ld (status %#x): see its output above",
		       (now_ms() - t0) / 1000, secs, st);
	}
	CHECK(kill(pid, SIGINT) == 0);
	{
		long grace = wait_ms(60000), end = now_ms() + grace;
		pid_t w;

		while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < end) {
			keep_output(outfd, &kept, false);
			usleep(100000);
		}
		if (w == 0) {
			fprintf(stderr, "  trinity still running %ld s after SIGINT; its processes:\n",
				grace / 1000);
			nobody_left(true);
		}
	}
	kill_nobody();
	waitpid(pid, &st, 0);
	keep_output(outfd, &kept, true);
	close(outfd);
	kept_string(&kept, out, sizeof(out));
	printf("note: trinity wrote %llu bytes of output\n", kept.total);
	ran = strstr(out, "Ran ");
	if (ran) {
		char line[160];

		snprintf(line, sizeof(line), "%.*s", (int)strcspn(ran, "\n"), ran);
		printf("note: trinity seed %s, %ld s, %ld children: %s\n", seed_s, secs,
		       children, line);
		printf("note: seen at once: %llu regions, %llu windows of %llu mms, %llu table "
		       "links, %llu resident pages\n", (unsigned long long)seen.regions,
		       (unsigned long long)seen.windows, (unsigned long long)seen.attachers,
		       (unsigned long long)seen.pt_links,
		       (unsigned long long)seen.resident_pages);
		klog_mark("trinity: %s", line);
	}
	clean = ran != NULL && strstr(out, "kernel became tainted") == NULL;
	if (!clean)
		fprintf(stderr, "%s\n", out);
	CHECKF(clean, "trinity did not finish cleanly (status %#x): see its output above", st);
	CHECKF(nobody_left(false) == 0, "%d processes of uid %d left after SIGKILL",
	       nobody_left(false), NOBODY);

	/* The mounts still work, and what trinity left can be removed. */
	fprintf(stderr, "  %ld victims left under %s\n", stat_tree(victims), victims);
	mount_still_works();
	remove_victims(victims);
	CHECKF(used_pages(victims) == 0, "%ld pages still used in %s", used_pages(victims),
	       victims);
	CHECK(umount(victims) == 0);
	m2_mounted = false;
	live_done();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-preload: libmshare-preload and `mshare run` with an unmodified,
 * dynamically linked program (mshare-pl: libc only).  Parts (all by
 * default):
 *   anon      shared anonymous memory becomes a region without a name,
 *             shared with fork children; munmap of the length asked for
 *             detaches it; same-protection mprotect and partial madvise
 *             hints are absorbed, a real mprotect is EINVAL; gone after
 *   fallback  not redirected: another mount, MSHARE_ANON=0, too small,
 *             msharefs not mounted -- the program runs the same
 *   sysv      by key from unrelated processes, exact shm_segsz, live
 *             shm_nattch, /proc/sysvipc, SHM_RDONLY, IPC_CREAT|IPC_EXCL,
 *             permissions, IPC_RMID while attached (then EIDRM), cleanup
 *   exec      exec chains keep the library (and an empty environment
 *             drops it)
 *   threads   threads racing mmap/munmap of regions and other memory
 *   storm     kill -9 of many processes at any point: nothing left
 *   run       mshare run: options, exit status, mshare ls "(unlinked"
 *   dlopen    RTLD_DEEPBIND bypasses the library unless MSHARE_NODEEPBIND
 *             names the library
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <linux/msharefs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY	65534

extern char **environ;

static char lib[256];

/* A run of mshare-pl: its pipes and everything it printed. */
struct pl {
	pid_t pid;
	int in, out;
	char buf[65536];
	size_t len;
};

/*
 * Start argv (argv[0]: a sibling binary) with the environment plus
 * @env (NAME=VALUE..., NULL-terminated; "NAME=" alone removes NAME), as
 * @uid unless 0.
 */
static void pl_start(struct pl *p, char *const env[], uid_t uid,
		     char *const argv[])
{
	int in[2], out[2];
	char path[512];
	const char *s = sibling(argv[0]);

	CHECKF(s != NULL, "%s not found next to %s", argv[0], bindir());
	snprintf(path, sizeof(path), "%s", s);
	memset(p, 0, sizeof(*p));
	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	p->pid = fork();
	CHECK(p->pid >= 0);
	if (p->pid == 0) {
		char **e;

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		for (e = (char **)env; e && *e; e++) {
			char name[128];
			const char *eq = strchr(*e, '=');

			snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
			if (eq[1])
				putenv(*e);
			else
				unsetenv(name);
		}
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(99);
		execv(path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
}

/* Read until a line starting with @prefix (or EOF); that line, or NULL. */
static const char *pl_until(struct pl *p, const char *prefix)
{
	size_t scanned = 0, plen = strlen(prefix);

	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(p->buf + scanned, '\n', p->len - scanned))) {
			char *line = p->buf + scanned;

			scanned = (size_t)(nl - p->buf) + 1;
			if (!strncmp(line, prefix, plen) &&
			    (line == p->buf || line[-1] == '\n'))
				return line;
		}
		if (p->len + 1 >= sizeof(p->buf))
			return NULL;
		n = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (n <= 0)
			return NULL;
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
	}
}

/* Wait for its next "paused" (after what was read so far). */
static void pl_pause(struct pl *p)
{
	const char *l = pl_until(p, "paused");

	CHECKF(l != NULL, "mshare-pl ended before pausing:\n%s", p->buf);
	/* Consumed: the next wait finds the next one. */
	memcpy((char *)l, "PAUSED", 6);
}

static void pl_continue(struct pl *p)
{
	CHECK(write(p->in, "\n", 1) == 1);
}

/* The rest of its output, its exit status. */
static int pl_wait(struct pl *p)
{
	int st;

	close(p->in);
	while (pl_until(p, "\x01"))
		;
	close(p->out);
	st = wait_status(p->pid);
	fprintf(stderr, "  mshare-pl %d -> %d:\n%s", (int)p->pid, st, p->buf);
	return st;
}

/* Run to the end. */
static int pl_run(struct pl *p, char *const env[], uid_t uid,
		  char *const argv[])
{
	pl_start(p, env, uid, argv);
	return pl_wait(p);
}

/* Whether the output has a line exactly @line. */
static bool has_line(const struct pl *p, const char *line)
{
	size_t n = strlen(line);
	const char *s = p->buf;

	while ((s = strstr(s, line))) {
		if ((s == p->buf || s[-1] == '\n') && (s[n] == '\n' || !s[n]))
			return true;
		s += n;
	}
	return false;
}

/* The value of the first line "KEY ..." as text after the key. */
static const char *line_of(const struct pl *p, const char *key)
{
	static char out[256];
	size_t n = strlen(key);
	const char *s = p->buf;

	while ((s = strstr(s, key))) {
		if ((s == p->buf || s[-1] == '\n') && s[n] == ' ') {
			const char *e = strchr(s, '\n');

			snprintf(out, sizeof(out), "%.*s",
				 (int)((e ? e : s + strlen(s)) - s - n - 1),
				 s + n + 1);
			return out;
		}
		s += n;
	}
	return NULL;
}

/* Does the output have "mmap ADDR KIND" (any address) with this kind? */
static int count_kind(const struct pl *p, const char *cmd, const char *kind)
{
	const char *s = p->buf;
	size_t n = strlen(cmd);
	int c = 0;

	while ((s = strstr(s, cmd))) {
		const char *e = strchr(s, '\n');

		if ((s == p->buf || s[-1] == '\n') && s[n] == ' ' && e) {
			const char *k = e;

			while (k > s && k[-1] != ' ')
				k--;
			if ((size_t)(e - k) == strlen(kind) &&
			    !strncmp(k, kind, (size_t)(e - k)))
				c++;
		}
		s += n;
	}
	return c;
}

static struct msharefs_region_entry ents[64];

/* Regions without a name on the mount. */
static uint64_t unlinked_regions(void)
{
	struct msharefs_list l = {
		.flags = MSHAREFS_LIST_UNLINKED,
		.entry_size = sizeof(ents[0]),
		.entries = (uintptr_t)ents,
		.nr = 64,
	};
	int fd = (int)EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));

	CHECK(ioctl(fd, MSHAREFS_LIST_REGIONS, &l) == 0);
	close(fd);
	return l.total;
}

static char *lib_env(void)
{
	static char e[300];

	snprintf(e, sizeof(e), "LD_PRELOAD=%s", lib);
	return e;
}

/*
 * Regions without a name, once none is left or after 10 s: the orphans
 * of a killed process (its fork children) may still be exiting.
 */
static uint64_t unlinked_settled(void)
{
	uint64_t n;
	int i;

	for (i = 0; i < 100 && (n = unlinked_regions()); i++)
		usleep(100000);
	return n;
}

/* Nothing left: no region, pages back. */
static void nothing_left(long used0)
{
	CHECK(unlinked_settled() == 0);
	CHECK(wait_used_pages(MNT, used0) == used0);
}

static void part_anon(void)
{
	long used0 = used_pages(MNT);
	char *env[] = { lib_env(), NULL };
	char *argv[] = { "mshare-pl", "mmap", "104857723", "fill", "7",
		"forkverify", "3", "7", "pause",
		"mprotect", "rw", "mprotect", "rw", "4096", "8192",
		"mprotect", "r", "madvise", "1", "4096", "4096",
		"madvise", "4", "0", "2M", "verify", "7", "vm",
		"munmap", "104857723", "pause", "exit", "0", NULL };
	struct pl p;

	pl_start(&p, env, 0, argv);
	pl_pause(&p);
	/* One region without a name: 102 MiB, the parent attached. */
	CHECK(unlinked_regions() == 1);
	CHECK(ents[0].nlink == 0 && ents[0].stat.region_size == 102 * MIB);
	CHECK(ents[0].stat.attachers == 1 && ents[0].stat.windows == 1);
	/* One word of every page written: every granule allocated, and
	 * every one linked (one shared table each, children's links gone). */
	CHECK(ents[0].stat.resident_pages == 51 * CHUNK_PAGES);
	CHECK(ents[0].stat.pt_tables == 51);
	CHECKF(ents[0].stat.pt_links == 51, "links %llu",
	       (unsigned long long)ents[0].stat.pt_links);
	pl_continue(&p);
	pl_pause(&p);
	CHECK(unlinked_regions() == 0);
	pl_continue(&p);
	CHECK(pl_wait(&p) == 0);
	CHECK(count_kind(&p, "mmap", "msharefs") == 1);
	CHECK(has_line(&p, "forkverify ok"));
	CHECK(has_line(&p, "mprotect 0 0"));
	CHECKF(has_line(&p, "mprotect -1 22"), "mprotect to read-only: EINVAL");
	CHECK(has_line(&p, "madvise 0 0"));
	CHECK(has_line(&p, "verify ok"));
	CHECK(has_line(&p, "munmap 0 0") && has_line(&p, "kind none"));
	nothing_left(used0);
}

static void expect_plain(char *const env[], const char *size)
{
	char *argv[] = { "mshare-pl", "mmap", (char *)size, "fill", "3",
		"verify", "3", "munmap", "exit", "0", NULL };
	struct pl p;

	CHECK(pl_run(&p, env, 0, argv) == 0);
	CHECKF(count_kind(&p, "mmap", "shmem") == 1, "not redirected");
	CHECK(has_line(&p, "verify ok") && has_line(&p, "munmap 0 0"));
	CHECK(unlinked_regions() == 0);
}

static void remount(void)
{
	struct statfs sfs;

	if (!statfs(MNT, &sfs) && sfs.f_type == MSHAREFS_MAGIC)
		return;
	if (mount("none", MNT, MSHAREFS_FSTYPE, 0, NULL))
		fprintf(stderr, "live-preload: remount %s: %s\n", MNT,
			strerror(errno));
}

static void part_fallback(void)
{
	char *other[] = { lib_env(), "LIBMSHARE_MOUNT=/tmp", NULL };
	char *noanon[] = { lib_env(), "MSHARE_ANON=0", NULL };
	char *big[] = { lib_env(), "MSHARE_MIN_SIZE=65M", NULL };
	char *plain[] = { lib_env(), NULL };
	char *bad[] = { lib_env(), "MSHARE_MIN_SIZE=lots", NULL };

	expect_plain(other, "64M");
	expect_plain(noanon, "64M");
	expect_plain(big, "64M");
	expect_plain(plain, "16M");
	/* A bad value keeps the default (and the program runs). */
	{
		char *argv[] = { "mshare-pl", "mmap", "64M", "kind", "munmap",
			"exit", "0", NULL };
		struct pl p;

		CHECK(pl_run(&p, bad, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "msharefs") == 1);
	}
	/* msharefs not mounted at all. */
	live_atexit(remount);
	CHECK(umount(MNT) == 0);
	{
		char *argv[] = { "mshare-pl", "mmap", "64M", "fill", "3",
			"verify", "3", "munmap", "exit", "0", NULL };
		struct pl p;

		CHECK(pl_run(&p, plain, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "shmem") == 1);
		CHECK(has_line(&p, "verify ok"));
	}
	CHECK(mount("none", MNT, MSHAREFS_FSTYPE, 0, NULL) == 0);
	/* Mounted again: the next program is redirected. */
	{
		char *argv[] = { "mshare-pl", "mmap", "64M", "munmap", "exit",
			"0", NULL };
		struct pl p;

		CHECK(pl_run(&p, plain, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "msharefs") == 1);
	}
}

/* /proc/sysvipc/shm: "key shmid perms size cpid lpid nattch ..." */
static bool sysvipc(int id, unsigned long *size, unsigned long *nattch)
{
	char line[512];
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	bool found = false;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		int key, shmid, perms, cpid, lpid;

		if (sscanf(line, "%d %d %o %lu %d %d %lu", &key, &shmid, &perms,
			   size, &cpid, &lpid, nattch) == 7 && shmid == id) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/* IPC_RMID every segment, by a program under the library. */
static void remove_segments(char *const env[])
{
	char line[512];
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	int ids[64], n = 0, i;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) && n < 64) {
		int key, shmid;

		if (sscanf(line, "%d %d", &key, &shmid) == 2)
			ids[n++] = shmid;
	}
	fclose(f);
	for (i = 0; i < n; i++) {
		char idtext[16];
		char *argv[] = { "mshare-pl", "shmid", idtext, "shmrmid", "exit",
			"0", NULL };
		struct pl p;

		snprintf(idtext, sizeof(idtext), "%d", ids[i]);
		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(has_line(&p, "shmrmid 0 0"));
	}
}

static void sysv_dir_gone(void)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/sysv", MNT);
	if (rmdir(path) && errno != ENOENT) {
		char *ls[] = { "/bin/ls", "-la", path, NULL };
		char out[4096];

		run_prog(ls, out, sizeof(out));
		CHECKF(0, "rmdir %s: something left in it", path);
	}
}

static void part_sysv(void)
{
	long used0 = used_pages(MNT);
	char *env[] = { lib_env(), NULL };
	char *a_argv[] = { "mshare-pl", "shmget", "0x5a17", "64M", "cx600",
		"shmat", "fill", "5", "shmstat", "pause", "shmstat", "pause",
		"shmrmid", "pause", "verify", "5", "shmdt", "exit", "0", NULL };
	struct mshare_stat st;
	unsigned long size, nattch;
	char name[32], idtext[16];
	struct pl a, p;
	int id;

	pl_start(&a, env, 0, a_argv);
	pl_pause(&a);
	CHECK(line_of(&a, "shmget") && (id = atoi(line_of(&a, "shmget"))) >= 0);
	snprintf(name, sizeof(name), "sysv/%d", id);
	snprintf(idtext, sizeof(idtext), "%d", id);
	CHECK(count_kind(&a, "shmat", "msharefs") == 1);
	CHECK(has_line(&a, "shmstat 67108864 1 0"));
	/* The region, with the segment's permissions; the kernel's segment. */
	CHECK(mshare_stat(name, &st) == 0);
	CHECK(st.size == 64 * MIB && st.attachers == 1 &&
	      (st.mode & 0777) == 0600);
	CHECK(st.resident_bytes == 64 * MIB);
	CHECK(sysvipc(id, &size, &nattch) && size == 64 * MIB && nattch == 1);

	/* Unrelated processes, by key. */
	{
		char *argv[] = { "mshare-pl", "shmget", "0x5a17", "0", "0",
			"shmat", "verify", "5", "write", "4104", "9", "shmstat",
			"exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "shmat", "msharefs") == 1);
		CHECK(has_line(&p, "verify ok") && has_line(&p, "write ok"));
		CHECK(has_line(&p, "shmstat 67108864 2 0"));
	}
	{
		char *argv[] = { "mshare-pl", "shmget", "0x5a17", "0", "0",
			"shmat", "r", "read", "4104", "write", "0", "1",
			"shmget", "0x5a17", "64M", "cx600", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "shmat", "msharefs") == 1);
		CHECK(has_line(&p, "read 9"));
		CHECKF(has_line(&p, "write segv"), "SHM_RDONLY");
		CHECKF(has_line(&p, "shmget err 17"), "IPC_CREAT|IPC_EXCL: EEXIST");
	}
	{
		/* Mode 0600 of root: EACCES for another user, as SysV says. */
		char *argv[] = { "mshare-pl", "shmid", idtext, "shmat", "exit",
			"0", NULL };

		CHECK(pl_run(&p, env, NOBODY, argv) == 0);
		CHECKF(has_line(&p, "shmat err 13"), "EACCES");
	}
	pl_continue(&a);
	pl_pause(&a);
	CHECK(has_line(&a, "shmstat 67108864 1 0"));
	CHECK(sysvipc(id, &size, &nattch) && nattch == 1);
	/* IPC_RMID while attached: the name goes, the memory stays. */
	pl_continue(&a);
	pl_pause(&a);
	CHECK(has_line(&a, "shmrmid 0 0"));
	EXPECT_ERRNO(mshare_stat(name, &st), ENOENT);
	CHECK(unlinked_regions() == 1);
	{
		char *argv[] = { "mshare-pl", "shmid", idtext, "shmat", "exit",
			"0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECKF(has_line(&p, "shmat err 43"), "EIDRM after IPC_RMID");
	}
	pl_continue(&a);
	CHECK(pl_wait(&a) == 0);
	CHECK(has_line(&a, "verify ok") && has_line(&a, "shmdt 0 0"));
	CHECK(!sysvipc(id, &size, &nattch));
	nothing_left(used0);
	sysv_dir_gone();

	/* IPC_PRIVATE, attached by the children of its creator, 100 MiB + 1. */
	{
		char *argv[] = { "mshare-pl", "shmget", "0", "104857601", "c600",
			"shmat", "fill", "2", "forkverify", "4", "2", "shmstat",
			"shmrmid", "shmdt", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "shmat", "msharefs") == 1);
		CHECK(has_line(&p, "forkverify ok"));
		CHECK(has_line(&p, "shmstat 104857601 1 0"));
		CHECK(has_line(&p, "shmdt 0 0"));
	}
	/* Small ones stay System V memory. */
	{
		char *argv[] = { "mshare-pl", "shmget", "0", "56", "c600",
			"shmat", "shmrmid", "shmdt", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "shmat", "shmem") == 1);
	}
	nothing_left(used0);
	sysv_dir_gone();
}

static void part_exec(void)
{
	long used0 = used_pages(MNT);
	char *env[] = { lib_env(), "MSHARE_VERBOSE=0", NULL };
	char *argv[] = { "mshare-pl", "mmap", "32M", "exec", "mmap", "32M",
		"unsetenv", "MSHARE_VERBOSE", "exec", "mmap", "40M", "fill", "1",
		"forkverify", "2", "1", "execclean", "mmap", "32M", "exit", "0",
		NULL };
	struct pl p;

	CHECK(pl_run(&p, env, 0, argv) == 0);
	CHECKF(count_kind(&p, "mmap", "msharefs") == 3, "three exec'd images");
	CHECKF(count_kind(&p, "mmap", "shmem") == 1, "an empty environment");
	CHECK(has_line(&p, "forkverify ok"));
	nothing_left(used0);
}

static void part_threads(void)
{
	long used0 = used_pages(MNT);
	char *env[] = { lib_env(), NULL };
	int iter = 40 / (getenv("MSHARE_SLOWDOWN") ?
			 atoi(getenv("MSHARE_SLOWDOWN")) : 1);
	char itext[16];
	char *argv[] = { "mshare-pl", "threads", "8", itext, "33M", "vm",
		"exit", "0", NULL };
	struct pl p;

	snprintf(itext, sizeof(itext), "%d", iter > 4 ? iter : 4);
	CHECK(pl_run(&p, env, 0, argv) == 0);
	CHECK(line_of(&p, "threads") && !strncmp(line_of(&p, "threads"), "ok", 2));
	nothing_left(used0);
}

static void part_storm(void)
{
	long used0 = used_pages(MNT);
	char *env[] = { lib_env(), NULL };
	int round, i, n = 12;

	for (round = 0; round < 3; round++) {
		struct pl p[12];
		char *anon[] = { "mshare-pl", "mmap", "40M", "fill", "1",
			"forkverify", "2", "1", "mmap", "36M", "fill", "2",
			"pause", NULL };
		char *sysv[] = { "mshare-pl", "shmget", "0", "40M", "c600",
			"shmat", "fill", "3", "shmrmid", "forkverify", "2", "3",
			"pause", NULL };
		char *fast[] = { "mshare-pl", "mmap", "40M", "mmap", "40M",
			"mmap", "40M", "mmap", "40M", "pause", NULL };

		for (i = 0; i < n; i++)
			pl_start(&p[i], env, 0, i % 3 == 0 ? anon :
				 i % 3 == 1 ? sysv : fast);
		/* Some are killed at once, mid-mmap, the others once set up. */
		for (i = 0; i < n; i++) {
			if ((i + round) % 2)
				usleep(1000 * (unsigned int)(i % 4));
			else
				pl_pause(&p[i]);
			CHECK(kill(p[i].pid, SIGKILL) == 0);
		}
		for (i = 0; i < n; i++) {
			int st;

			close(p[i].in);
			close(p[i].out);
			st = wait_status(p[i].pid);
			CHECKF(st == 128 + SIGKILL || st == 0,
			       "status %d", st);
		}
		/* Nameless regions died with their processes. */
		CHECK(unlinked_settled() == 0);
		/*
		 * Segments killed before their IPC_RMID persist, as System V
		 * segments do, with their regions: removed under the library.
		 */
		remove_segments(env);
		nothing_left(used0);
	}
	/*
	 * Tombstones of segments removed while attached, whose last
	 * attacher was killed, are swept when the next segment is made.
	 */
	{
		char *argv[] = { "mshare-pl", "shmget", "0", "40M", "c600",
			"shmrmid", "exit", "0", NULL };
		struct pl p;

		CHECK(pl_run(&p, env, 0, argv) == 0);
	}
	sysv_dir_gone();
}

static void part_run(void)
{
	long used0 = used_pages(MNT);
	char libvar[300];
	char *env[] = { libvar, NULL };
	struct pl p;

	snprintf(libvar, sizeof(libvar), "MSHARE_PRELOAD_LIB=%s", lib);
	{
		char *argv[] = { "mshare", "run", "--", "mshare-pl", "mmap",
			"64M", "pause", "munmap", "exit", "3", NULL };
		char out[4096];
		char *ls[] = { "mshare", "ls", NULL };

		pl_start(&p, env, 0, argv);
		pl_pause(&p);
		CHECK(run_prog(ls, out, sizeof(out)) == 0);
		CHECKF(strstr(out, "(unlinked #") && strstr(out, "64M"),
		       "mshare ls shows the region");
		pl_continue(&p);
		CHECKF(pl_wait(&p) == 3, "the command's exit status");
		CHECK(count_kind(&p, "mmap", "msharefs") == 1);
	}
	{
		char *argv[] = { "mshare", "run", "--no-anon", "mshare-pl", "mmap",
			"64M", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "shmem") == 1);
	}
	{
		char *argv[] = { "mshare", "run", "--min-size=128M", "--",
			"mshare-pl", "mmap", "64M", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "shmem") == 1);
	}
	{
		char *argv[] = { "mshare", "run", "--verbose", "--min-size", "4M",
			"mshare-pl", "mmap", "8M", "exit", "0", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 0);
		CHECK(count_kind(&p, "mmap", "msharefs") == 1);
		CHECKF(strstr(p.buf, "mshare-preload[") &&
		       strstr(p.buf, "region #"), "one line per decision");
	}
	{
		char *argv[] = { "mshare", "run", "--", "no-such-command", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 127);
	}
	{
		char *argv[] = { "mshare", "run", "--min-size", "lots", "--",
			"mshare-pl", NULL };

		CHECK(pl_run(&p, env, 0, argv) == 125);
	}
	{
		char *noenv[] = { "MSHARE_PRELOAD_LIB=/no/such/lib.so", NULL };
		char *argv[] = { "mshare", "run", "mshare-pl", NULL };

		CHECK(pl_run(&p, noenv, 0, argv) == 125);
		CHECK(strstr(p.buf, "MSHARE_PRELOAD_LIB") != NULL);
	}
	nothing_left(used0);
}

static void part_dlopen(void)
{
	const char *so = sibling("libpl-deep.so");
	char *listed[] = { lib_env(), "MSHARE_NODEEPBIND=libpl-deep.so", NULL };
	char *dflt[] = { lib_env(), NULL };
	char sopath[256];
	struct pl p;

	CHECK(so != NULL);
	snprintf(sopath, sizeof(sopath), "%s", so);
	{
		char *argv[] = { "mshare-pl", "dlopen", sopath, "deep", "64M",
			"exit", "0", NULL };

		CHECK(pl_run(&p, listed, 0, argv) == 0);
		CHECKF(count_kind(&p, "dlopen", "msharefs") == 1,
		       "RTLD_DEEPBIND dropped for a listed library");
		/* Not listed: the library's own libc mmap, past the shim. */
		CHECK(pl_run(&p, dflt, 0, argv) == 0);
		CHECKF(count_kind(&p, "dlopen", "shmem") == 1,
		       "RTLD_DEEPBIND bypasses the library");
	}
	{
		char *argv[] = { "mshare-pl", "dlopen", sopath, "nodeep", "64M",
			"exit", "0", NULL };

		CHECK(pl_run(&p, dflt, 0, argv) == 0);
		CHECK(count_kind(&p, "dlopen", "msharefs") == 1);
	}
	CHECK(unlinked_regions() == 0);
}

int main(int argc, char **argv)
{
	static const struct live_part parts[] = {
		{ "anon", part_anon },
		{ "fallback", part_fallback },
		{ "sysv", part_sysv },
		{ "exec", part_exec },
		{ "threads", part_threads },
		{ "storm", part_storm },
		{ "run", part_run },
		{ "dlopen", part_dlopen },
	};
	const char *l;

	live_init("live-preload");
	l = sibling("libmshare-preload.so");
	CHECKF(l != NULL, "libmshare-preload.so not in %s", bindir());
	snprintf(lib, sizeof(lib), "%s", l);
	live_run_parts("live-preload", parts, sizeof(parts) / sizeof(parts[0]), argc, argv);
	live_done();
}

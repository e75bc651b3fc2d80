// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-memcg: region memory is charged to the memory cgroup of the process
 * that created the region, whoever faults it in, and memory.max is
 * enforced with SIGBUS in the faulting process, never an OOM kill.
 * - A creator in cgroup "owner" (memory.max 16 MiB) makes a 64 MiB region
 *   and exits; a process in the root cgroup touches it chunk by chunk:
 *   the owner's memory.current grows by 2 MiB a chunk, the toucher's
 *   cgroup does not, and the touch that would pass 16 MiB raises SIGBUS
 *   (the toucher survives it).  A bystander sleeping in "owner" is not
 *   killed; memory.events shows no oom_kill anywhere.
 * - A toucher in a cgroup with a 4 MiB memory.max can still fault in
 *   more than 4 MiB of the region: the charge is not its own.
 * - Unlinking the region gives the memory back to "owner".
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG	"/sys/fs/cgroup"
#define OWNER	CG "/mshare-owner"
#define SMALL	CG "/mshare-small"
#define SZ	(64 * MIB)
#define NCH	((long)(SZ / GRANULE))
#define LIMIT	(16 * MIB)

static long cg_long(const char *cg, const char *file, const char *key)
{
	char path[256];
	const char *text, *p;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	text = proc_read(path);
	CHECKF(text != NULL, "cannot read %s", path);
	if (!key)
		return strtol(text, NULL, 10);
	p = strstr(text, key);
	CHECKF(p != NULL, "%s has no %s", path, key);
	return strtol(p + strlen(key), NULL, 10);
}

static void cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	CHECKF(proc_write(path, val) == 0, "write %s to %s", val, path);
}

static void cg_enter(const char *cg)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cg_write(cg, "cgroup.procs", pid);
}

static void cleanup(void)
{
	rmdir(OWNER);
	rmdir(SMALL);
}

static int creator(void *arg)
{
	(void)arg;
	cg_enter(OWNER);
	return raw_create("charged", SZ) >= 0 ? 0 : 1;
}

static int bystander(void *arg)
{
	(void)arg;
	cg_enter(OWNER);
	for (;;)
		pause();
	return 0;
}

/* What a toucher did: chunks touched, then the signal that stopped it. */
struct touch_result {
	long chunks;	/* touched without a signal */
	int sig;	/* the signal of the first failing touch (0: none) */
};

static struct touch_result *tr;

static int toucher(void *arg)
{
	const char *cg = arg;
	int fd = open(mpath("charged"), O_RDWR);
	char *w;

	if (cg)
		cg_enter(cg);
	if (fd < 0)
		return 2;
	w = raw_attach(fd, SZ, PROT_READ | PROT_WRITE);
	for (long c = 0; c < NCH; c++) {
		int sig = probe_write(w + c * GRANULE, 1);

		if (sig) {
			tr->sig = sig;
			return 0;
		}
		tr->chunks = c + 1;
	}
	return 0;
}

int main(void)
{
	long cur0, cur, small0, kills0;
	pid_t by;
	char lim[32];

	live_init("live-memcg");
	live_atexit(cleanup);
	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(tr != MAP_FAILED);

	if (access(CG "/cgroup.controllers", F_OK))
		CHECKF(mount("none", CG, "cgroup2", 0, NULL) == 0, "mount cgroup2 on " CG);
	CHECKF(strstr(proc_read(CG "/cgroup.controllers"), "memory") != NULL,
	       "no memory controller: %s", proc_read(CG "/cgroup.controllers"));
	cg_write(CG, "cgroup.subtree_control", "+memory");
	CHECK(mkdir(OWNER, 0755) == 0 || errno == EEXIST);
	CHECK(mkdir(SMALL, 0755) == 0 || errno == EEXIST);
	snprintf(lim, sizeof(lim), "%lu", LIMIT);
	cg_write(OWNER, "memory.max", lim);
	snprintf(lim, sizeof(lim), "%lu", 4 * MIB);
	cg_write(SMALL, "memory.max", lim);

	CHECK(run_child(creator, NULL) == 0);
	by = spawn(bystander, NULL);
	cur0 = cg_long(OWNER, "memory.current", NULL);
	kills0 = cg_long(OWNER, "memory.events", "oom_kill ");

	/* A toucher in the root cgroup: charged to the owner, SIGBUS at its limit. */
	CHECK(run_child(toucher, NULL) == 0);
	cur = cg_long(OWNER, "memory.current", NULL);
	fprintf(stderr, "  root-cgroup toucher: %ld chunks, then signal %d; owner memory.current "
		"%+ld KiB\n", tr->chunks, tr->sig, (cur - cur0) / 1024);
	CHECKF(tr->sig == SIGBUS, "the touch past memory.max got signal %d, want SIGBUS", tr->sig);
	CHECKF(tr->chunks >= 4 && tr->chunks * (long)GRANULE <= (long)LIMIT,
	       "%ld chunks fitted under a %lu MiB limit", tr->chunks, LIMIT / MIB);
	CHECKF(cur - cur0 >= (tr->chunks - 1) * (long)GRANULE,
	       "owner charged %+ld KiB for %ld chunks", (cur - cur0) / 1024, tr->chunks);
	CHECK(kill(by, 0) == 0);			/* the bystander lives */
	CHECK(cg_long(OWNER, "memory.events", "oom_kill ") == kills0);

	/* Unlinking gives the owner its memory back. */
	CHECK(unlink(mpath("charged")) == 0);
	CHECK(wait_used_pages(MNT, 0) == 0);
	cur = cg_long(OWNER, "memory.current", NULL);
	fprintf(stderr, "  unlinked: owner memory.current %+ld KiB\n", (cur - cur0) / 1024);
	CHECKF(cur - cur0 < 1024 * 1024, "owner still charged %+ld KiB", (cur - cur0) / 1024);

	/* A toucher whose own cgroup allows 4 MiB still faults in more. */
	CHECK(run_child(creator, NULL) == 0);
	small0 = cg_long(SMALL, "memory.current", NULL);
	memset(tr, 0, sizeof(*tr));
	CHECK(run_child(toucher, SMALL) == 0);
	fprintf(stderr, "  4 MiB-cgroup toucher: %ld chunks, then signal %d; its cgroup "
		"%+ld KiB\n", tr->chunks, tr->sig, (cg_long(SMALL, "memory.current", NULL) -
						     small0) / 1024);
	CHECKF(tr->chunks > 2, "a toucher limited to 4 MiB faulted in only %ld chunks",
	       tr->chunks);
	CHECK(cg_long(SMALL, "memory.events", "oom_kill ") == 0);
	CHECK(cg_long(OWNER, "memory.events", "oom_kill ") == kills0);

	CHECK(kill(by, SIGKILL) == 0);
	CHECK(wait_status(by) == 128 + SIGKILL);
	CHECK(unlink(mpath("charged")) == 0);
	CHECK(wait_used_pages(MNT, 0) == 0);
	live_done();
}

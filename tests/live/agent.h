/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Agents: attacher processes a live test drives line by line, so that it
 * can interleave what several processes do with one region and measure
 * each of them (faults, VmPTE) around exactly one step.
 *
 * An agent is either forked from the test (agent_fork) or a separately
 * exec'd mshare-agent (agent_exec); both serve the same commands (one
 * line in, one line out; the reply starts with "ok" or "err"):
 *
 *   open NAME rw|ro       open(/sys/fs/mshare/NAME, O_RDWR|O_RDONLY)
 *   lopen NAME rw|ro      the same through mcreate()
 *   attach r|rw|rx|rwx [lib]
 *                         mmap (or mattach) the whole region -> ok ADDR SIZE
 *   adopt ADDR SIZE       use a window inherited from the test (fork agents)
 *   forkcheck SEED NEW    a fork child of the agent touches the inherited
 *                         window, verifies SEED, writes NEW
 *                         -> ok TOUCH_FAULTS VMPTE_GROWTH_KIB VERIFY_FAULTS STATUS
 *   detach                munmap (or mdetach) the window
 *   close                 close the region fd
 *   touch r|w             read (write back) one byte of every page
 *                         -> ok FAULTS VMPTE_GROWTH_KIB
 *   verify SEED           whole window holds pattern SEED -> ok FAULTS
 *   vpartial SEED         every word is 0 or pattern SEED -> ok FAULTS WORDS_SET
 *   fill SEED             write pattern SEED -> ok FAULTS
 *   probe r|w OFF         access one byte -> ok SIGNAL (0: no fault)
 *   exec PATH             reply, then execv(PATH) (the agent is gone)
 *   forkexec PATH         a fork child touches the whole window (links every
 *                         table in its own mm), then execs PATH -> ok STATUS
 *   spin                  reply, then read the window until killed
 *   exit                  reply, then _exit(0)
 *
 * FAULTS are the agent's page faults (minor + major) during the command.
 * A test that fails kills its agents; agents die with the test (PDEATHSIG).
 */
#ifndef LIVE_AGENT_H
#define LIVE_AGENT_H

#include "common.h"

struct agent {
	pid_t pid;
	int to, from;		/* command pipe (write end), reply pipe (read end) */
	char name[32];
	void *addr;		/* the window, after "attach" */
};

/* Start an agent named name (for diagnostics). */
void agent_fork(struct agent *a, const char *name);
void agent_exec(struct agent *a, const char *name);

/*
 * Send a command and return its reply with the leading "ok " removed;
 * fail the test if the reply is not "ok..." or does not come in 20 s.
 */
#define AGENT(a, ...) agent_do(__FILE__, __LINE__, (a), __VA_ARGS__)
const char *agent_do(const char *file, int line, struct agent *a,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Same, but return the whole reply, or NULL on EOF / timeout. */
const char *agent_try(struct agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* First number of a reply (e.g. the FAULTS of verify). */
long reply_num(const char *reply, int index);

/* "exit", then wait: the agent must exit 0. */
void agent_stop(struct agent *a);
/* Reap an agent that ends by itself (after "exec"); its wait status. */
int agent_wait(struct agent *a);
/* SIGKILL and reap; returns the wait status like wait_status(). */
int agent_kill(struct agent *a);

/* The command loop (mshare-agent's main runs it on stdin/stdout). */
int agent_serve(int in, int out);

#endif /* LIVE_AGENT_H */

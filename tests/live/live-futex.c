// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Process-shared locks in a region: a PTHREAD_PROCESS_SHARED mutex and
 * condition variable (futexes keyed on the region's inode and page index)
 * work between processes that attached the region at different addresses,
 * and between a parent and its fork child.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmshare.h>

#include "common.h"

#define SIZE	(4 * MIB)
#define ROUNDS	200

struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long turn;	/* even: parent's turn, odd: child's */
	unsigned long counter;
};

static void init_shared(struct shared *s)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;

	CHECK(pthread_mutexattr_init(&ma) == 0);
	CHECK(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) == 0);
	CHECK(pthread_mutex_init(&s->lock, &ma) == 0);
	CHECK(pthread_condattr_init(&ca) == 0);
	CHECK(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED) == 0);
	CHECK(pthread_cond_init(&s->cond, &ca) == 0);
	s->turn = 0;
	s->counter = 0;
}

/* Take ROUNDS turns, waiting on the condition variable for the other side. */
static int ping_pong(struct shared *s, unsigned long parity)
{
	for (int i = 0; i < ROUNDS; i++) {
		if (pthread_mutex_lock(&s->lock))
			return 10;
		while (s->turn % 2 != parity)
			if (pthread_cond_wait(&s->cond, &s->lock))
				return 11;
		s->counter++;
		s->turn++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

static int fd;

/* The child attaches the region again: a second, different address. */
static int child_own_window(void *arg)
{
	struct shared *s;

	(void)arg;
	s = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	if (s == MAP_FAILED)
		return 2;
	return ping_pong(s, 1);
}

static int child_inherited(void *arg)
{
	return ping_pong(arg, 1);
}

int main(void)
{
	struct shared *s;
	pid_t pid;
	int status;

	live_init("live-futex");
	fd = EXPECT_OK(mcreate("futex", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(fd, SIZE));
	s = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	CHECK(s != MAP_FAILED);

	/* A child with its own window: futex keys must be inode-based. */
	init_shared(s);
	pid = spawn(child_own_window, NULL);
	CHECK(ping_pong(s, 0) == 0);
	status = wait_status(pid);
	CHECKF(status == 0, "child exit status %d", status);
	CHECKF(s->counter == 2 * ROUNDS, "counter %lu", s->counter);

	/* A fork child using the inherited window. */
	init_shared(s);
	pid = spawn(child_inherited, s);
	CHECK(ping_pong(s, 0) == 0);
	status = wait_status(pid);
	CHECKF(status == 0, "child exit status %d", status);
	CHECKF(s->counter == 2 * ROUNDS, "counter %lu", s->counter);

	EXPECT_OK(mdetach(s));
	EXPECT_OK(close(fd));
	EXPECT_OK(mshare_unlink("futex"));
	live_done();
}

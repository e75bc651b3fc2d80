// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-runas UID GID COMMAND [ARG]...: run COMMAND as UID/GID with no
 * supplementary groups (the workload VM has no su worth the name; initdb
 * and postgres refuse to run as root).  The environment is kept.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t uid;
	gid_t gid;

	if (argc < 4) {
		fprintf(stderr, "usage: mshare-runas UID GID COMMAND [ARG]...\n");
		return 2;
	}
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid = (gid_t)strtoul(argv[2], NULL, 10);
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
		perror("mshare-runas");
		return 126;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}

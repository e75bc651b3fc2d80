// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-agent: an attacher the live tests exec and drive line by line on
 * stdin/stdout (not a test by itself); the commands are in agent.h.
 */
#include "agent.h"

int main(void)
{
	return agent_serve(0, 1);
}

# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A kernel log without the reports a test asked for (busybox awk in the VM:
# init.sh's per-test check; awk on the host: run-vm.sh's console scan).
# Between the lines "mshare-expect: oom begin" and "mshare-expect: oom end"
# that a test writes to the kernel log (live-oom), each out-of-memory
# report, from its "invoked oom-killer" line to its "Killed process" line,
# is expected and left out; every other line there is kept and checked.
/mshare-expect: oom begin/ { expect = 1 }
/mshare-expect: oom end/ { expect = 0; oom = 0 }
expect && /invoked oom-killer/ { oom = 1 }
!oom { print }
oom && /(Out of memory|Memory cgroup out of memory): Killed process/ { oom = 0 }

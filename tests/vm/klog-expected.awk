# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A kernel log without the reports a test asked for (busybox awk in the VM:
# init.sh's per-test check; awk on the host: run-vm.sh's console scan).
# Between the lines "mshare-expect: oom begin" and "mshare-expect: oom end"
# that a test writes to the kernel log (live-oom), the stack dump of each
# out-of-memory report ("invoked oom-killer") and of each allocation
# failure it causes ("page allocation failure": an OOM victim's last
# allocation), from that line to the dump's "</TASK>", is expected and
# left out; every other line there is kept and checked (a BUG, a lockdep
# or KASAN report has its own header, and is still seen).
/mshare-expect: oom begin/ { expect = 1 }
/mshare-expect: oom end/ { expect = 0; skip = 0 }
expect && (/invoked oom-killer/ || /page allocation failure/) { skip = 1 }
!skip { print }
skip && /<\/TASK>/ { skip = 0 }

// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: share memory, and its page tables, between processes.
 *
 * Module entry points: register the filesystem, provide its mount point
 * /sys/fs/mshare, and check at unload that every page came back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernfs.h>
#include <linux/sysfs.h>
#include <linux/kobject.h>

#include "msharefs.h"

#define MSHAREFS_SYSFS_DIR	"mshare"

atomic_long_t msharefs_pages_alive = ATOMIC_LONG_INIT(0);
atomic_long_t msharefs_regions_alive = ATOMIC_LONG_INIT(0);

/* Whether this module created /sys/fs/mshare (and so must remove it). */
static bool msharefs_made_mount_point;

static int msharefs_create_mount_point(void)
{
	struct kernfs_node *kn;
	int err;

	/* sysfs_create_mount_point() warns loudly about duplicates: look first. */
	kn = kernfs_find_and_get(fs_kobj->sd, MSHAREFS_SYSFS_DIR);
	if (kn) {
		kernfs_put(kn);
		return 0;
	}
	err = sysfs_create_mount_point(fs_kobj, MSHAREFS_SYSFS_DIR);
	if (err)
		return err;
	msharefs_made_mount_point = true;
	return 0;
}

static int __init msharefs_init(void)
{
	int err;

	/* Links must leave every TLB: see msharefs_flush_tlb_local(). */
	if (!msharefs_tlb_flush_possible()) {
		pr_err("cannot flush this CPU's TLBs without __flush_tlb_all() (PCID without INVPCID, or Xen PV)\n");
		return -EOPNOTSUPP;
	}
	err = msharefs_inode_cache_init();
	if (err)
		return err;
	err = msharefs_create_mount_point();
	if (err)
		goto out_cache;
	err = register_filesystem(&msharefs_fs_type);
	if (err)
		goto out_mount_point;
	pr_info("loaded, granule %lu bytes\n", MSHAREFS_GRANULE);
	return 0;

out_mount_point:
	if (msharefs_made_mount_point)
		sysfs_remove_mount_point(fs_kobj, MSHAREFS_SYSFS_DIR);
out_cache:
	msharefs_inode_cache_destroy();
	return err;
}

static void __exit msharefs_exit(void)
{
	long pages, regions, tables;

	unregister_filesystem(&msharefs_fs_type);
	mshare_pt_shared_exit();
	if (msharefs_made_mount_point)
		sysfs_remove_mount_point(fs_kobj, MSHAREFS_SYSFS_DIR);
	msharefs_inode_cache_destroy();
	/* rmmod is a process with an mm: the pool goes back to the core. */
	mshare_parking_release();
	mshare_table_pool_drain();
	mshare_backing_exit();

	pages = atomic_long_read(&msharefs_pages_alive);
	regions = atomic_long_read(&msharefs_regions_alive);
	tables = mshare_tables_held();
	if (pages || regions || tables)
		pr_err("unloaded with %ld pages, %ld regions and %ld page tables leaked\n",
		       pages, regions, tables);
	else
		pr_info("unloaded, no pages, regions or page tables left\n");
}

module_init(msharefs_init);
module_exit(msharefs_exit);

MODULE_DESCRIPTION("msharefs: memory and page tables shared between processes");
MODULE_AUTHOR("libmshare developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MSHAREFS_VERSION);
MODULE_ALIAS_FS("msharefs");

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare internals: shared between the library sources, the unit tests
 * (which link libmshare_internal) and the fuzz targets.  Nothing here is
 * exported from libmshare.so.
 */
#ifndef LIBMSHARE_INTERNAL_H
#define LIBMSHARE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MSH_EXPORT	__attribute__((visibility("default")))

/* Where mount discovery reads the mount table (tests point it elsewhere). */
#define MSH_MOUNTINFO_PATH	"/proc/self/mountinfo"
/* Where mdetach() looks for attachments. */
#define MSH_MAPS_PATH		"/proc/self/maps"

extern const char *msh_mountinfo_path;
extern const char *msh_maps_path;

/* names.c */
int msh_name_check(const char *name, const char **rel);
int msh_path_join(const char *dir, const char *rel, char *buf, size_t size);

/* mount.c */
struct libmnt_table;
bool msh_is_msharefs_path(const char *path);
int msh_mount_pick(struct libmnt_table *tb, char **out);
int msh_mount_discover_stream(FILE *f, char **out);
int msh_mount_discover_file(const char *mountinfo, char **out);
int msh_mount_resolve(const char *env, const char *mountinfo, char **out);
void msh_mount_cache_reset(void);

/* granule.c */
int msh_granule_parse(const char *buf, size_t len, long *granule);
int msh_granule_read(const char *mnt, long *granule);
void msh_granule_cache_reset(void);

/* maps.c */
struct msh_vma {
	uintptr_t start;
	uintptr_t end;
	unsigned long long offset;
	unsigned int major;
	unsigned int minor;
	unsigned long long inode;
};

int msh_maps_parse_line(const char *line, struct msh_vma *vma);
int msh_maps_find(FILE *maps, uintptr_t addr, dev_t dev,
		  uintptr_t *start, size_t *len);

/* libmshare.c */
int msh_check_fd(int fd);
int msh_region_path(const char *name, char *path);

/* stat.c */
struct msharefs_region_stat;
struct msharefs_fs_stat;
struct mshare_stat;
struct mshare_statfs;

/*
 * Bytes of the first version of the statistics structures: the kernel
 * refuses smaller buffers and never fills less.
 */
#define MSH_REGION_STAT_V1_SIZE	96
#define MSH_FS_STAT_V1_SIZE	120

int msh_region_stat_convert(const struct msharefs_region_stat *k,
			    size_t asked, struct mshare_stat *st);
int msh_fs_stat_convert(const struct msharefs_fs_stat *k, size_t asked,
			struct mshare_statfs *st);

/* Close @fd without clobbering errno. */
void msh_close_quiet(int fd);

#endif /* LIBMSHARE_INTERNAL_H */

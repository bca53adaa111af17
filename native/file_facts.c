/* What a file or block device allows for direct I/O: the DIO alignment from
 * statx(STATX_DIOALIGN), block sizes and size from the block-layer ioctls,
 * the file-system type, and fallocate. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "addon.h"

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

/* fileFacts(fd) -> { isBlockDevice, size, dioMemAlign, dioOffsetAlign,
 *   logicalBlockSize, physicalBlockSize, fsType, devMajor, devMinor,
 *   rdevMajor, rdevMinor }. Alignments are 0 where the kernel cannot say. */
static napi_value js_file_facts(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t fd;
  if (!get_uint32_arg(env, argv[0], &fd, "fd must be a non-negative integer")) return NULL;
  struct stat st;
  if (fstat((int)fd, &st) < 0) return throw_errno(env, errno, "fstat", NULL);
  struct statfs sfs;
  memset(&sfs, 0, sizeof(sfs));
  if (fstatfs((int)fd, &sfs) < 0) return throw_errno(env, errno, "fstatfs", NULL);

  struct statx stx;
  memset(&stx, 0, sizeof(stx));
  double dio_mem = 0, dio_off = 0;
  if (syscall(SYS_statx, (int)fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN)) {
    dio_mem = stx.stx_dio_mem_align;
    dio_off = stx.stx_dio_offset_align;
  }
  bool is_blk = S_ISBLK(st.st_mode);
  double size = (double)st.st_size, logical = 0, physical = 0;
  if (is_blk) {
    uint64_t bytes = 0;
    int lbs = 0;
    unsigned int pbs = 0;
    if (ioctl((int)fd, BLKGETSIZE64, &bytes) == 0) size = (double)bytes;
    if (ioctl((int)fd, BLKSSZGET, &lbs) == 0) logical = lbs;
    if (ioctl((int)fd, BLKPBSZGET, &pbs) == 0) physical = pbs;
  }
  napi_value out, b;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, napi_get_boolean(env, is_blk, &b));
  NAPI_CALL(env, napi_set_named_property(env, out, "isBlockDevice", b));
  set_num(env, out, "size", size);
  set_num(env, out, "dioMemAlign", dio_mem);
  set_num(env, out, "dioOffsetAlign", dio_off);
  set_num(env, out, "logicalBlockSize", logical);
  set_num(env, out, "physicalBlockSize", physical);
  set_num(env, out, "fsType", (double)(unsigned long)sfs.f_type);
  set_num(env, out, "fsBlockSize", (double)sfs.f_bsize);
  set_num(env, out, "devMajor", major(st.st_dev));
  set_num(env, out, "devMinor", minor(st.st_dev));
  set_num(env, out, "rdevMajor", major(st.st_rdev));
  set_num(env, out, "rdevMinor", minor(st.st_rdev));
  return out;
}

/* fallocate(fd, mode, offset, length) -> Promise<void>, run on libuv's
 * thread pool: allocating a large range walks the file system's extent maps
 * and would otherwise block the event loop. */
typedef struct fallocate_work {
  napi_async_work work;
  napi_deferred deferred;
  int fd, mode, err;
  int64_t offset, length;
} fallocate_work;

static void fallocate_execute(napi_env env, void *data) {
  (void)env;
  fallocate_work *w = data;
  int r;
  do {
    r = fallocate(w->fd, w->mode, w->offset, w->length);
  } while (r < 0 && errno == EINTR);
  w->err = r < 0 ? errno : 0;
}

static void fallocate_complete(napi_env env, napi_status status, void *data) {
  fallocate_work *w = data;
  if (status == napi_ok && w->err == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, w->deferred, undefined);
  } else {
    /* throw_errno builds the AioError and leaves it pending: take it back. */
    throw_errno(env, status == napi_ok ? w->err : ECANCELED, "fallocate", NULL);
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_reject_deferred(env, w->deferred, error);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t fd, mode;
  int64_t offset, length;
  if (!get_uint32_arg(env, argv[0], &fd, "fd must be a non-negative integer") ||
      !get_uint32_arg(env, argv[1], &mode, "mode must be a non-negative integer") ||
      !get_int64_arg(env, argv[2], &offset, "offset must be a safe integer") ||
      !get_int64_arg(env, argv[3], &length, "length must be a safe integer"))
    return NULL;
  if (offset < 0 || length <= 0) return throw_range(env, "offset must be >= 0 and length > 0");
  if (fd > INT32_MAX || mode > INT32_MAX) return throw_range(env, "fd and mode must fit in 31 bits");
  fallocate_work *w = calloc(1, sizeof(*w));
  if (!w) return throw_errno(env, ENOMEM, "fallocate", NULL);
  w->fd = (int)fd;
  w->mode = (int)mode;
  w->offset = offset;
  w->length = length;
  napi_value promise, name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "LINUX_AIO_FALLOCATE", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, fallocate_execute, fallocate_complete, w, &w->work) != napi_ok) {
    free(w);
    return throw_errno(env, ENOMEM, "fallocate", NULL);
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    return throw_errno(env, ENOMEM, "fallocate", NULL);
  }
  return promise;
}

napi_status register_file_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "fileFacts", js_file_facts);
  EXPORT_FN(env, exports, "fallocate", js_fallocate);
  return napi_ok;
}

/* Registered files (IORING_REGISTER_FILES): a file in the ring's table is
 * looked up once, at registration, instead of at every request
 * (IOSQE_FIXED_FILE with the table index in place of the fd).
 *
 * The table is sparse, made at the first registration; a file takes a
 * free entry with IORING_REGISTER_FILES_UPDATE and gives it back the same
 * way before its descriptor is closed. Requests find their entry by fd, so
 * JavaScript must unregister before the fd can be reused: the kernel holds
 * the registered file open, and a new file on the same number would else
 * have its requests sent to the old one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "uring.h"

#define FILE_TABLE 1024

static int update_entry(uring *u, uint32_t index, int fd) {
  struct io_uring_files_update up;
  memset(&up, 0, sizeof(up));
  up.offset = index;
  up.fds = (uint64_t)(uintptr_t)&fd;
  int r = sys_io_uring_register(u->fd, IORING_REGISTER_FILES_UPDATE, &up, 1);
  return r < 0 ? errno : r == 1 ? 0 : EIO;
}

static int make_table(uring *u) {
  int *fds = malloc(FILE_TABLE * sizeof(int));
  int *table = malloc(FILE_TABLE * sizeof(int));
  if (!fds || !table) {
    free(fds);
    free(table);
    return ENOMEM;
  }
  for (uint32_t i = 0; i < FILE_TABLE; i++) fds[i] = table[i] = -1;
  int r = sys_io_uring_register(u->fd, IORING_REGISTER_FILES, fds, FILE_TABLE);
  int err = r < 0 ? errno : 0;
  free(fds);
  if (err) {
    free(table);
    return err;
  }
  u->file_table = table;
  return 0;
}

static bool grow_index(uring *u, uint32_t fd) {
  if (fd < u->index_of_fd_len) return true;
  uint32_t len = u->index_of_fd_len ? u->index_of_fd_len : 64;
  while (len <= fd) len *= 2;
  int32_t *grown = realloc(u->index_of_fd, len * sizeof(int32_t));
  if (!grown) return false;
  for (uint32_t i = u->index_of_fd_len; i < len; i++) grown[i] = -1;
  u->index_of_fd = grown;
  u->index_of_fd_len = len;
  return true;
}

/* (handle, fd) for both calls below: the live io_uring context and the fd. */
static aio_ctx *file_call(napi_env env, napi_callback_info info, uint32_t *fd) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_failed(env);
    return NULL;
  }
  aio_ctx *ctx = unwrap_engine_ctx(env, argv[0], true);
  if (!ctx) return NULL;
  if (!get_uint32_arg(env, argv[1], fd, "fd must be a non-negative integer")) return NULL;
  if (*fd > INT32_MAX) {
    throw_range(env, "fd must be a non-negative 32-bit integer");
    return NULL;
  }
  return ctx;
}

/* uringRegisterFile(handle, fd) -> its index in the ring's file table. */
static napi_value js_uring_register_file(napi_env env, napi_callback_info info) {
  uint32_t fd;
  aio_ctx *ctx = file_call(env, info, &fd);
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  if (fd < u->index_of_fd_len && u->index_of_fd[fd] >= 0)
    return throw_errno(env, EBUSY, "io_uring_register", "this fd is registered with the ring already");
  int err = u->file_table ? 0 : make_table(u);
  if (err) return throw_errno(env, err, "io_uring_register", "cannot make the ring's file table");
  uint32_t index = 0;
  while (index < FILE_TABLE && u->file_table[index] >= 0) index++;
  if (index == FILE_TABLE)
    return throw_errno(env, ENFILE, "io_uring_register", "the ring's file table is full (1024 registered files)");
  if (!grow_index(u, fd)) return throw_errno(env, ENOMEM, "io_uring_register", NULL);
  err = update_entry(u, index, (int)fd);
  if (err) return throw_errno(env, err, "io_uring_register", err == EBADF ? "the fd is not open" : NULL);
  u->file_table[index] = (int)fd;
  u->index_of_fd[fd] = (int32_t)index;
  u->nfiles++;
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, index, &out));
  return out;
}

/* uringUnregisterFile(handle, fd) -> true when the fd was registered. Its
 * requests in flight keep their own hold on the file in the kernel. */
static napi_value js_uring_unregister_file(napi_env env, napi_callback_info info) {
  uint32_t fd;
  aio_ctx *ctx = file_call(env, info, &fd);
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  bool was = fd < u->index_of_fd_len && u->index_of_fd[fd] >= 0;
  if (was) {
    uint32_t index = (uint32_t)u->index_of_fd[fd];
    /* The fd is forgotten whatever happens, so that no request on a file
     * that reuses its number goes to this one; the entry is reused only
     * once the kernel has emptied it. */
    u->index_of_fd[fd] = -1;
    u->nfiles--;
    int err = update_entry(u, index, -1);
    if (err) return throw_errno(env, err, "io_uring_register", "the ring's file table entry stays taken");
    u->file_table[index] = -1;
  }
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, was, &out));
  return out;
}

void uring_sqe_use_fixed_file(const uring *u, struct io_uring_sqe *sqe) {
  if (sqe->opcode == IORING_OP_NOP || sqe->fd < 0 || (uint32_t)sqe->fd >= u->index_of_fd_len) return;
  int32_t index = u->index_of_fd[sqe->fd];
  if (index < 0) return;
  sqe->fd = index;
  sqe->flags |= IOSQE_FIXED_FILE;
}

void uring_free_files(uring *u) {
  free(u->file_table);
  free(u->index_of_fd);
  u->file_table = NULL;
  u->index_of_fd = NULL;
  u->index_of_fd_len = u->nfiles = 0;
}

napi_status register_uring_files_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "uringRegisterFile", js_uring_register_file);
  EXPORT_FN(env, exports, "uringUnregisterFile", js_uring_unregister_file);
  return napi_ok;
}

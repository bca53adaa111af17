/* Registered files (IORING_REGISTER_FILES): a file in the ring's table is
 * looked up once, at registration, instead of at every request
 * (IOSQE_FIXED_FILE with the table index in place of the fd).
 *
 * The table is sparse, made at the first registration; a file takes a
 * free entry with IORING_REGISTER_FILES_UPDATE and gives it back the same
 * way. The kernel holds the file of an entry open whatever becomes of the
 * fd it was registered by, so a request uses an entry only when its row
 * names the index (CMD_FIXED_FILE), which only the registered file's own
 * requests do: a file that later gets the same fd number (the first one's
 * fd closed behind the library's back) reaches its own file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "uring.h"

#define FILE_TABLE 1024
/* Table entries besides an fd: free, or retired (the kernel refused to
 * empty it: neither used nor handed out again). */
#define URING_FILE_FREE (-1)
#define URING_FILE_RETIRED (-2)

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
  for (uint32_t i = 0; i < FILE_TABLE; i++) fds[i] = table[i] = URING_FILE_FREE;
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

/* (handle, n): the live io_uring context and a non-negative 32-bit integer. */
static aio_ctx *file_call(napi_env env, napi_callback_info info, uint32_t *n, const char *what) {
  aio_ctx *ctx = uint_call_args(env, info, true, n, what);
  if (ctx && *n > INT32_MAX) {
    throw_range(env, what);
    return NULL;
  }
  return ctx;
}

/* uringRegisterFile(handle, fd) -> its index in the ring's file table. The
 * same fd may hold two entries (one taken while an earlier file on that
 * number was closed without unregistering): each is its own file. */
static napi_value js_uring_register_file(napi_env env, napi_callback_info info) {
  uint32_t fd;
  aio_ctx *ctx = file_call(env, info, &fd, "fd must be a non-negative 32-bit integer");
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  int err = u->file_table ? 0 : make_table(u);
  if (err) return throw_errno(env, err, "io_uring_register", "cannot make the ring's file table");
  uint32_t index = 0;
  while (index < FILE_TABLE && u->file_table[index] != URING_FILE_FREE) index++;
  if (index == FILE_TABLE)
    return throw_errno(env, ENFILE, "io_uring_register", "the ring's file table is full (1024 registered files)");
  err = update_entry(u, index, (int)fd);
  if (err) return throw_errno(env, err, "io_uring_register", err == EBADF ? "the fd is not open" : NULL);
  u->file_table[index] = (int)fd;
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, index, &out));
  return out;
}

/* uringUnregisterFile(handle, index) -> true when the entry was in use. Its
 * requests in flight keep their own hold on the file in the kernel. */
static napi_value js_uring_unregister_file(napi_env env, napi_callback_info info) {
  uint32_t index;
  aio_ctx *ctx = file_call(env, info, &index, "index must be a non-negative 32-bit integer");
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  bool was = u->file_table && index < FILE_TABLE && u->file_table[index] >= 0;
  if (was) {
    /* No request may use the entry whatever happens; it is handed out
     * again only once the kernel has emptied it. */
    u->file_table[index] = URING_FILE_RETIRED;
    int err = update_entry(u, index, -1);
    if (err) return throw_errno(env, err, "io_uring_register", "the ring's file table entry stays taken");
    u->file_table[index] = URING_FILE_FREE;
  }
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, was, &out));
  return out;
}

bool uring_sqe_use_file(napi_env env, const uring *u, struct io_uring_sqe *sqe, double index) {
  if (!whole_in_range(index, 0, FILE_TABLE - 1) || !u->file_table || u->file_table[(uint32_t)index] < 0) {
    throw_range(env, "the request's registered file is not in the ring's file table");
    return false;
  }
  sqe->fd = (int32_t)index;
  sqe->flags |= IOSQE_FIXED_FILE;
  return true;
}

void uring_free_files(uring *u) {
  free(u->file_table);
  u->file_table = NULL;
}

napi_status register_uring_files_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "uringRegisterFile", js_uring_register_file);
  EXPORT_FN(env, exports, "uringUnregisterFile", js_uring_unregister_file);
  return napi_ok;
}

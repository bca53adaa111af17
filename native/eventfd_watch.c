/* Completion notification. On Linux AIO every request carries
 * IOCB_FLAG_RESFD with the context's eventfd, and the event loop watches
 * that eventfd with a uv_poll_t. An io_uring fd is pollable itself: it is
 * readable while its CQ ring holds completions (or the kernel holds back
 * overflowed ones), so the loop watches the ring fd and no eventfd is read
 * or signalled per wake-up. No thread per request, no timer. The watcher
 * keeps the event loop alive only while JavaScript has armed it (something
 * is in flight or awaited), so an idle context does not hold the process
 * open. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "addon.h"
#include "uring.h"

static void call_notify(aio_ctx *ctx) {
  napi_env env = ctx->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, ctx->notify_fn, &fn) == napi_ok && fn != NULL) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    /* make_callback runs the microtask queue afterwards, so promises that
     * the notification resolves settle before the loop goes on. */
    napi_status s = napi_make_callback(env, ctx->async_ctx, recv, fn, 0, NULL, &result);
    if (s == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  aio_ctx *ctx = handle->data;
  if (status < 0 || ctx->destroyed) return;
  if (ctx->uring) {
    /* The ring fd is level-triggered on the CQ ring itself: nothing to read,
     * and JavaScript's reap (which drains the ring) ends the readiness. */
    if (!uring_cq_ready(ctx->uring)) return;
    call_notify(ctx);
    return;
  }
  uint64_t count;
  /* Drain the counter; EAGAIN means another reader got there first. */
  while (read(ctx->eventfd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  /* Completions reaped already (in the submit that made them, say) still
   * signalled the eventfd: with nothing left in the ring there is nothing to
   * tell JavaScript, and the call into it is spared. The kernel writes the
   * event before it signals, so one that lands after this look signals
   * again and wakes us again. */
  if (ctx->ring && ring_empty(ctx->ring)) return;
  call_notify(ctx);
}

static void on_closed(uv_handle_t *handle) {
  aio_ctx *ctx = handle->data;
  if (ctx->eventfd >= 0) close(ctx->eventfd);
  ctx->eventfd = -1;
  ctx->watch_fd = -1;
  if (ctx->cleanup_hook) napi_remove_async_cleanup_hook(ctx->cleanup_hook);
  ctx->cleanup_hook = NULL;
  ctx_release(ctx);
}

/* Environment teardown (process exit, worker termination): destroy the
 * context, which waits for requests in flight, then finish closing. */
static void on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  aio_ctx *ctx = arg;
  ctx_destroy(ctx);
}

/* Watches the ring fd of an io_uring context (the ring owns it), or a new
 * eventfd of the context's own. */
int watch_init(napi_env env, aio_ctx *ctx) {
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return EINVAL;
  if (ctx->uring) {
    ctx->watch_fd = uring_fd(ctx->uring);
  } else {
    ctx->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ctx->eventfd < 0) return errno;
    ctx->watch_fd = ctx->eventfd;
  }
  int r = uv_poll_init(loop, &ctx->poll, ctx->watch_fd);
  if (r != 0) {
    if (ctx->eventfd >= 0) close(ctx->eventfd);
    ctx->eventfd = ctx->watch_fd = -1;
    return -r;
  }
  ctx->poll.data = ctx;
  ctx->refs++;
  if (napi_add_async_cleanup_hook(env, on_env_teardown, ctx, &ctx->cleanup_hook) != napi_ok)
    ctx->cleanup_hook = NULL;
  return 0;
}

/* Stops watching at once (the watched fd must still be open: the ring's is
 * closed only after this) and closes the handle on the loop's next turn. */
void watch_close(aio_ctx *ctx) {
  if (ctx->watch_fd < 0 || uv_is_closing((uv_handle_t *)&ctx->poll)) return;
  uv_poll_stop(&ctx->poll);
  ctx->poll_active = false;
  uv_close((uv_handle_t *)&ctx->poll, on_closed);
}

/* arm(handle, on): whether the watcher keeps the event loop alive. The
 * poll starts on first use and then stays started: uv_ref/uv_unref cost no
 * syscall, where stopping and restarting it would cost two epoll_ctl calls
 * per idle period (each request, at queue depth 1). */
static napi_value js_arm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  aio_ctx *ctx = unwrap_ctx(env, argv[0], true);
  if (!ctx) return NULL;
  bool on = false;
  NAPI_CALL(env, napi_get_value_bool(env, argv[1], &on));
  if (ctx->destroyed || ctx->watch_fd < 0) return NULL;
  if (on && !ctx->poll_active) {
    int r = uv_poll_start(&ctx->poll, UV_READABLE, on_readable);
    if (r != 0) return throw_errno(env, -r, "uv_poll_start", NULL);
    ctx->poll_active = true;
  }
  if (on)
    uv_ref((uv_handle_t *)&ctx->poll);
  else
    uv_unref((uv_handle_t *)&ctx->poll);
  return NULL;
}

/* eventfdCreate(initval) -> fd, non-blocking and close-on-exec, for users
 * who route completions to their own eventfd (libaio's io_set_eventfd). */
static napi_value js_eventfd_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t initval = 0;
  if (argc > 0 && !get_uint32_arg(env, argv[0], &initval, "initval must be a 32-bit unsigned integer"))
    return NULL;
  int fd = eventfd(initval, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "eventfd", NULL);
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, fd, &out));
  return out;
}

#define ANON_INODE_FS_MAGIC 0x09041934

/* True when fd is an eventfd; false with a JavaScript exception pending
 * otherwise. Reading any other descriptor would take 8 bytes of a file as a
 * "counter", or block the thread on an idle pipe. /proc names what an fd is;
 * without /proc, the anonymous-inode file system is the best evidence. */
static bool check_eventfd(napi_env env, int fd) {
  char proc[64], link[128] = "", hint[200];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(proc, link, sizeof(link) - 1);
  if (n >= 0) link[n] = '\0';
  if (n >= 0 && strcmp(link, "anon_inode:[eventfd]") == 0) return true;
  if (fcntl(fd, F_GETFD) < 0) {
    snprintf(hint, sizeof(hint), "fd %d is not an open file descriptor", fd);
    throw_errno(env, EBADF, "read", hint);
    return false;
  }
  struct statfs sfs;
  if (n < 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == ANON_INODE_FS_MAGIC) return true;
  snprintf(hint, sizeof(hint), "fd %d is not an eventfd (it is %s): pass one made by eventfd()", fd,
           n >= 0 ? link : "not an anonymous inode");
  throw_errno(env, EINVAL, "read", hint);
  return false;
}

/* eventfdRead(fd) -> counter value (0 when nothing was signalled). */
static napi_value js_eventfd_read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t fd;
  if (!get_uint32_arg(env, argv[0], &fd, "fd must be a non-negative integer")) return NULL;
  if (fd > INT32_MAX) return throw_range(env, "fd must be a non-negative 32-bit integer");
  if (!check_eventfd(env, (int)fd)) return NULL;
  uint64_t value = 0;
  ssize_t r;
  /* An eventfd made without EFD_NONBLOCK blocks a read at 0: look first. */
  struct pollfd pfd = {.fd = (int)fd, .events = POLLIN, .revents = 0};
  if (poll(&pfd, 1, 0) == 0) {
    napi_value zero;
    NAPI_CALL(env, napi_create_double(env, 0, &zero));
    return zero;
  }
  do {
    r = read((int)fd, &value, sizeof(value));
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) return throw_errno(env, errno, "read", NULL);
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, r < 0 ? 0 : (double)value, &out));
  return out;
}

napi_status register_eventfd_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "arm", js_arm);
  EXPORT_FN(env, exports, "eventfdCreate", js_eventfd_create);
  EXPORT_FN(env, exports, "eventfdRead", js_eventfd_read);
  return napi_ok;
}

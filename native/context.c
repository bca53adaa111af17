/* The AIO context: io_setup, io_submit, io_getevents, io_cancel, io_destroy.
 *
 * JavaScript talks to a context through two typed arrays that C allocates
 * once per context: `cmd`, where JavaScript writes one row per request
 * before calling submit(), and `events`, where C writes one row per
 * completion during reap(). A whole batch thus costs one Node-API crossing
 * each way, and no per-request objects cross the boundary. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addon.h"
#include "uring.h"

#define MAX_IOV_PER_OP 1024

static void ctx_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aio_ctx *ctx = data;
  ctx_destroy(ctx);
  ctx_release(ctx);
}

void ctx_release(aio_ctx *ctx) {
  if (--ctx->refs > 0) return;
  napi_env env = ctx->env;
  if (ctx->cmd_ref) napi_delete_reference(env, ctx->cmd_ref);
  if (ctx->events_ref) napi_delete_reference(env, ctx->events_ref);
  if (ctx->status_ref) napi_delete_reference(env, ctx->status_ref);
  if (ctx->notify_fn) napi_delete_reference(env, ctx->notify_fn);
  if (ctx->async_ctx) napi_async_destroy(env, ctx->async_ctx);
  free(ctx->iocbs);
  free(ctx->batch);
  free(ctx->scratch);
  free(ctx->iov_arena);
  uring_free(ctx->uring);
  free(ctx);
}

/* io_destroy blocks until every request in flight has completed, so after it
 * returns the kernel no longer writes into any buffer we were given. */
void ctx_destroy(aio_ctx *ctx) {
  if (ctx->destroyed) return;
  ctx->destroyed = true;
  /* First, while the ring fd it may watch is open. */
  watch_close(ctx);
  if (ctx->uring) {
    uring_drain_and_close(ctx->uring);
    /* Nothing can use the registered buffers now: let JavaScript have them. */
    uring_release_regions(ctx->env, ctx->uring);
  } else
    sys_io_destroy(ctx->id);
  ctx->ring = NULL;
  ctx->in_flight = 0;
  if (ctx->state && ctx->state->live_contexts > 0) ctx->state->live_contexts--;
}

aio_ctx *unwrap_ctx(napi_env env, napi_value handle, bool allow_destroyed) {
  void *data = NULL;
  /* napi_get_value_external itself refuses what is not an external. */
  if (napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) {
    throw_type(env, "expected an IoContext handle");
    return NULL;
  }
  aio_ctx *ctx = data;
  if (ctx->destroyed && !allow_destroyed) {
    throw_errno(env, EINVAL, "io_context", "the context has been destroyed");
    return NULL;
  }
  return ctx;
}

/* The kernel sizes the ring larger than asked (fs/aio.c doubles it and
 * rounds up to whole pages); the ring header tells us the true size. When
 * the header cannot be trusted we assume only what was asked for. */
static uint32_t ring_capacity(const struct aio_ring *ring, uint32_t max_events) {
  if (ring_usable(ring) && ring->nr > max_events) return ring->nr - 1;
  return max_events;
}

static napi_value make_f64_array(napi_env env, size_t n, double **data, napi_ref *ref) {
  napi_value ab, arr;
  void *raw = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, n * sizeof(double), &raw, &ab));
  NAPI_CALL(env, napi_create_typedarray(env, napi_float64_array, n, ab, 0, &arr));
  NAPI_CALL(env, napi_create_reference(env, arr, 1, ref));
  *data = raw;
  return arr;
}

static const char *setup_hint(int err) {
  if (err == EAGAIN)
    return "the system-wide limit on AIO events is reached: see /proc/sys/fs/aio-nr and "
           "/proc/sys/fs/aio-max-nr (raise it with sysctl fs.aio-max-nr=N), or destroy "
           "contexts you no longer need";
  if (err == ENOSYS) return "this kernel was built without Linux AIO (CONFIG_AIO)";
  return NULL;
}

/* Counts the context, starts its eventfd watcher and gives JavaScript its
 * handle: { handle, capacity, cmd, events, status }. On failure the context is
 * destroyed and released, and an exception is pending. */
napi_value ctx_expose(napi_env env, aio_ctx *ctx, napi_value notify) {
  addon_state *state = ctx->state;
  napi_value handle, result, v;
  if (state) state->live_contexts++;
  int werr = watch_init(env, ctx);
  if (werr != 0) {
    ctx_destroy(ctx);
    ctx_release(ctx);
    return throw_errno(env, werr, "eventfd", NULL);
  }
  /* Weak: JavaScript keeps the function alive for as long as the context
   * object lives. A strong reference here would be a root that keeps the
   * function, and through its closure the context, alive forever, so a
   * dropped context would never be finalised and its kernel context would
   * leak (fs.aio-nr only grows). */
  /* Until the handle exists (its finalizer then owns the context), a failed
   * call must destroy the context, or the kernel context and eventfd leak. */
#define UNDO (ctx_destroy(ctx), ctx_release(ctx))
  NAPI_CALL_UNDO(env, napi_create_reference(env, notify, 0, &ctx->notify_fn), UNDO);
  napi_value resource_name;
  NAPI_CALL_UNDO(env, napi_create_string_utf8(env, "LINUX_AIO_COMPLETION", NAPI_AUTO_LENGTH, &resource_name), UNDO);
  NAPI_CALL_UNDO(env, napi_async_init(env, NULL, resource_name, &ctx->async_ctx), UNDO);
  NAPI_CALL_UNDO(env, napi_create_external(env, ctx, ctx_finalize, NULL, &handle), UNDO);
#undef UNDO
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_set_named_property(env, result, "handle", handle));
  NAPI_CALL(env, napi_create_uint32(env, ctx->capacity, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "capacity", v));
  v = make_f64_array(env, (size_t)ctx->capacity * CMD_STRIDE, &ctx->cmd, &ctx->cmd_ref);
  if (!v) return NULL;
  NAPI_CALL(env, napi_set_named_property(env, result, "cmd", v));
  v = make_f64_array(env, (size_t)ctx->capacity * EVT_STRIDE, &ctx->events, &ctx->events_ref);
  if (!v) return NULL;
  NAPI_CALL(env, napi_set_named_property(env, result, "events", v));
  v = make_f64_array(env, STATUS_LEN, &ctx->status, &ctx->status_ref);
  if (!v) return NULL;
  NAPI_CALL(env, napi_set_named_property(env, result, "status", v));
  return result;
}

/* setup(maxEvents, forceSyscall, notifyFn) -> { handle, capacity, cmd, events, status, ringReap } */
static napi_value js_setup(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t max_events;
  if (!get_uint32_arg(env, argv[0], &max_events, "maxEvents must be an integer from 1 to 1048576"))
    return NULL;
  if (max_events < 1 || max_events > (1u << 20))
    return throw_range(env, "maxEvents must be an integer from 1 to 1048576");
  bool force_syscall = false;
  napi_get_value_bool(env, argv[1], &force_syscall);
  napi_valuetype fn_type;
  NAPI_CALL(env, napi_typeof(env, argv[2], &fn_type));
  if (fn_type != napi_function) return throw_type(env, "notify must be a function");

  addon_state *state = NULL;
  NAPI_CALL(env, napi_get_instance_data(env, (void **)&state));

  aio_context_t id = 0;
  if (sys_io_setup(max_events, &id) < 0) {
    int err = errno;
    return throw_errno(env, err, "io_setup", setup_hint(err));
  }
  aio_ctx *ctx = calloc(1, sizeof(*ctx));
  if (!ctx) {
    sys_io_destroy(id);
    return throw_errno(env, ENOMEM, "io_setup", NULL);
  }
  ctx->id = id;
  ctx->env = env;
  ctx->state = state;
  ctx->eventfd = ctx->watch_fd = -1;
  ctx->refs = 1; /* the JS handle; the poll handle takes another in watch_init */
  struct aio_ring *ring = (struct aio_ring *)(uintptr_t)id;
  ctx->capacity = ring_capacity(ring, max_events);
  bool user_ring = ring_usable(ring) && !force_syscall && !(state && state->force_syscall_reap);
  ctx->ring = user_ring ? ring : NULL;
  ctx->iocbs = calloc(ctx->capacity, sizeof(struct iocb));
  ctx->batch = calloc(ctx->capacity, sizeof(struct iocb *));
  ctx->scratch = calloc(ctx->capacity, sizeof(struct io_event));
  if (!ctx->iocbs || !ctx->batch || !ctx->scratch) {
    ctx->destroyed = true;
    sys_io_destroy(id);
    ctx_release(ctx);
    return throw_errno(env, ENOMEM, "io_setup", NULL);
  }
  napi_value result = ctx_expose(env, ctx, argv[2]);
  if (!result) return NULL;
  napi_value v;
  NAPI_CALL(env, napi_get_boolean(env, ctx->ring != NULL, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "ringReap", v));
  return result;
}

/* destroy(handle) -> drained: whether the kernel is done with every buffer
 * of the context's requests. Always true on Linux AIO (io_destroy waits);
 * false only for a ring whose teardown gave up waiting with requests still
 * in the kernel, whose buffers JavaScript must then never let go of. */
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  aio_ctx *ctx = unwrap_ctx(env, argv[0], true);
  if (!ctx) return NULL;
  ctx_destroy(ctx);
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, !(ctx->uring && ctx->uring->undrained), &out));
  return out;
}

/* A buffer whose ArrayBuffer was transferred (structuredClone, postMessage)
 * after the request was prepared has no memory left: refuse it rather than
 * silently move no bytes (or, in a vector, shift the other buffers). */
static bool is_detached(napi_env env, napi_value ab) {
  bool detached = false;
  return napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && detached;
}

/* A live view's memory: detached ones are refused, or a vectored request
 * would silently shift the buffers after it. A detached view has no bytes,
 * so only an empty one needs the (dearer) look at its ArrayBuffer. */
static bool view_info(napi_env env, napi_value v, void **data, size_t *len) {
  /* napi_get_buffer_info takes any view (Node checks IsArrayBufferView) and
   * gives its bytes and byte length at less than half the cost of the
   * typed-array query, which works out the element type first. */
  if (napi_get_buffer_info(env, v, data, len) == napi_ok && *len > 0) return true;
  if (!view_data(env, v, data, len, NULL)) return false;
  if (*len > 0) return true;
  napi_value ab;
  return view_data(env, v, data, len, &ab) && !is_detached(env, ab);
}

static bool ensure_iov_arena(aio_ctx *ctx, size_t n) {
  if (ctx->iov_arena_len >= n) return true;
  struct iovec *grown = realloc(ctx->iov_arena, n * sizeof(struct iovec));
  if (!grown) return false;
  ctx->iov_arena = grown;
  ctx->iov_arena_len = n;
  return true;
}

/* IOCB_CMD_NOOP is io_uring's no-op (the rows are shared); Linux AIO refuses
 * it with EINVAL, so no public Iocb carries it. */
static bool is_known_opcode(int64_t op) {
  switch (op) {
    case IOCB_CMD_PREAD: case IOCB_CMD_PWRITE: case IOCB_CMD_FSYNC: case IOCB_CMD_FDSYNC:
    case IOCB_CMD_POLL: case IOCB_CMD_NOOP: case IOCB_CMD_PREADV: case IOCB_CMD_PWRITEV:
      return true;
    default:
      return false;
  }
}

static bool is_vectored(int op) { return op == IOCB_CMD_PREADV || op == IOCB_CMD_PWRITEV; }
static bool has_buffer(int op) { return op == IOCB_CMD_PREAD || op == IOCB_CMD_PWRITE; }

/* Fills iocbs[slot] from row i of cmd and the batch's buffer i. Returns
 * false with a JavaScript exception pending when the row cannot be trusted. */
bool fill_iocb(napi_env env, const submit_call *call, uint32_t i, size_t *iov_used) {
  aio_ctx *ctx = call->ctx;
  const double *row = ctx->cmd + (size_t)i * CMD_STRIDE;
  double slot_d = row[CMD_SLOT], op_d = row[CMD_OPCODE], fd_d = row[CMD_FD], off_d = row[CMD_OFFSET];
  if (!whole_in_range(slot_d, 0, (double)ctx->capacity - 1)) {
    throw_range(env, "request slot out of range");
    return false;
  }
  if (!whole_in_range(op_d, 0, 255) || !is_known_opcode((int64_t)op_d)) {
    throw_range(env, "unknown opcode");
    return false;
  }
  if (!whole_in_range(fd_d, 0, INT32_MAX)) {
    throw_range(env, "fd must be a non-negative 32-bit integer");
    return false;
  }
  if (!whole_in_range(off_d, 0, 9007199254740991.0)) {
    throw_range(env, "offset must be a non-negative safe integer");
    return false;
  }
  if (!whole_in_range(row[CMD_RW_FLAGS], 0, UINT32_MAX) || !whole_in_range(row[CMD_RESFD], RESFD_NONE, INT32_MAX) ||
      !whole_in_range(row[CMD_REQPRIO], -1, INT16_MAX) || !whole_in_range(row[CMD_AUX], 0, UINT32_MAX)) {
    throw_range(env, "request flags, eventfd, priority or poll events out of range");
    return false;
  }
  uint32_t slot = (uint32_t)slot_d;
  int op = (int)op_d;
  struct iocb *cb = &ctx->iocbs[slot];
  memset(cb, 0, sizeof(*cb));
  cb->aio_data = slot;
  cb->aio_lio_opcode = (uint16_t)op;
  cb->aio_fildes = (uint32_t)fd_d;
  cb->aio_offset = (int64_t)off_d;
  cb->aio_rw_flags = (uint32_t)row[CMD_RW_FLAGS];
  if (row[CMD_RESFD] != RESFD_NONE) {
    cb->aio_flags = IOCB_FLAG_RESFD;
    cb->aio_resfd = (uint32_t)(row[CMD_RESFD] == RESFD_CONTEXT ? ctx->eventfd : (int)row[CMD_RESFD]);
  }
  if (row[CMD_REQPRIO] >= 0) {
    cb->aio_flags |= IOCB_FLAG_IOPRIO;
    cb->aio_reqprio = (int16_t)row[CMD_REQPRIO];
  }
  if (op == IOCB_CMD_POLL) cb->aio_buf = (uint64_t)row[CMD_AUX];
  if (!has_buffer(op) && !is_vectored(op)) return true;

  napi_value b;
  if (!batch_buffer(env, call, i, &b)) return false;
  if (has_buffer(op)) {
    void *data = NULL;
    size_t len = 0;
    if (!view_info(env, b, &data, &len)) {
      throw_type(env, "buffer must be a TypedArray, Buffer or DataView, not detached");
      return false;
    }
    cb->aio_buf = (uint64_t)(uintptr_t)data;
    cb->aio_nbytes = len;
    return true;
  }
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, b, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, b, &n) != napi_ok) {
    throw_type(env, "vectored requests take an array of buffers");
    return false;
  }
  if (n > MAX_IOV_PER_OP) {
    throw_range(env, "a vectored request takes at most 1024 buffers (IOV_MAX)");
    return false;
  }
  /* The arena was sized from the arrays' lengths before any row was filled;
   * a getter run since could have lengthened this one. */
  if (*iov_used + n > ctx->iov_arena_len) {
    throw_range(env, "a vectored request's buffers changed while the batch was being read");
    return false;
  }
  struct iovec *iov = ctx->iov_arena + *iov_used;
  for (uint32_t k = 0; k < n; k++) {
    napi_value e;
    if (napi_get_element(env, b, k, &e) != napi_ok) return false;
    if (!view_info(env, e, &iov[k].iov_base, &iov[k].iov_len)) {
      throw_type(env, "each buffer of a vectored request must be a TypedArray, Buffer or DataView, not detached");
      return false;
    }
  }
  *iov_used += n;
  cb->aio_buf = (uint64_t)(uintptr_t)iov;
  cb->aio_nbytes = n;
  return true;
}

/* Vectors are copied by the kernel during io_submit, so one arena per batch
 * is enough; it must be sized before any row points into it. */
bool size_iov_arena(napi_env env, const submit_call *call) {
  aio_ctx *ctx = call->ctx;
  size_t total = 0;
  for (uint32_t i = 0; i < call->count; i++) {
    double op = ctx->cmd[(size_t)i * CMD_STRIDE + CMD_OPCODE];
    if (op != IOCB_CMD_PREADV && op != IOCB_CMD_PWRITEV) continue;
    napi_value b;
    uint32_t n = 0;
    bool is_array = false;
    if (!batch_buffer(env, call, i, &b)) return false;
    if (napi_is_array(env, b, &is_array) == napi_ok && is_array) napi_get_array_length(env, b, &n);
    total += n > MAX_IOV_PER_OP ? MAX_IOV_PER_OP : n;
  }
  if (total == 0 || ensure_iov_arena(ctx, total)) return true;
  throw_errno(env, ENOMEM, "io_submit", NULL);
  return false;
}

#ifndef O_PATH
#define O_PATH 010000000 /* Linux's value; glibc shows it only with _GNU_SOURCE */
#endif

/* io_submit failed on the first request of the batch: say what we know.
 * EBADF has several causes, and the access mode is the common one (a read
 * on a file opened write-only), so look at it before blaming an eventfd. */
static const char *submit_hint(int err, const struct iocb *cb, int ctx_eventfd, char *buf, size_t len) {
  if (err == EBADF) {
    unsigned fd = cb->aio_fildes;
    int fl = fcntl((int)fd, F_GETFL);
    int op = cb->aio_lio_opcode;
    bool reads = op == IOCB_CMD_PREAD || op == IOCB_CMD_PREADV;
    bool writes = op == IOCB_CMD_PWRITE || op == IOCB_CMD_PWRITEV;
    bool notifies = (cb->aio_flags & IOCB_FLAG_RESFD) != 0;
    if (fl < 0)
      snprintf(buf, len, "fd %u is not an open file descriptor: was it closed?", fd);
    else if ((fl & O_PATH) != 0)
      snprintf(buf, len, "fd %u was opened with O_PATH, which allows no I/O", fd);
    else if (reads && (fl & O_ACCMODE) == O_WRONLY)
      snprintf(buf, len, "fd %u is open write-only: open it with O_RDWR ('r+') to read", fd);
    else if (writes && (fl & O_ACCMODE) == O_RDONLY)
      snprintf(buf, len, "fd %u is open read-only: open it with O_RDWR ('r+') to write", fd);
    else if (notifies && (int)cb->aio_resfd != ctx_eventfd && fcntl((int)cb->aio_resfd, F_GETFD) < 0)
      snprintf(buf, len, "the eventfd %u given to setEventfd is not an open file descriptor", cb->aio_resfd);
    else
      snprintf(buf, len, "fd %u (open flags 0%o) refuses this request", fd, (unsigned)fl);
    return buf;
  }
  if (err == EAGAIN) return "the kernel's completion queue is full: reap completions first";
  return NULL;
}

/* Adds `row` to the pending exception, so that a caller submitting many
 * requests in one call can fail the one whose arguments were refused. */
napi_value name_bad_row(napi_env env, uint32_t row) {
  napi_value err, index;
  if (napi_get_and_clear_last_exception(env, &err) != napi_ok) return NULL;
  napi_valuetype t;
  if (napi_typeof(env, err, &t) == napi_ok && t == napi_object && napi_create_uint32(env, row, &index) == napi_ok)
    napi_set_named_property(env, err, "row", index);
  napi_throw(env, err);
  return NULL;
}

/* Copies n reaped events from scratch into the JS-visible events rows. */
static void publish_events(aio_ctx *ctx, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    double *row = ctx->events + (size_t)i * EVT_STRIDE;
    row[EVT_SLOT] = (double)ctx->scratch[i].data;
    row[EVT_RES] = (double)ctx->scratch[i].res;
    row[EVT_RES2] = (double)ctx->scratch[i].res2;
  }
}

/* submit(handle, count, bufs, reapInline, ...buffers) -> number of
 * requests the kernel accepted (see submit_call_args for the buffers). A row whose arguments are refused throws before any syscall,
 * with `row` set on the error. With reapInline, the completions already in
 * the ring when io_submit returns (tmpfs, the page cache, a fast device
 * finish inside the call) are reaped at once into `events`, and their count
 * goes to status[STATUS_INLINE_REAPED]: the caller can deliver them in the
 * same turn instead of after an eventfd wake-up. */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  submit_call call;
  if (!submit_call_args(env, info, false, &call)) return NULL;
  aio_ctx *ctx = call.ctx;
  const uint32_t count = call.count;
  const bool reap_inline = call.reap_inline;
  size_t iov_used = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (!fill_iocb(env, &call, i, &iov_used)) return name_bad_row(env, i);
    ctx->batch[i] = &ctx->iocbs[(uint32_t)ctx->cmd[(size_t)i * CMD_STRIDE + CMD_SLOT]];
  }
  int ret = count == 0 ? 0 : sys_io_submit(ctx->id, count, ctx->batch);
  if (ret < 0) {
    int err = errno;
    char hint[160];
    return throw_errno(env, err, "io_submit", submit_hint(err, ctx->batch[0], ctx->eventfd, hint, sizeof(hint)));
  }
  ctx->in_flight += (uint32_t)ret;
  if (reap_inline && ret > 0 && ctx->ring) {
    uint32_t n = ring_reap(ctx->ring, ctx->scratch, ctx->capacity);
    ctx->in_flight -= n < ctx->in_flight ? n : ctx->in_flight;
    publish_events(ctx, n);
    ctx->status[STATUS_INLINE_REAPED] = (double)n;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)ret, &out));
  return out;
}

/* Timeouts beyond ~31,000 years are clamped: converting a double larger
 * than time_t can hold is undefined behaviour (getEvents(1, 1, 1e300)). */
#define MAX_TIMEOUT_MS 1e15

void ms_to_timespec(double ms, struct timespec *ts) {
  if (!(ms <= MAX_TIMEOUT_MS)) ms = MAX_TIMEOUT_MS;
  ts->tv_sec = (time_t)(ms / 1000);
  ts->tv_nsec = (long)((ms - (double)ts->tv_sec * 1000) * 1e6);
  if (ts->tv_nsec >= 1000000000L) ts->tv_nsec = 999999999L;
}

double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* io_getevents, restarted after signals (a profiler's SIGPROF, say) with
 * whatever remains of the timeout. */
static int getevents_restarting(aio_ctx *ctx, long min_nr, long nr, struct io_event *out, double timeout_ms) {
  double deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
  for (;;) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
      double left = deadline - now_ms();
      ms_to_timespec(left > 0 ? left : 0, &ts);
      tsp = &ts;
    }
    int ret = sys_io_getevents(ctx->id, min_nr, nr, out, tsp);
    if (ret >= 0 || errno != EINTR) return ret < 0 ? -errno : ret;
  }
}

bool get_reap_args(napi_env env, const napi_value *argv, const aio_ctx *ctx, uint32_t *min_nr, uint32_t *nr,
                   double *timeout_ms) {
  if (!get_uint32_arg(env, argv[0], min_nr, "minNr must be a non-negative integer")) return false;
  if (!get_uint32_arg(env, argv[1], nr, "nr must be a non-negative integer")) return false;
  if (napi_get_value_double(env, argv[2], timeout_ms) != napi_ok || isnan(*timeout_ms)) {
    throw_type(env, "timeoutMs must be a number");
    return false;
  }
  if (*nr > ctx->capacity) *nr = ctx->capacity;
  if (*min_nr > *nr) {
    throw_range(env, "minNr must not exceed nr");
    return false;
  }
  return true;
}

/* reap(handle, minNr, nr, timeoutMs) -> count; rows written to `events`.
 * timeoutMs < 0 waits without limit. */
static napi_value js_reap(napi_env env, napi_callback_info info) {
  reap_call call;
  if (!reap_call_args(env, info, false, &call)) return NULL;
  aio_ctx *ctx = call.ctx;
  const uint32_t min_nr = call.min_nr, nr = call.nr;
  const double timeout_ms = call.timeout_ms;

  uint32_t n = ctx->ring ? ring_reap(ctx->ring, ctx->scratch, nr) : 0;
  int err = 0;
  bool need_syscall = ctx->ring ? n < min_nr : true;
  if (need_syscall && nr > n) {
    /* minNr = 0 is the guide's non-blocking poll: a zero timeout. */
    double t = min_nr == 0 ? 0 : timeout_ms;
    long want_min = n < min_nr ? (long)(min_nr - n) : 0;
    int ret = getevents_restarting(ctx, want_min, (long)(nr - n), ctx->scratch + n, t);
    if (ret < 0)
      err = -ret;
    else
      n += (uint32_t)ret;
  }
  ctx->in_flight -= n < ctx->in_flight ? n : ctx->in_flight;
  /* Events already taken from the ring must not be lost: deliver them, and
   * the next call reports the error. */
  if (err && n == 0) return throw_errno(env, err, "io_getevents", NULL);
  publish_events(ctx, n);
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, n, &out));
  return out;
}

/* cancel(handle, slot) -> 0 or a positive errno. EINPROGRESS means the
 * kernel cancelled it and the completion will arrive through the ring. */
static napi_value js_cancel(napi_env env, napi_callback_info info) {
  uint32_t slot;
  aio_ctx *ctx = slot_call_args(env, info, false, &slot);
  if (!ctx) return NULL;
  struct io_event ev;
  int ret = sys_io_cancel(ctx->id, &ctx->iocbs[slot], &ev);
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, ret < 0 ? errno : 0, &out));
  return out;
}

static napi_value js_in_flight(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  aio_ctx *ctx = unwrap_ctx(env, argv[0], true);
  if (!ctx) return NULL;
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, ctx->in_flight, &out));
  return out;
}

napi_status register_context_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "setup", js_setup);
  EXPORT_FN(env, exports, "destroy", js_destroy);
  EXPORT_FN(env, exports, "submit", js_submit);
  EXPORT_FN(env, exports, "reap", js_reap);
  EXPORT_FN(env, exports, "cancel", js_cancel);
  EXPORT_FN(env, exports, "inFlight", js_in_flight);
  return napi_ok;
}

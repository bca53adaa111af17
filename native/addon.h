/* Shared declarations of the linux-aio addon: one struct per AIO context,
 * one per Node environment, and the functions each source file exports. */
#ifndef LINUX_AIO_ADDON_H
#define LINUX_AIO_ADDON_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>
#include <uv.h>

#include "aio_sys.h"

/* Per Node environment (main thread and each worker have their own). */
typedef struct addon_state {
  bool force_syscall_reap; /* LINUX_AIO_REAP=syscall, read once per environment */
  uint32_t live_contexts;
  napi_ref error_ctor; /* AioError, registered from JavaScript */
} addon_state;

/* Number of doubles per request row that JavaScript writes before submit. */
enum {
  CMD_SLOT = 0,
  CMD_OPCODE,
  CMD_FD,
  CMD_OFFSET,
  CMD_RW_FLAGS,
  CMD_RESFD,
  CMD_REQPRIO,
  CMD_AUX,
  CMD_FIXED_FILE,
  CMD_STRIDE
};
/* CMD_FIXED_FILE: on io_uring, the index in the ring's file table of the
 * registered file the request is on, or -1 for none; Linux AIO has no
 * table and ignores it. Set only by a registered file's own requests: a
 * table entry holds whatever file its fd named at registration, so an fd
 * number alone must never select it. */
/* CMD_RESFD: an eventfd to signal, or RESFD_CONTEXT for the context's own, or
 * RESFD_NONE for none (a request that completes inside io_submit, whose
 * completion the submit itself reaps: signalling would only cost the kernel
 * an eventfd and epoll wake-up per request). */
#define RESFD_CONTEXT (-1)
#define RESFD_NONE (-2)
/* Number of doubles per completion row that C writes after a reap. */
enum { EVT_SLOT = 0, EVT_RES, EVT_RES2, EVT_STRIDE };
/* Cells of the status array that C writes for JavaScript. */
/* STATUS_FIXED: reads and writes the kernel took with a registered buffer,
 * STATUS_FIXED_FILES requests on a registered file (io_uring), counted since
 * the context was made. */
enum { STATUS_INLINE_REAPED = 0, STATUS_FIXED, STATUS_FIXED_FILES, STATUS_LEN };

struct uring;

/* One per context. An io_uring context uses the same struct (rows, slots,
 * eventfd watcher, lifetime) with `uring` set; the AIO-only fields stay
 * unused there. */
typedef struct aio_ctx {
  struct uring *uring;       /* NULL for a Linux AIO context */
  aio_context_t id;
  struct aio_ring *ring; /* NULL when the user-space ring cannot be trusted or is disabled */
  uint32_t capacity;     /* slots: how many requests may be in flight at once */
  uint32_t in_flight;
  bool destroyed;
  struct iocb *iocbs;        /* indexed by slot; stable while in flight (io_cancel needs it) */
  struct iocb **batch;       /* pointers handed to io_submit */
  struct io_event *scratch;  /* io_getevents destination */
  struct iovec *iov_arena;   /* vectored ops of one batch; copied by the kernel in io_submit */
  size_t iov_arena_len;
  double *cmd;               /* JS-owned Float64Array: capacity * CMD_STRIDE */
  double *events;            /* JS-owned Float64Array: capacity * EVT_STRIDE */
  double *status;            /* JS-owned Float64Array: STATUS_LEN */
  napi_ref cmd_ref;
  napi_ref events_ref;
  napi_ref status_ref;
  /* completion notification */
  int eventfd;  /* Linux AIO: what requests signal; -1 on io_uring */
  int watch_fd; /* what the poll handle watches: the eventfd, or the ring fd */
  uv_poll_t poll;
  bool poll_active;
  napi_ref notify_fn;
  napi_async_context async_ctx;
  napi_env env;
  addon_state *state;
  /* lifetime: freed when both the JS handle is finalised and the poll handle
   * is closed (which also ends the environment's async cleanup hook). */
  int refs;
  napi_async_cleanup_hook_handle cleanup_hook;
} aio_ctx;

/* errors.c */
napi_value throw_errno(napi_env env, int err, const char *syscall, const char *hint);
napi_value throw_type(napi_env env, const char *msg);
napi_value throw_range(napi_env env, const char *msg);
bool get_int64_arg(napi_env env, napi_value v, int64_t *out, const char *what);
bool get_uint32_arg(napi_env env, napi_value v, uint32_t *out, const char *what);
/* The rows come from JavaScript: a NaN or out-of-range double converted to
 * an integer type is undefined behaviour, so every field is checked first.
 * Inline, and without trunc() (a libm call on baseline x86-64): it runs for
 * nine fields of every request. The bounds are within 2^53, so once d is
 * inside them the conversion to int64_t is defined. */
static inline bool whole_in_range(double d, double lo, double hi) {
  return d >= lo && d <= hi && (double)(int64_t)d == d;
}

/* context.c */
napi_status register_context_functions(napi_env env, napi_value exports);
aio_ctx *unwrap_ctx(napi_env env, napi_value handle, bool allow_destroyed);
void ctx_destroy(aio_ctx *ctx);
void ctx_release(aio_ctx *ctx);
napi_value ctx_expose(napi_env env, aio_ctx *ctx, napi_value notify);
struct submit_call;
/* Row i of cmd (and the batch's buffer i) into iocbs[slot], checked; vectors
 * go into the iov arena, which submit_call_args sized for the batch first. */
bool fill_iocb(napi_env env, const struct submit_call *call, uint32_t i, size_t *iov_used);
/* Sizes the iov arena for the batch's vectored rows. */
bool size_iov_arena(napi_env env, const struct submit_call *call);
/* Rethrows the pending exception with `row` set on it. */
napi_value name_bad_row(napi_env env, uint32_t row);
/* minNr, nr (capped at the capacity) and timeoutMs of a reap call, checked. */
bool get_reap_args(napi_env env, const napi_value *argv, const aio_ctx *ctx, uint32_t *min_nr, uint32_t *nr,
                   double *timeout_ms);

/* call_args.c: the argument preambles the two engines share. Each is false
 * (or NULL) with an exception pending when an argument is refused. */
/* The most buffers a submit call takes as its own arguments (see
 * submit_call_args); a larger batch comes as one array. */
#define SUBMIT_SPREAD_MAX 128
typedef struct submit_call {
  aio_ctx *ctx;
  uint32_t count;
  bool reap_inline;
  /* The batch's buffers: argv[4 ...] when spread, else the array bufs. */
  napi_value bufs;
  bool spread;
  napi_value argv[4 + SUBMIT_SPREAD_MAX];
} submit_call;
/* (handle, count, bufs, reapInline, ...buffers): the batch's buffers follow
 * as the call's own arguments, or else bufs is an array of them;
 * resets status[STATUS_INLINE_REAPED] and sizes the iov arena. */
bool submit_call_args(napi_env env, napi_callback_info info, bool uring, submit_call *call);
/* The batch's buffer (or vector) of row i. */
bool batch_buffer(napi_env env, const submit_call *call, uint32_t i, napi_value *out);
typedef struct reap_call {
  aio_ctx *ctx;
  uint32_t min_nr, nr;
  double timeout_ms;
} reap_call;
/* (handle, minNr, nr, timeoutMs). */
bool reap_call_args(napi_env env, napi_callback_info info, bool uring, reap_call *call);
/* The call's arguments (argc in: how many to take; out: how many came) and
 * the live context of the engine asked for, from argv[0]. */
aio_ctx *engine_call_args(napi_env env, napi_callback_info info, bool uring, size_t *argc, napi_value *argv);
/* (handle, n): the context and a 32-bit unsigned integer, `what` its error. */
aio_ctx *uint_call_args(napi_env env, napi_callback_info info, bool uring, uint32_t *n, const char *what);
/* (handle, slot): the context, with the slot checked against its capacity. */
aio_ctx *slot_call_args(napi_env env, napi_callback_info info, bool uring, uint32_t *slot);
/* CLOCK_MONOTONIC in milliseconds, and a timeout (clamped) as a timespec. */
double now_ms(void);
void ms_to_timespec(double ms, struct timespec *ts);

/* uring_context.c (io_uring contexts; see uring.h) */
napi_status register_uring_functions(napi_env env, napi_value exports);
void uring_drain_and_close(struct uring *u);
void uring_free(struct uring *u);

/* ring_reap.c */
bool ring_usable(const struct aio_ring *ring);
uint32_t ring_reap(struct aio_ring *ring, struct io_event *out, uint32_t max);
bool ring_empty(const struct aio_ring *ring);

/* eventfd_watch.c */
napi_status register_eventfd_functions(napi_env env, napi_value exports);
int watch_init(napi_env env, aio_ctx *ctx);
void watch_close(aio_ctx *ctx);

/* memory.c */
/* The memory of a TypedArray, Buffer or DataView (false if `v` is none);
 * a detached view gives NULL and 0, so callers that hand it to the kernel
 * must check `*arraybuffer`. */
bool view_data(napi_env env, napi_value v, void **data, size_t *len, napi_value *arraybuffer);
napi_status register_memory_functions(napi_env env, napi_value exports);

/* file_facts.c */
napi_status register_file_functions(napi_env env, napi_value exports);

/* Throws what the last failed Node-API call reported (unless an exception
 * is already pending) and returns NULL, for `return napi_failed(env);`. */
static inline napi_value napi_failed(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending)
    napi_throw_error(env, "ERR_LINUX_AIO_NAPI",
                     info && info->error_message ? info->error_message : "Node-API call failed");
  return NULL;
}

#define NAPI_CALL(env, call)                  \
  do {                                        \
    if ((call) != napi_ok) return napi_failed(env); \
  } while (0)

/* NAPI_CALL that, on failure, also runs `undo` (after the error is taken,
 * which later calls would overwrite): frees what the caller made so far. */
#define NAPI_CALL_UNDO(env, call, undo)       \
  do {                                        \
    if ((call) != napi_ok) {                  \
      napi_value failed_ = napi_failed(env);  \
      undo;                                   \
      return failed_;                         \
    }                                         \
  } while (0)

#define EXPORT_FN(env, exports, name, fn)                                   \
  do {                                                                      \
    napi_value f_;                                                          \
    napi_status s_ = napi_create_function((env), (name), NAPI_AUTO_LENGTH, \
                                          (fn), NULL, &f_);                 \
    if (s_ != napi_ok) return s_;                                           \
    s_ = napi_set_named_property((env), (exports), (name), f_);             \
    if (s_ != napi_ok) return s_;                                           \
  } while (0)

#endif

/* The arguments of the calls both engines take alike: submit(handle,
 * count, bufs, reapInline, ...buffers), reap(handle, minNr, nr, timeoutMs) and
 * cancel(handle, slot), on Linux AIO (context.c) and on io_uring
 * (uring_context.c). They differ only in the kind of handle; one copy of
 * the checks keeps the two engines from drifting apart in what they take. */
#include "addon.h"

static aio_ctx *unwrap_engine_ctx(napi_env env, napi_value handle, bool uring) {
  aio_ctx *ctx = unwrap_ctx(env, handle, false);
  if (ctx && (ctx->uring != NULL) != uring) {
    throw_type(env, uring ? "expected an io_uring context handle, got a Linux AIO one"
                          : "expected an IoContext handle, got an io_uring one");
    return NULL;
  }
  return ctx;
}

/* The call's arguments and the live context of the engine asked for. */
aio_ctx *engine_call_args(napi_env env, napi_callback_info info, bool uring, size_t *argc, napi_value *argv) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) {
    napi_failed(env);
    return NULL;
  }
  return unwrap_engine_ctx(env, argv[0], uring);
}

/* A batch of up to SUBMIT_SPREAD_MAX buffers comes as the call's own
 * arguments, after reapInline: reading an array's element through Node-API
 * costs more than the rest of a request's checks together, and arguments
 * are already on hand. Arguments past count are ignored, so the caller may
 * reuse one argument list for any batch. Without such arguments, bufs is
 * one array of the batch's buffers. The first look takes five arguments, so
 * that the lone request of queue depth 1 needs no second. */
bool submit_call_args(napi_env env, napi_callback_info info, bool uring, submit_call *call) {
  size_t argc = 5;
  napi_value *argv = call->argv;
  call->ctx = engine_call_args(env, info, uring, &argc, argv);
  if (!call->ctx) return false;
  aio_ctx *ctx = call->ctx;
  ctx->status[STATUS_INLINE_REAPED] = 0;
  if (!get_uint32_arg(env, argv[1], &call->count, "count must be a non-negative integer")) return false;
  if (call->count > ctx->capacity) {
    throw_range(env, "more requests than the context can hold");
    return false;
  }
  call->reap_inline = false;
  if (argc > 3) napi_get_value_bool(env, argv[3], &call->reap_inline);
  call->bufs = argv[2];
  call->spread = argc > 4;
  bool is_array = false;
  if (call->spread) {
    if (call->count > SUBMIT_SPREAD_MAX) {
      throw_range(env, "a batch given as arguments holds at most 128 requests");
      return false;
    }
    if (argc < 4 + (size_t)call->count) {
      throw_type(env, "a batch given as arguments needs one buffer argument per request");
      return false;
    }
    argc = 4 + call->count;
    if (call->count > 1 && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
      napi_failed(env);
      return false;
    }
  } else if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
    throw_type(env, "bufs must be an array, or the buffers must follow reapInline as arguments");
    return false;
  }
  return size_iov_arena(env, call);
}

bool batch_buffer(napi_env env, const submit_call *call, uint32_t i, napi_value *out) {
  if (call->spread) {
    *out = call->argv[4 + i];
    return true;
  }
  return napi_get_element(env, call->bufs, i, out) == napi_ok;
}

bool reap_call_args(napi_env env, napi_callback_info info, bool uring, reap_call *call) {
  size_t argc = 4;
  napi_value argv[4];
  call->ctx = engine_call_args(env, info, uring, &argc, argv);
  return call->ctx && get_reap_args(env, argv + 1, call->ctx, &call->min_nr, &call->nr, &call->timeout_ms);
}

aio_ctx *uint_call_args(napi_env env, napi_callback_info info, bool uring, uint32_t *n, const char *what) {
  size_t argc = 2;
  napi_value argv[2];
  aio_ctx *ctx = engine_call_args(env, info, uring, &argc, argv);
  return ctx && get_uint32_arg(env, argv[1], n, what) ? ctx : NULL;
}

aio_ctx *slot_call_args(napi_env env, napi_callback_info info, bool uring, uint32_t *slot) {
  aio_ctx *ctx = uint_call_args(env, info, uring, slot, "slot must be an integer");
  if (ctx && *slot >= ctx->capacity) {
    throw_range(env, "slot out of range");
    return NULL;
  }
  return ctx;
}

/* Turning errno values and bad arguments into JavaScript exceptions.
 * The AioError class lives in TypeScript (it owns message formatting and
 * hints); JavaScript registers its constructor once per environment. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "addon.h"

static napi_ref *error_ctor_slot(napi_env env) {
  addon_state *state = NULL;
  if (napi_get_instance_data(env, (void **)&state) != napi_ok || state == NULL) return NULL;
  return &state->error_ctor;
}

napi_value throw_errno(napi_env env, int err, const char *syscall, const char *hint) {
  napi_ref *slot = error_ctor_slot(env);
  napi_value ctor = NULL;
  if (slot && *slot) napi_get_reference_value(env, *slot, &ctor);
  if (ctor) {
    napi_value argv[3], error;
    napi_create_int32(env, err, &argv[0]);
    napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &argv[1]);
    if (hint)
      napi_create_string_utf8(env, hint, NAPI_AUTO_LENGTH, &argv[2]);
    else
      napi_get_undefined(env, &argv[2]);
    if (napi_new_instance(env, ctor, 3, argv, &error) == napi_ok) {
      napi_throw(env, error);
      return NULL;
    }
  }
  napi_throw_error(env, NULL, strerror(err));
  return NULL;
}

napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

/* Accept only safe integers: JavaScript numbers beyond 2^53 have lost
 * precision, and an offset silently rounded is a write to the wrong place. */
bool get_int64_arg(napi_env env, napi_value v, int64_t *out, const char *what) {
  double d;
  /* napi_get_value_double itself refuses what is not a number. */
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_type(env, what);
    return false;
  }
  /* Inside ±2^53 (NaN and infinities are not) the conversion is defined. */
  if (!(fabs(d) <= 9007199254740991.0) || (double)(int64_t)d != d) {
    throw_range(env, what);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

bool get_uint32_arg(napi_env env, napi_value v, uint32_t *out, const char *what) {
  int64_t x;
  if (!get_int64_arg(env, v, &x, what)) return false;
  if (x < 0 || x > UINT32_MAX) {
    throw_range(env, what);
    return false;
  }
  *out = (uint32_t)x;
  return true;
}


/* Argument checking for every export (args.h). */
#include "args.h"
#include <math.h>
#include <stdio.h>

size_t export_argc(const export_t *ex) {
  size_t n = 0;
  while (n < MAX_ARGS && ex->args[n].kind != ARG_END) n++;
  return n;
}

void throw_type(napi_env env, const export_t *ex, size_t i, const char *expected) {
  char msg[200];
  snprintf(msg, sizeof msg, "ridgeline native %s: argument %zu (%s) must be %s", ex->name, i + 1, ex->args[i].name, expected);
  napi_throw_type_error(env, NULL, msg);
}

void throw_range(napi_env env, const export_t *ex, const char *detail) {
  char msg[200];
  snprintf(msg, sizeof msg, "ridgeline native %s: %s", ex->name, detail);
  napi_throw_range_error(env, NULL, msg);
}

static bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type type;
  size_t byte_offset;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, len, data, &buffer, &byte_offset) != napi_ok || type != want) return false;
  (void)byte_offset; /* already applied to `data` by Node: see args.h */
  return true;
}

static bool one_arg(napi_env env, const export_t *ex, size_t i, napi_value v, arg_t *out) {
  void *data;
  out->len = 0;
  switch (ex->args[i].kind) {
    case ARG_BOOL:
      if (napi_get_value_bool(env, v, &out->b) == napi_ok) return true;
      throw_type(env, ex, i, "a boolean");
      return false;
    case ARG_NUM:
      if (napi_get_value_double(env, v, &out->num) == napi_ok) return true;
      throw_type(env, ex, i, "a number");
      return false;
    case ARG_SIZE: {
      double d;
      if (napi_get_value_double(env, v, &d) != napi_ok) {
        throw_type(env, ex, i, "a number");
        return false;
      }
      if (!(d >= 0 && d <= 2147483647.0 && d == floor(d))) {
        char msg[120];
        snprintf(msg, sizeof msg, "argument %zu (%s) must be an integer in [0, 2^31), got %g", i + 1, ex->args[i].name, d);
        throw_range(env, ex, msg);
        return false;
      }
      out->size = (int)d;
      return true;
    }
    case ARG_F32:
      if (typed_array(env, v, napi_float32_array, &data, &out->len)) { out->f32 = data; return true; }
      throw_type(env, ex, i, "a Float32Array");
      return false;
    case ARG_I32:
      if (typed_array(env, v, napi_int32_array, &data, &out->len)) { out->i32 = data; return true; }
      throw_type(env, ex, i, "an Int32Array");
      return false;
    case ARG_F64:
      if (typed_array(env, v, napi_float64_array, &data, &out->len)) { out->f64 = data; return true; }
      throw_type(env, ex, i, "a Float64Array");
      return false;
    case ARG_VALUE:
      out->value = v;
      return true;
    case ARG_END:
      break;
  }
  return false;
}

bool get_args(napi_env env, napi_callback_info info, arg_t *arg, const export_t **ex) {
  napi_value argv[MAX_ARGS];
  size_t argc = MAX_ARGS;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "ridgeline native: napi_get_cb_info failed");
    return false;
  }
  *ex = (const export_t *)data;
  const size_t want = export_argc(*ex);
  if (argc != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "ridgeline native %s: expected %zu arguments, got %zu", (*ex)->name, want, argc);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  for (size_t i = 0; i < want; i++)
    if (!one_arg(env, *ex, i, argv[i], &arg[i])) return false;
  return true;
}

bool fits(napi_env env, const export_t *ex, const char *what, size_t len, int64_t need) {
  if ((uint64_t)need > (uint64_t)len) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s has %zu elements, the call needs %lld", what, len, (long long)need);
    throw_range(env, ex, msg);
    return false;
  }
  return true;
}

int64_t mul_sat(int64_t a, int64_t b) {
  if (a != 0 && b > INT64_MAX / a) return INT64_MAX;
  return a * b;
}

napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

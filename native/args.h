/*
 * The calling convention of every export, checked in one place. Each export is a row of
 * EXPORTS (ridgeline.c): its name, its function and its arguments, each with a kind and a name.
 * get_args reads a call's arguments by that row, so a function body starts from values that
 * have the declared kinds, and every message names the export and the argument.
 *
 * Misuse never crashes the process: a wrong argument count or kind throws a TypeError; a size
 * that is negative, fractional or at least 2^31 throws a RangeError; an array shorter than the
 * call needs throws a RangeError (FITS) before anything is written.
 *
 * Typed arrays: napi_get_typedarray_info returns `data` already advanced by the view's
 * byteOffset (Node's documented contract: "adjusted by the byte_offset value so that it
 * points to the first element"), so subarray views are honoured by using `data` as is and
 * checking against the view's own `length`; adding byte_offset again would be a double offset.
 */
#ifndef RIDGELINE_ARGS_H
#define RIDGELINE_ARGS_H
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 12

typedef enum {
  ARG_END = 0, /* past the last argument */
  ARG_BOOL,
  ARG_NUM,   /* any number (a double) */
  ARG_SIZE,  /* an integer in [0, 2^31 − 1] (CBLAS takes int) */
  ARG_F32,   /* Float32Array */
  ARG_I32,   /* Int32Array */
  ARG_F64,   /* Float64Array */
  ARG_VALUE, /* anything: the function checks it */
} arg_kind;

typedef struct {
  arg_kind kind;
  const char *name;
} arg_spec;

/* One row of the export table; the row is the callback's `data`, so a call knows its name and
 * its arguments' kinds and names. */
typedef struct {
  const char *name;
  napi_callback fn;
  arg_spec args[MAX_ARGS];
} export_t;

/* A checked argument: the member its kind names, and a typed array's length in elements. */
typedef struct {
  union {
    bool b;
    double num;
    int size;
    float *f32;
    int32_t *i32;
    double *f64;
    napi_value value;
  };
  size_t len;
} arg_t;

/* The number of arguments of a row. */
size_t export_argc(const export_t *ex);

/* Reads the call's arguments by its row into arg[]; false (a JS error thrown) on misuse. */
bool get_args(napi_env env, napi_callback_info info, arg_t *arg, const export_t **ex);

/* "argument i (name) must be <expected>", a TypeError; and a RangeError with its detail. */
void throw_type(napi_env env, const export_t *ex, size_t i, const char *expected);
void throw_range(napi_env env, const export_t *ex, const char *detail);

/* The array `what` must hold at least `need` elements. */
bool fits(napi_env env, const export_t *ex, const char *what, size_t len, int64_t need);

/* fits() for argument i, named as in the table. */
#define FITS(i, need) fits(env, ex, ex->args[i].name, arg[i].len, (need))

/* a·b for a, b ≥ 0, saturating at INT64_MAX (then `fits` rejects the call), so an absurd
 * geometry fails instead of wrapping around. */
int64_t mul_sat(int64_t a, int64_t b);

napi_value number(napi_env env, double v);

/* An export's definition, and the opening every export shares: its checked arguments. */
#define KERNEL(name) napi_value name(napi_env env, napi_callback_info info)
#define ARGS                     \
  arg_t arg[MAX_ARGS];           \
  const export_t *ex;            \
  if (!get_args(env, info, arg, &ex)) return NULL

#endif

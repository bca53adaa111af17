/* io_uring through raw syscalls (no liburing): the ring layout we map and
 * the functions of the uring_*.c files. Only the kernel's UAPI header is
 * used; constants newer than an older installed header are defined here. */
#ifndef LINUX_AIO_URING_H
#define LINUX_AIO_URING_H

#include <linux/io_uring.h>
#include <node_api.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#define IORING_SQ_TASKRUN (1U << 2)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_FEAT_EXT_ARG
#define IORING_FEAT_EXT_ARG (1U << 8)
#endif
#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)
#endif
#ifndef IORING_ASYNC_CANCEL_ANY
#define IORING_ASYNC_CANCEL_ALL (1U << 0)
#define IORING_ASYNC_CANCEL_ANY (1U << 2)
#endif

static inline int sys_io_uring_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}
static inline int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                                     const void *arg, size_t argsz) {
  return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
}
static inline int sys_io_uring_register(int fd, unsigned opcode, const void *arg, unsigned nr_args) {
  return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

/* What the engine needs from the kernel: CQEs never dropped on overflow
 * (5.5), SQE data stable once submitted, so one iovec arena per batch is
 * enough (5.5), and timed waits (5.11). */
#define URING_NEEDED_FEATURES (IORING_FEAT_NODROP | IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_EXT_ARG)

/* user_data: generation << 32 | slot for requests from JavaScript; the top
 * bit marks the ring's own requests (cancels), whose CQEs JavaScript never
 * sees. The generation makes a late cancel miss a slot's next request. */
#define URING_INTERNAL (1ULL << 63)
#define URING_GEN_MASK 0x7fffffffu

/* Row opcode beyond Linux AIO's IOCB_CMD_* values: fallocate, with the
 * mode in CMD_RW_FLAGS and the length in CMD_AUX. */
#define URING_ROW_FALLOCATE 64

/* A registered buffer: its memory and a strong reference to its
 * ArrayBuffer, held until the ring is torn down (uring_fixed.c). */
typedef struct uring_region {
  uintptr_t base;
  size_t len;
  napi_ref arraybuffer;
} uring_region;

/* The mapped rings of one io_uring instance. */
typedef struct uring {
  int fd;
  uint32_t features;
  uint32_t setup_flags;
  void *sq_map;
  size_t sq_map_len;
  void *cq_map; /* == sq_map with IORING_FEAT_SINGLE_MMAP */
  size_t cq_map_len;
  struct io_uring_sqe *sqes;
  size_t sqes_len;
  /* submission ring: the kernel consumes at head, we produce at tail */
  uint32_t *sq_head, *sq_tail, *sq_flags, *sq_array;
  uint32_t sq_mask, sq_entries;
  /* completion ring: the kernel produces at tail, we consume at head */
  uint32_t *cq_head, *cq_tail, *cq_overflow;
  struct io_uring_cqe *cqes;
  uint32_t cq_mask, cq_entries;
  /* per slot: generation of its current request, and whether it is in the kernel */
  uint32_t *gen;
  uint8_t *busy;
  uint32_t slots;
  uint32_t in_flight; /* JavaScript's requests in the kernel */
  uint32_t internal;  /* the ring's own requests in the kernel */
  bool closed;
  /* Teardown gave up waiting (the ring refused the wait) with requests
   * still in the kernel: their buffers must stay where they are, the
   * registered ones here (uring_release_regions), the others in JavaScript,
   * which destroy() tells. */
  bool undrained;
  /* registered buffers (buf_index = position) */
  uring_region *regions;
  uint32_t nregions;
  /* registered files: the table (fd per index, or URING_FILE_FREE/RETIRED) */
  int *file_table;
} uring;

/* uring_setup.c: map and unmap. uring_open returns 0 or a positive errno
 * and names the syscall that failed. */
int uring_open(uring *u, uint32_t entries, const char **failed_syscall);
void uring_unmap(uring *u);
/* 0 with *missing naming an opcode the engine needs that the kernel lacks
 * (NULL when it has them all), or a positive errno from the probe. */
int uring_check_ops(int fd, const char **missing);

/* uring_sqe.c: filling SQEs. */
struct iocb;
void uring_sqe_from_iocb(struct io_uring_sqe *sqe, const struct iocb *cb, uint64_t user_data);
/* Row i as a fallocate SQE; false with a RangeError pending when the row is bad. */
bool uring_sqe_fallocate(napi_env env, struct io_uring_sqe *sqe, const double *row, uint64_t user_data);
void uring_sqe_cancel(struct io_uring_sqe *sqe, uint64_t target, uint32_t flags);

/* uring_fixed.c: registered buffers. A READ or WRITE SQE whose whole range
 * lies inside a live registered buffer becomes READ_FIXED or WRITE_FIXED. */
void uring_sqe_use_fixed(napi_env env, uring *u, struct io_uring_sqe *sqe);
/* Drops the references to the registered ArrayBuffers: only once the ring
 * is closed, and not at all when it closed undrained. */
void uring_release_regions(napi_env env, uring *u);
napi_status register_uring_fixed_functions(napi_env env, napi_value exports);

/* uring_files.c: registered files. The SQE of a row whose CMD_FIXED_FILE
 * (`index`, not -1) names an entry in use gets that index and
 * IOSQE_FIXED_FILE; false with a RangeError pending for any other index. */
bool uring_sqe_use_file(napi_env env, const uring *u, struct io_uring_sqe *sqe, double index);
void uring_free_files(uring *u);
napi_status register_uring_files_functions(napi_env env, napi_value exports);

/* uring_reap.c: the completion ring in user space. */
/* Moves up to `max` of JavaScript's completions out of the CQ ring into
 * event rows (EVT_STRIDE doubles each), dropping the ring's own CQEs, and
 * flushes a kernel-side overflow backlog into the ring when there is one. */
uint32_t uring_reap(uring *u, double *rows, uint32_t max);
/* Blocks until `min` more CQEs are posted or timeout_ms passes (< 0: no
 * limit); 0, or a positive errno (ETIME on timeout). */
int uring_wait(uring *u, uint32_t min, double timeout_ms);

/* The fd the event loop polls for completions. */
static inline int uring_fd(const uring *u) { return u->fd; }
/* Completions the kernel holds outside the CQ ring, that an io_uring_enter
 * moves into it: CQEs that found the ring full, and (COOP_TASKRUN) finished
 * requests whose task work has not run yet. */
static inline bool uring_cq_held(const uring *u) {
  return (__atomic_load_n(u->sq_flags, __ATOMIC_ACQUIRE) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
}
/* Whether a reap would find something: CQEs in the ring, or held ones. */
static inline bool uring_cq_ready(const uring *u) {
  return *u->cq_head != __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE) || uring_cq_held(u);
}

#endif

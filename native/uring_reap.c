/* Reaping io_uring completions in user space. The kernel produces CQEs at
 * the CQ ring's tail and we consume at its head; only waiting costs a
 * syscall. */
#include <errno.h>

#include "addon.h"
#include "uring.h"

/* Copies what is between head and tail; returns how many JavaScript
 * completions it wrote. */
static uint32_t drain(uring *u, double *rows, uint32_t max, bool *progress) {
  uint32_t n = 0;
  uint32_t head = *u->cq_head; /* only we write it */
  /* Acquire pairs with the kernel's release of `tail`: the CQEs below it
   * are fully written once we see it. */
  const uint32_t tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
  *progress = head != tail;
  while (head != tail && n < max) {
    const struct io_uring_cqe *cqe = &u->cqes[head & u->cq_mask];
    head++;
    if (cqe->user_data & URING_INTERNAL) {
      if (u->internal > 0) u->internal--;
      continue;
    }
    uint32_t slot = (uint32_t)cqe->user_data;
    if (slot >= u->slots || !u->busy[slot]) continue; /* not a request of ours: ignore, never trust */
    u->busy[slot] = 0;
    u->in_flight--;
    double *row = rows + (size_t)n * EVT_STRIDE;
    row[EVT_SLOT] = slot;
    row[EVT_RES] = cqe->res;
    row[EVT_RES2] = cqe->flags;
    n++;
  }
  /* Release: our reads of these CQEs are done before the kernel reuses them. */
  __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
  return n;
}

uint32_t uring_reap(uring *u, double *rows, uint32_t max) {
  uint32_t n = 0;
  for (;;) {
    bool progress;
    n += drain(u, rows + (size_t)n * EVT_STRIDE, max - n, &progress);
    /* CQEs that found the ring full (IORING_FEAT_NODROP), and completions
     * whose task work waits for our next syscall (COOP_TASKRUN), are
     * flagged in the SQ ring; a GETEVENTS enter moves them into the room
     * we just made. Without it a reap that makes no syscall (a poll with
     * min_nr 0) would not see them until the thread next entered the kernel. */
    if (n == max || !uring_cq_held(u)) return n;
    if (sys_io_uring_enter(u->fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0) < 0 && errno != EINTR) return n;
    if (!progress && *u->cq_head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE)) return n;
  }
}

int uring_wait(uring *u, uint32_t min, double timeout_ms) {
  double deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
  for (;;) {
    struct io_uring_getevents_arg arg = {0};
    struct __kernel_timespec kts;
    unsigned flags = IORING_ENTER_GETEVENTS;
    const void *argp = NULL;
    size_t argsz = 0;
    if (timeout_ms >= 0) {
      double left = deadline - now_ms();
      struct timespec ts;
      ms_to_timespec(left > 0 ? left : 0, &ts);
      kts.tv_sec = ts.tv_sec;
      kts.tv_nsec = ts.tv_nsec;
      arg.ts = (uint64_t)(uintptr_t)&kts;
      flags |= IORING_ENTER_EXT_ARG;
      argp = &arg;
      argsz = sizeof(arg);
    }
    if (sys_io_uring_enter(u->fd, 0, min, flags, argp, argsz) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

/* Reaping completions from the kernel's aio_ring in user space, without a
 * syscall. The kernel produces at `tail` and we consume at `head`. */
#include "addon.h"

bool ring_usable(const struct aio_ring *ring) {
  return ring != NULL && ring->magic == AIO_RING_MAGIC &&
         ring->incompat_features == AIO_RING_INCOMPAT_FEATURES && ring->nr > 0 &&
         ring->header_length == sizeof(struct aio_ring);
}

uint32_t ring_reap(struct aio_ring *ring, struct io_event *out, uint32_t max) {
  const unsigned nr = ring->nr;
  unsigned head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
  /* Acquire pairs with the kernel's barrier before it publishes `tail`:
   * the events below `tail` are fully written once we see it. */
  const unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
  uint32_t n = 0;
  if (head >= nr || tail >= nr) return 0; /* corrupt: let the syscall decide */
  while (head != tail && n < max) {
    out[n++] = ring->io_events[head];
    if (++head == nr) head = 0;
  }
  /* Release: our copies are done before the kernel may reuse these entries. */
  if (n > 0) __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
  return n;
}

/* True when nothing waits in the ring (or it looks corrupt: the caller then
 * takes the slow path). Acquire, as in ring_reap, so that a completion seen
 * here is one whose event the next reap will read in full. */
bool ring_empty(const struct aio_ring *ring) {
  const unsigned head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
  const unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
  return head == tail && head < ring->nr;
}

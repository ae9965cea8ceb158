/*
 * Headers that dpdk-sys binds. bindgen reads this file; the shim that
 * bindgen generates for DPDK's `static inline` functions includes it too.
 */
#ifndef IX_DPDK_SYS_WRAPPER_H
#define IX_DPDK_SYS_WRAPPER_H

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_dev.h>

/*
 * `rte_errno` is a macro over a thread-local variable, which bindgen
 * cannot bind: these accessors read and write the calling thread's value.
 */
static inline int ix_rte_errno(void) { return rte_errno; }
static inline void ix_rte_errno_set(int value) { rte_errno = value; }

/* `rte_pktmbuf_mtod` is a macro: the start of an mbuf segment's data. */
static inline void *ix_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }

/* `RTE_MBUF_DIRECT` is a macro: whether a segment owns its data buffer. */
static inline int ix_pktmbuf_is_direct(const struct rte_mbuf *m) { return RTE_MBUF_DIRECT(m) ? 1 : 0; }

#endif

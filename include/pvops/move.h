/* SPDX-License-Identifier: MIT */
/*
 * move.h - the move port and mailbox, shared by the library (guest side) and a host VMM that
 * moves a running guest between hypervisor personalities (tools/pvops-vmm). Plain C11, no
 * library types: a VMM includes this file alone. The protocol is in docs/guest-protocol.md.
 */
#ifndef PVOPS_MOVE_H
#define PVOPS_MOVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define PVOPS_MOVE_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PVOPS_MOVE_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* The port: 32-bit accesses, answered by a VMM that can move the guest, by nothing elsewhere. */
#define PVOPS_MOVE_PORT 0x5f0u
/* `in` answers this ("move" in memory order) where there is a mover; anything else: none. */
#define PVOPS_MOVE_PORT_MAGIC 0x65766f6du
/* `out` values that are not page aligned, so never a mailbox address: */
#define PVOPS_MOVE_PORT_READY 1u /* quiesced: save me now (the `out` returns on the new VM) */
#define PVOPS_MOVE_PORT_ASK 2u   /* the guest asks for the next hop of the plan now */

#define PVOPS_MOVE_MAILBOX_VERSION 1u
#define PVOPS_MOVE_REQUEST_NONE 0u
#define PVOPS_MOVE_REQUEST_MOVE 1u /* the VMM's request: get ready to move */

/* One page of guest memory, little-endian, registered by writing its guest-physical address
 * (page aligned, below 4 GiB) to the port. "guest" fields are the library's, "VMM" fields the
 * host's; the library validates every VMM field before it acts on it. */
struct pvops_move_mailbox {
  uint32_t magic;       /* guest: PVOPS_MOVE_PORT_MAGIC */
  uint32_t version;     /* guest: PVOPS_MOVE_MAILBOX_VERSION */
  uint32_t vector;      /* guest: the interrupt vector the VMM raises on vCPU 0 for a request */
  uint32_t request;     /* VMM: PVOPS_MOVE_REQUEST_MOVE; the guest clears it when it suspends */
  uint64_t request_seq; /* VMM: incremented with each request */
  uint64_t pause_ns;    /* VMM: host time the TSC did not count, written before the new VM runs */
  uint64_t hops;        /* VMM: completed moves */
  char next[16];        /* VMM: the personality of the requested hop ("xen", ...), NUL-terminated */
  /* VMM: 1 once the plan has no hop left (written with the last hop's pause_ns, or at
   * registration for an empty plan); the guest then stops waiting for requests. */
  uint32_t plan_done;
  uint32_t reserved; /* 0 */
};
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, request) == 12, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, request_seq) == 16, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, pause_ns) == 24, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, hops) == 32, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, next) == 40, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(offsetof(struct pvops_move_mailbox, plan_done) == 56, "mailbox layout");
PVOPS_MOVE_STATIC_ASSERT(sizeof(struct pvops_move_mailbox) == 64, "mailbox layout");

/* The longest pause the library believes: a reported pause_ns above it is taken as 0 (and the
 * move's reason says so), so a VMM's garbage cannot throw the guest's clock years ahead. */
#define PVOPS_MOVE_MAX_PAUSE_NS (600ull * 1000000000ull)
/* pause_ns is the host time between saving the vCPUs' TSC and restoring it to the saved value:
 * the guest's TSC counts everything else, so its time across the move is the TSC's plus this. */

#endif /* PVOPS_MOVE_H */

// mailbox_runtime.wgsl: the WGSL side of the mailbox (the seed's "mailbox_handler", for real):
// one dispatch serves a batch of version-2 ring entries, one invocation per entry, through
// the same dispatch rules as mailboxd's table (src/mailbox/protocol.def). What it serves is the
// table's gpu column (mb_device_opcode / mb_device_syscall): every row marked host (UART, ALLOC,
// GPU_EXECUTE, ...) comes back with status 0 = "defer", and mailboxd serves it in order on the
// CPU; so a valid opcode is never BAD_OPCODE here. The MB_ constants and mb_known_* /
// mb_device_* come from the prelude pxos_mailbox_gen --wgsl writes. A row marked device that
// this file has no case for is caught by test_mailbox_every_opcode (it would come back deferred).
//   binding 0: sq    array<u32>, 4 words per entry: CMD ARG0 ARG1 USER_DATA
//   binding 1: cq    array<u32>, 4 words per entry: USER_DATA STATUS RESP RESP1 (written)
//   binding 2: params array<u32>: [0] = number of entries

#include "lib/mailbox_protocol.wgsl"

const DEFER: u32 = 0u;  // not a valid STATUS: "the host serves this one"

@group(0) @binding(0) var<storage, read_write> sq: array<u32>;
@group(0) @binding(1) var<storage, read_write> cq: array<u32>;
@group(0) @binding(2) var<storage, read_write> params: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let n = min(params[0], min(arrayLength(&sq), arrayLength(&cq)) / 4u);
  if (i >= n) { return; }
  let cmd = sq[4u * i];
  let a0 = sq[4u * i + 1u];
  let a1 = sq[4u * i + 2u];
  let opcode = cmd >> MB_OPCODE_SHIFT;
  let thread = (cmd >> MB_THREAD_SHIFT) & 0xFFu;
  let payload = cmd & MB_PAYLOAD_MASK;
  var status = DEFER;
  var resp = 0u;
  var resp1 = 0u;
  if (thread >= MB_MAX_THREADS) {
    status = MB_ST_ERROR | MB_ERR_BAD_THREAD;
  } else if (!mb_known_opcode(opcode)) {
    status = MB_ST_ERROR | MB_ERR_BAD_OPCODE;
  } else if (!mb_device_opcode(opcode) || (opcode == MB_OP_SYSCALL && mb_known_syscall(payload) && !mb_device_syscall(payload))) {
    status = DEFER;  // the table's gpu column says host
  } else if (opcode == MB_OP_NOP) {
    status = MB_ST_COMPLETE;
    resp = payload;
  } else if (opcode == MB_OP_SYSCALL) {
    switch (payload) {
      case MB_SYS_VERSION: { status = MB_ST_COMPLETE; resp = MB_VERSION; resp1 = MB_MAGIC; }
      case MB_SYS_ECHO: { status = MB_ST_COMPLETE; resp = a0; resp1 = a1; }
      case MB_SYS_ADD: { status = MB_ST_COMPLETE; resp = a0 + a1; }
      default: {
        if (!mb_known_syscall(payload)) { status = MB_ST_ERROR | MB_ERR_BAD_SYSCALL; }
      }
    }
  }
  cq[4u * i] = sq[4u * i + 3u];
  cq[4u * i + 1u] = status;
  cq[4u * i + 2u] = resp;
  cq[4u * i + 3u] = resp1;
}

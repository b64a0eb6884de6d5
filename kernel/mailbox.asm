; mailbox.asm: the kernel's mailbox client. Every offset, opcode and status bit comes from
; the generated mailbox_protocol.inc (src/mailbox/protocol.def); nothing is copied by hand.
; Version 1: one command in flight through CMD/STATUS/RESP/DOORBELL (DESIGN.md handshake).
; Version 2: a batch through the submission/completion rings. Every wait has an RDTSC deadline.

section .data
mailbox_virt:      dq 0                 ; identity mapped: = mailbox_phys
mb_ready_timeout_ms: dq MB_READY_TIMEOUT_MS
mb_cmd_timeout_ms: dq MB_CMD_TIMEOUT_MS
mb_last_rtt:       dq 0                 ; cycles of the last v1 round trip
mb_last_op:        dd 0
mb_version:        dd 0
mb_sq_tail:        dd 0                 ; our copies of the indices we own
mb_cq_head:        dd 0

section .rodata
hello_msg:      db "Hello from GPU OS!", 10
HELLO_LEN       equ $ - hello_msg

section .text
bits 64

; mb_init: waits (bounded) until mailboxd has written MAGIC and STATUS READY.
; CF = 0 when the server is there; on timeout prints why and exits with EXIT_MB_TIMEOUT.
mb_init:
        push rbx
        push rcx
        mov rbx, [mailbox_virt]
        mov rax, [mb_ready_timeout_ms]
        call deadline_ms
        mov rcx, rax
.wait:
        cmp dword [rbx + MB_REG_MAGIC], MB_MAGIC
        jne .not_yet
        test dword [rbx + MB_REG_STATUS], MB_ST_READY | MB_ST_BUSY | MB_ST_COMPLETE | MB_ST_ERROR
        jnz .ready
.not_yet:
        pause
        call rdtsc64
        cmp rax, rcx
        jb .wait
        PRINT "mailbox: TIMEOUT: no MAGIC/READY from mailboxd after "
        mov rax, [mb_ready_timeout_ms]
        call print_dec
        PRINT " ms (is `pxos mailboxd --file` serving the ivshmem file?)", 10
        mov al, EXIT_MB_TIMEOUT
        jmp kernel_exit
.ready:
        mov eax, [rbx + MB_REG_VERSION]
        mov [mb_version], eax
        PRINT "mailbox: mailboxd ready: version "
        call print_dec
        PRINT ", epoch "
        mov eax, [rbx + MB_REG_EPOCH]
        call print_dec
        PRINT ", area "
        mov eax, [rbx + MB_REG_SIZE]
        call print_dec
        PRINT " bytes, data area "
        mov eax, [rbx + MB_REG_DATA_SIZE]
        call print_dec
        PRINT " bytes", 10
        mov eax, [rbx + MB_REG_SQ_TAIL]
        mov [mb_sq_tail], eax
        mov eax, [rbx + MB_REG_CQ_HEAD]
        mov [mb_cq_head], eax
        pop rcx
        pop rbx
        ret

; mb_call: edi = command word, esi = ARG0, edx = ARG1 (version 1, one command in flight).
; → eax = RESP, edx = STATUS, r8d = RESP1; CF = 0 on COMPLETE, CF = 1 on ERROR or a STATUS
; that is neither (a corrupt reply). On timeout: edx = 0, rax = -1, CF = 1, and
; [mb_timed_out] = 1. The round trip in cycles is left in mb_last_rtt.
mb_call:
        push rbx
        push rcx
        push r9
        push r10
        mov byte [mb_timed_out], 0
        mov [mb_last_op], edi
        mov rbx, [mailbox_virt]
        mov r9d, edx
        mov rax, [mb_cmd_timeout_ms]
        call deadline_ms
        mov rcx, rax
.wait_free:                             ; the slot is ours when DOORBELL == 0
        cmp dword [rbx + MB_REG_DOORBELL], 0
        je .free
        pause
        call rdtsc64
        cmp rax, rcx
        jb .wait_free
        jmp .timeout
.free:
        mov [rbx + MB_REG_ARG0], esi
        mov [rbx + MB_REG_ARG1], r9d
        mov [rbx + MB_REG_CMD], edi
        call rdtsc64
        mov r10, rax
        mov dword [rbx + MB_REG_DOORBELL], 1    ; release: x86 keeps the stores in order
.wait_done:
        cmp dword [rbx + MB_REG_DOORBELL], 0    ; acquire: later loads stay after this one
        je .done
        pause
        call rdtsc64
        cmp rax, rcx
        jb .wait_done
        jmp .timeout
.done:
        call rdtsc64
        sub rax, r10
        mov [mb_last_rtt], rax
        mov edx, [rbx + MB_REG_STATUS]
        mov eax, [rbx + MB_REG_RESP]
        mov r8d, [rbx + MB_REG_RESP1]
        cmp edx, MB_ST_COMPLETE
        jne .bad
        clc
        jmp .out
.bad:
        stc
        jmp .out
.timeout:
        mov byte [mb_timed_out], 1
        xor edx, edx
        mov rax, -1
        stc
.out:
        pop r10
        pop r9
        pop rcx
        pop rbx
        ret

; mb_must: mb_call, and any failure is fatal: prints what went wrong for operation rsi
; (a name) and exits with EXIT_MB_TIMEOUT or EXIT_MB_ERROR. Same registers as mb_call
; except: edi = command, r11d = ARG0, edx = ARG1, rsi = name.
mb_must:
        push rsi
        mov esi, r11d
        call mb_call
        pop rsi
        jc mb_fail
        ret

; mb_fail: rsi = the operation's name, edx = STATUS, [mb_timed_out] says which failure.
mb_fail:
        cmp byte [mb_timed_out], 0
        je .status
        PRINT "mailbox: TIMEOUT: no reply to "
        call print_str
        PRINT " within "
        mov rax, [mb_cmd_timeout_ms]
        call print_dec
        PRINT " ms (mailboxd gone?)", 10
        mov al, EXIT_MB_TIMEOUT
        jmp kernel_exit
.status:
        PRINT "mailbox: "
        test edx, MB_ST_ERROR
        jz .corrupt
        PRINT "ERROR status 0x"
        mov eax, edx
        call print_hex32
        PRINT " (error code "
        mov eax, edx
        and eax, MB_ST_CODE_MASK
        call print_dec
        PRINT ") for "
        jmp .name
.corrupt:
        PRINT "ERROR: corrupt STATUS 0x"
        mov eax, edx
        call print_hex32
        PRINT " (neither COMPLETE nor ERROR) for "
.name:
        call print_str
        call print_nl
        mov al, EXIT_MB_ERROR
        jmp kernel_exit

; mb_hello_v1: "Hello from GPU OS!" one UART_WRITE a character; each round trip sampled.
mb_hello_v1:
        push rbx
        xor ebx, ebx
.loop:
        movzx edi, byte [hello_msg + rbx]
        or edi, MB_CMD(MB_OP_UART_WRITE, MB_KERNEL_TID, 0)
        xor r11d, r11d
        xor edx, edx
        mov rsi, name_uart_write
        call mb_must
        cmp eax, 1
        jne .short
        mov rax, [mb_last_rtt]
        call sample_add
        inc ebx
        cmp ebx, HELLO_LEN
        jb .loop
        PRINT "mailbox: sent ", '"', "Hello from GPU OS!", '"', " as "
        mov eax, HELLO_LEN
        call print_dec
        PRINT " UART_WRITE commands (version 1 registers)", 10
        mov rsi, stat_uart
        call samples_report
        pop rbx
        ret
.short:
        PRINT "mailbox: ERROR: UART_WRITE reported "
        call print_dec
        PRINT " bytes written, expected 1", 10
        mov al, EXIT_MB_ERROR
        jmp kernel_exit

; mb_nop_bench: MB_NOP_ROUNDS NOP round trips (payload echoed back and checked).
mb_nop_bench:
        push rbx
        xor ebx, ebx
.loop:
        mov edi, ebx
        or edi, MB_CMD(MB_OP_NOP, MB_KERNEL_TID, 0)
        xor r11d, r11d
        xor edx, edx
        mov rsi, name_nop
        call mb_must
        cmp eax, ebx
        jne .bad
        mov rax, [mb_last_rtt]
        call sample_add
        inc ebx
        cmp ebx, MB_NOP_ROUNDS
        jb .loop
        mov rsi, stat_nop
        call samples_report
        pop rbx
        ret
.bad:
        PRINT "mailbox: ERROR: NOP echoed a wrong payload", 10
        mov al, EXIT_MB_ERROR
        jmp kernel_exit

; mb_hello_ring: the same string as ONE batch of UART_WRITE entries on the submission ring,
; published with a single SQ_TAIL store; then every completion is reaped and checked.
mb_hello_ring:
        push rbx
        push r12
        push r13
        push r14
        mov rbx, [mailbox_virt]
        mov r12d, [mb_sq_tail]
        mov eax, r12d
        sub eax, [rbx + MB_REG_SQ_HEAD]
        add eax, HELLO_LEN
        cmp eax, MB_RING_ENTRIES
        ja .full
        xor r13d, r13d
.fill:
        mov eax, r12d
        add eax, r13d
        and eax, MB_RING_MASK
        shl eax, 4                      ; × MB_SQE_SIZE (16)
        lea rdi, [rbx + MB_SQ_OFFSET + rax]
        movzx eax, byte [hello_msg + r13]
        or eax, MB_CMD(MB_OP_UART_WRITE, MB_KERNEL_TID, 0)
        mov [rdi + MB_SQE_CMD], eax
        mov dword [rdi + MB_SQE_ARG0], 0
        mov dword [rdi + MB_SQE_ARG1], 0
        lea eax, [r13 + RING_TAG]
        mov [rdi + MB_SQE_USER_DATA], eax
        inc r13d
        cmp r13d, HELLO_LEN
        jb .fill
        call rdtsc64
        mov r14, rax
        add r12d, HELLO_LEN
        mov [mb_sq_tail], r12d
        mov [rbx + MB_REG_SQ_TAIL], r12d        ; publish: one store for the whole batch
        mfence                                  ; the tail before the flag (lost wake-up)
        test dword [rbx + MB_REG_RING_FLAGS], MB_FLAG_NEED_WAKEUP
        jz .reap_start
        lock inc dword [rbx + MB_REG_WAKE]
.reap_start:
        mov rax, [mb_cmd_timeout_ms]
        call deadline_ms
        mov rcx, rax
        xor r13d, r13d                  ; completions seen
.reap:
        mov eax, [mb_cq_head]
        cmp eax, [rbx + MB_REG_CQ_TAIL]
        jne .one
        pause
        call rdtsc64
        cmp rax, rcx
        jb .reap
        PRINT "ring: TIMEOUT: "
        mov eax, r13d
        call print_dec
        PRINT " of "
        mov eax, HELLO_LEN
        call print_dec
        PRINT " completions within "
        mov rax, [mb_cmd_timeout_ms]
        call print_dec
        PRINT " ms (mailboxd gone?)", 10
        mov al, EXIT_MB_TIMEOUT
        jmp kernel_exit
.one:
        and eax, MB_RING_MASK
        shl eax, 4
        lea rdi, [rbx + MB_CQ_OFFSET + rax]
        mov edx, [rdi + MB_CQE_STATUS]
        cmp edx, MB_ST_COMPLETE
        jne .cqe_bad
        mov eax, [rdi + MB_CQE_USER_DATA]
        sub eax, RING_TAG
        cmp eax, HELLO_LEN
        jae .tag_bad
        inc dword [mb_cq_head]
        mov eax, [mb_cq_head]
        mov [rbx + MB_REG_CQ_HEAD], eax         ; release the slot to the server
        inc r13d
        cmp r13d, HELLO_LEN
        jb .reap
        call rdtsc64
        sub rax, r14
        PRINT "ring: sent ", '"', "Hello from GPU OS!", '"', " as one batch of "
        push rax
        mov eax, HELLO_LEN
        call print_dec
        pop rax
        PRINT " ring entries; all completed", 10
        STAT "ring_batch_entries"
        push rax
        mov eax, HELLO_LEN
        call print_dec
        call print_nl
        pop rax
        STAT "ring_batch_cycles"
        call print_dec
        call print_nl
        STAT "ring_batch_ns"
        call cycles_to_ns
        call print_dec
        call print_nl
        pop r14
        pop r13
        pop r12
        pop rbx
        ret
.full:
        PRINT "ring: ERROR: submission ring has no room for the batch", 10
        mov al, EXIT_MB_ERROR
        jmp kernel_exit
.cqe_bad:
        mov rsi, name_ring_uart
        jmp mb_fail.status
.tag_bad:
        PRINT "ring: ERROR: completion carries an unknown user_data", 10
        mov al, EXIT_MB_ERROR
        jmp kernel_exit

section .data
mb_timed_out: db 0

section .rodata
name_uart_write: db "UART_WRITE", 0
name_nop:        db "NOP", 0
name_ring_uart:  db "UART_WRITE (ring completion)", 0
name_alloc:      db "ALLOC", 0
stat_uart:       db "mailbox_uart_rtt", 0
stat_nop:        db "mailbox_rtt", 0

; modules.asm: pixel programs as kernel modules (docs/microkernel.md, "Modules"). For N = 0, 1,
; ... the kernel asks mailboxd for module N (MODULE), checks the block it placed in the data
; area, copies the PXBC bytes into the user pages and enters the ring-3 PixelVM guest
; (kernel/vm), which verifies them again and runs them. The guest's calls (guest.def) are
; served here: output and input through the mailbox UART, its verdict line, the GPU. A module
; that fails is reported and the next one runs; the kernel's exit code is the first failure's.

section .data
mod_index:      dq 0                    ; N of the module being run
mod_scratch:    dq 0                    ; data-area block for the guest's I/O (ALLOC'd once)
mod_exit:       db EXIT_PASS            ; the first failure's exit code
mod_failed:     dq 0
mod_marked:     db 0                    ; the first module instruction's TSC is taken
tsc_first_module: dq 0

section .rodata
MOD_SCRATCH_BYTES equ USER_COPY_MAX     ; one guest WRITE/READ chunk
name_module:    db "MODULE", 0
ph_module:      db "phase_first_module_instruction", 0

section .text
bits 64

; modules_run: every module mailboxd offers, in order; then [mod_exit] says how it went.
modules_run:
        push rbx
        push r12
        mov byte [sys_quiet], 1
        mov edi, MB_CMD(MB_OP_ALLOC, MB_KERNEL_TID, 0)
        mov r11d, MOD_SCRATCH_BYTES
        xor edx, edx
        mov rsi, name_alloc
        call mb_must
        mov [mod_scratch], rax
        xor ebx, ebx
.next:
        mov [mod_index], rbx
        cmp ebx, MB_PAYLOAD_MASK
        ja .done
        mov edi, ebx
        or edi, MB_CMD(MB_OP_MODULE, MB_KERNEL_TID, 0)
        xor esi, esi
        xor edx, edx
        call mb_call
        jnc .placed
        cmp byte [mb_timed_out], 0
        je .refused
        mov rsi, name_module
        jmp mb_fail
.refused:
        mov eax, edx
        and eax, MB_ST_CODE_MASK
        test edx, MB_ST_ERROR
        jz .corrupt
        cmp eax, MB_ERR_NO_MODULE
        je .done                        ; the list has ended
        call module_prefix
        mov cl, EXIT_MOD_MISSING
        cmp eax, MB_ERR_MOD_MISSING
        je .say_missing
        mov cl, EXIT_MOD_TAMPERED
        cmp eax, MB_ERR_MOD_TAMPERED
        je .say_tampered
        mov cl, EXIT_MOD_TOO_LARGE
        cmp eax, MB_ERR_MOD_TOO_LARGE
        je .say_large
        mov cl, EXIT_MOD_REJECTED
        cmp eax, MB_ERR_MOD_INVALID
        je .say_invalid
        mov cl, EXIT_MB_ERROR
        PRINT "FAIL: mailboxd answered error code "
        call print_dec
        call print_nl
        jmp .failed
.say_missing:
        PRINT "FAIL: missing: mailboxd has no such file or key (its line above says which)", 10
        jmp .failed
.say_tampered:
        PRINT "FAIL: tampered: mailboxd's hash check refused it", 10
        jmp .failed
.say_large:
        PRINT "FAIL: too large: it does not fit the mailbox data area", 10
        jmp .failed
.say_invalid:
        PRINT "FAIL: rejected: mailboxd found no bytecode module in it", 10
        jmp .failed
.corrupt:
        mov rsi, name_module
        jmp mb_fail.status

        ; ---- the block: eax = data offset, r8d = length. Checked before anything is read.
.placed:
        mov r12d, eax                   ; offset (to FREE)
        mov esi, eax
        mov ecx, r8d
        cmp rsi, MB_DATA_OFFSET
        jb .bad_block
        cmp rcx, MB_MODHDR_SIZE
        jb .bad_block
        lea rax, [rsi + rcx]
        cmp rax, [mailbox_size]
        ja .bad_block
        add rsi, [mailbox_virt]
        cmp dword [rsi + MB_MODHDR_MAGIC], MB_MODULE_MAGIC
        jne .bad_block
        mov eax, [rsi + MB_MODHDR_CODE_LEN]
        lea rdx, [rax + MB_MODHDR_SIZE]
        cmp rdx, rcx
        jne .bad_block
        cmp rax, USER_MODULE_MAX
        ja .too_big
        ; the argument block (guest.def), then the bytes
        mov rdi, guest_args
        mov qword [rdi + GA_MODULE], USER_MODULE_BUF
        mov [rdi + GA_MODULE_LEN], rax
        mov [rdi + GA_INDEX], rbx
        mov rdx, [rsi + MB_MODHDR_STEPS]
        mov [rdi + GA_MAX_STEPS], rdx
        mov rdx, [rsi + MB_MODHDR_OUTPUT]
        mov [rdi + GA_MAX_OUTPUT], rdx
        mov edx, [rsi + MB_MODHDR_MEMORY]
        mov [rdi + GA_MEMORY_WORDS], rdx
        mov edx, [rsi + MB_MODHDR_CAPS]
        mov [rdi + GA_CAPS], rdx
        mov rdx, [rsi + MB_MODHDR_SEED]
        mov [rdi + GA_SEED], rdx
        mov edx, [rsi + MB_MODHDR_ENTRY]
        mov [rdi + GA_ENTRY], rdx
        mov qword [rdi + GA_ARENA], USER_ARENA
        mov qword [rdi + GA_ARENA_END], USER_ARENA_END
        mov rdx, [tsc_hz]
        mov [rdi + GA_TSC_HZ], rdx
        movzx edx, byte [guest_probe]
        mov [rdi + GA_PROBE], rdx
        mov rcx, rax
        add rsi, MB_MODHDR_SIZE
        mov rdi, USER_MODULE_BUF
        rep movsb
        call .free_block
        ; ---- run it in ring 3
        mov rdi, guest_entry
        call enter_user
        cmp rax, -1
        je .faulted
        mov cl, EXIT_MOD_TRAP
        cmp rax, GUEST_TRAP
        je .verdict_failed
        mov cl, EXIT_MOD_REJECTED
        cmp rax, GUEST_REJECTED
        je .verdict_failed
        mov cl, EXIT_MOD_ABORT
        cmp rax, GUEST_ABORT
        je .verdict_failed
        mov cl, EXIT_GPU_BAD_ARGS
        cmp rax, GUEST_GPU_BAD
        je .verdict_failed
        cmp rax, GUEST_HALTED
        je .ran
        mov cl, EXIT_MOD_ABORT
        call module_prefix
        PRINT "FAIL: the guest ended with an unknown code", 10
        jmp .failed
.verdict_failed:                        ; the guest's REPORT line said why
        jmp .failed
.faulted:
        call module_prefix
        PRINT "FAIL: contained: the guest took a CPU exception in ring 3 (vector "
        mov rax, [user_fault_vector]
        call print_dec
        PRINT "); kernel memory and I/O ports stay out of its reach", 10
        mov cl, EXIT_MOD_FAULT
        jmp .failed
.bad_block:
        call module_prefix
        PRINT "FAIL: mailboxd placed a malformed MODULE block (refused)", 10
        call .free_block
        mov cl, EXIT_MOD_REJECTED
        jmp .failed
.too_big:
        call module_prefix
        PRINT "FAIL: too large for the module buffer", 10
        call .free_block
        mov cl, EXIT_MOD_TOO_LARGE
.failed:
        inc qword [mod_failed]
        cmp byte [mod_exit], EXIT_PASS
        jne .ran
        mov [mod_exit], cl
.ran:
        inc ebx
        jmp .next
.done:
        PRINT "modules: "
        mov rax, rbx
        call print_dec
        PRINT " run, "
        mov rax, [mod_failed]
        call print_dec
        PRINT " failed", 10
        mov edi, MB_CMD(MB_OP_FREE, MB_KERNEL_TID, 0)
        mov r11, [mod_scratch]
        xor edx, edx
        mov rsi, name_free
        call mb_must
        mov byte [sys_quiet], 0
        cmp byte [mod_marked], 0
        je .no_mark
        mov rsi, ph_module
        mov rax, [tsc_first_module]
        call print_phase
.no_mark:
        pop r12
        pop rbx
        ret
.free_block:                            ; r12d = the block's offset
        push rcx
        mov edi, MB_CMD(MB_OP_FREE, MB_KERNEL_TID, 0)
        mov r11d, r12d
        xor edx, edx
        mov rsi, name_free
        call mb_must
        pop rcx
        ret

; module_prefix: "module N: " (preserves rax, rcx).
module_prefix:
        push rax
        PRINT "module "
        mov rax, [mod_index]
        call print_dec
        PRINT ": "
        pop rax
        ret

; user_range: rdi = user pointer, rsi = length → CF = 1 unless [rdi, rdi+rsi) is inside the
; user pages (no wrap-around).
user_range:
        push rax
        mov rax, USER_BASE
        cmp rdi, rax
        jb .bad
        mov rax, USER_END
        cmp rdi, rax
        ja .bad
        cmp rsi, rax
        ja .bad
        lea rax, [rdi + rsi]
        cmp rax, USER_END
        ja .bad
        pop rax
        clc
        ret
.bad:
        pop rax
        stc
        ret

; sys_write: rdi = user ptr, rsi = length → UART_WRITE (buffer mode) in scratch-sized chunks.
sys_write:
        call user_range
        jc .refuse
        mov rbx, rdi                    ; rbx, r12, r13 are the gate's (syscall_entry saves them)
        mov r12, rsi
        xor r13d, r13d                  ; bytes done
.chunk:
        cmp r13, r12
        jae .ok
        mov rcx, r12
        sub rcx, r13
        cmp rcx, MOD_SCRATCH_BYTES
        jbe .n
        mov ecx, MOD_SCRATCH_BYTES
.n:
        push rcx
        lea rsi, [rbx + r13]
        mov rdi, [mailbox_virt]
        add rdi, [mod_scratch]
        rep movsb
        pop rcx
        push rcx
        mov edi, MB_CMD(MB_OP_UART_WRITE, MB_USER_TID, MB_BUF_FLAG)
        mov esi, [mod_scratch]
        mov edx, ecx
        call mb_call
        pop rcx
        jc .mb_error
        add r13, rcx
        jmp .chunk
.ok:
        mov rax, r12
        ret
.mb_error:
        cmp byte [mb_timed_out], 0
        je .refuse
        mov rsi, name_uart_write
        jmp mb_fail
.refuse:
        mov rax, -1
        ret

; sys_read: rdi = user ptr, rsi = max → UART_READ (buffer mode, non-blocking); rax = bytes.
sys_read:
        call user_range
        jc .refuse
        cmp rsi, MOD_SCRATCH_BYTES
        jbe .n
        mov esi, MOD_SCRATCH_BYTES
.n:
        mov rbx, rdi
        mov edx, esi                    ; ARG1 = max length
        mov edi, MB_CMD(MB_OP_UART_READ, MB_USER_TID, MB_BUF_FLAG)
        mov esi, [mod_scratch]
        call mb_call
        jc .mb_error
        mov ecx, eax                    ; bytes read (the server bounds it by ARG1)
        cmp rcx, MOD_SCRATCH_BYTES
        ja .refuse
        mov r12, rax
        mov rsi, [mailbox_virt]
        add rsi, [mod_scratch]
        mov rdi, rbx
        rep movsb
        mov rax, r12
        ret
.mb_error:
        cmp byte [mb_timed_out], 0
        je .refuse
        mov rsi, name_uart_read
        jmp mb_fail
.refuse:
        mov rax, -1
        ret

; sys_report: rdi = user ptr, rsi = length → "module N: <text>" on the serial console; bytes
; outside printable ASCII become '?', so a module's name cannot drive the terminal.
sys_report:
        call user_range
        jc .out
        cmp rsi, USER_REPORT_MAX
        jbe .n
        mov esi, USER_REPORT_MAX
.n:
        cmp rsi, 5                      ; "stat name=value": a figure, printed as the kernel's own
        jb .prefix
        cmp dword [rdi], 'stat'
        jne .prefix
        cmp byte [rdi + 4], ' '
        je .body
.prefix:
        call module_prefix
.body:
        mov rcx, rsi
        mov rsi, rdi
.byte:
        test rcx, rcx
        jz .nl
        lodsb
        cmp al, 0x20
        jb .q
        cmp al, 0x7e
        jbe .put
.q:
        mov al, '?'
.put:
        call serial_putc
        dec rcx
        jmp .byte
.nl:
        call print_nl
.out:
        xor eax, eax
        ret

; sys_mark: the module's first instruction is next (the boot-to-first-instruction figure).
sys_mark:
        cmp byte [mod_marked], 0
        jne .out
        call rdtsc64
        mov [tsc_first_module], rax
        mov byte [mod_marked], 1
        PRINT "modules: first module instruction", 10   ; pxos boot times this line (wall clock)
.out:
        xor eax, eax
        ret

; sys_gpu: rdi = descriptor (user), rsi = its length, rdx = buffers blob (user), r10 = its
; length. Both go into one ALLOC'd block (descriptor first); each buffer's (offset, length),
; relative to the blob, is checked against it and rebased to the data area; GPU_EXECUTE runs
; on mailboxd's backend; the blob is copied back. rax = 0, the mailbox error code, or -1.
sys_gpu:
        mov rbx, rdi                    ; descriptor
        mov r12, rsi
        mov r13, rdx                    ; blob
        mov r14, r10
        call user_range
        jc .refuse
        mov rdi, r13
        mov rsi, r14
        call user_range
        jc .refuse
        cmp r12, MB_GPU_DESC_SIZE
        jb .refuse
        mov eax, [rbx + MB_GPU_DESC_SIZE - 4]   ; nbuf (the user copy; the block's is re-read)
        cmp eax, MB_GPU_MAX_BUFS
        ja .refuse
        lea rax, [rax * 8 + MB_GPU_DESC_SIZE]
        cmp rax, r12
        jne .refuse
        lea rax, [r12 + r14]
        cmp rax, GPU_MAX_BYTES
        ja .refuse
        mov edi, MB_CMD(MB_OP_ALLOC, MB_USER_TID, 0)
        mov esi, eax
        xor edx, edx
        call mb_call
        jc .mb_error
        mov r15d, eax                   ; the block
        mov rdi, [mailbox_virt]
        add rdi, r15
        mov rsi, rbx
        mov rcx, r12
        rep movsb                       ; descriptor
        mov rsi, r13
        mov rcx, r14
        rep movsb                       ; blob
        ; rebase every buffer (read from the block: the copy the server will read)
        mov rdi, [mailbox_virt]
        add rdi, r15
        mov ecx, [rdi + MB_GPU_DESC_SIZE - 4]
        cmp ecx, MB_GPU_MAX_BUFS
        ja .bad_desc
        lea rsi, [rdi + MB_GPU_DESC_SIZE]
.rebase:
        test ecx, ecx
        jz .run
        mov eax, [rsi]                  ; offset in the blob
        mov edx, [rsi + 4]              ; length
        lea r8, [rax + rdx]             ; 64-bit: no wrap
        cmp r8, r14
        ja .bad_desc
        lea rax, [rax + r15]
        add rax, r12
        mov [rsi], eax
        add rsi, 8
        dec ecx
        jmp .rebase
.run:
        push qword [mb_cmd_timeout_ms]
        mov qword [mb_cmd_timeout_ms], MB_GPU_TIMEOUT_MS
        mov edi, MB_CMD(MB_OP_GPU_EXECUTE, MB_USER_TID, 0)
        mov esi, r15d
        mov edx, r12d
        call mb_call
        pop qword [mb_cmd_timeout_ms]
        jnc .ok
        cmp byte [mb_timed_out], 0
        jne .timeout
        mov eax, edx
        and eax, MB_ST_CODE_MASK        ; the error code goes back to the module
        push rax
        call .free
        pop rax
        ret
.ok:
        mov rsi, [mailbox_virt]
        add rsi, r15
        add rsi, r12
        mov rdi, r13
        mov rcx, r14
        rep movsb                       ; the blob back, results included
        call .free
        xor eax, eax
        ret
.bad_desc:
        call .free
.refuse:
        mov rax, -1
        ret
.mb_error:
        cmp byte [mb_timed_out], 0
        je .refuse
.timeout:
        mov rsi, name_gpu
        jmp mb_fail
.free:
        mov edi, MB_CMD(MB_OP_FREE, MB_USER_TID, 0)
        mov r11d, r15d
        xor edx, edx
        mov rsi, name_free
        jmp mb_must

section .rodata
name_free:      db "FREE", 0
name_gpu:       db "GPU_EXECUTE", 0
name_uart_read: db "UART_READ", 0

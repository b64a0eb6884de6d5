; user.asm: privilege inversion inside pxOS. A ring-3 task has no ports, no kernel memory,
; no MMIO; its only door is the SYSCALL gate, and the only service behind it is the mailbox:
; the host runtime (mailboxd) decides. The gate itself checks every argument. ring3_tests
; runs the three tasks (the allowed one, a port access, a kernel-memory read) for kernel.asm.
;
; SYSCALL is the gate. On a host that leaves SYSCALL in ring 3 (issue 13: KVM on a PVM host
; applies SYSCALL's RIP/RCX/R11/RFLAGS but keeps ring 3's CS and page rights, so the task
; faults fetching syscall_entry), the kernel finishes the SYSCALL from that #PF
; (syscall_pf_entry): same instruction, same ABI, same dispatcher. gate_select probes SYSCALL
; from ring 3 once at boot to know which host this is; "syscallpf" on the command line forces
; the completion path on (TCG tests it with tasks that fault at syscall_entry the same way).
;
;   syscall ABI (rax = number; rdi, rsi, rdx, r10 = arguments; rax = result, rdx = STATUS;
;   rbx, rbp, r12-r15 kept; rcx and r11 are SYSCALL's):
;     0 EXIT      rdi = code                         the task ends; enter_user returns code
;     1 MAILBOX   rdi = opcode, rsi = payload,       one v1 command as thread MB_USER_TID;
;                 rdx = ARG0, r10 = ARG1             rax = RESP, rdx = STATUS (-1: refused), r8 = RESP1
;     2 MB_WRITE  rdi = data offset, rsi = user ptr, copy user bytes into the data area
;                 rdx = length                       rax = 0 or -1 (out of bounds)
;     3 MB_READ   same, the other way
;     4.. the PixelVM guest's calls (WRITE, READ, REPORT, GPU, MARK): src/boot/guest.def and
;         modules.asm, which serves them.

; The numbers (SYS_*) and the module guest's calls (4 and up) are rows of src/boot/guest.def,
; generated into kernel_exits.inc.

section .data
syscall_user_rsp: dq 0
syscall_pf_gate: db 0                   ; 1: finish SYSCALLs from their #PF (gate_select)
syscall_pf_forced: db 0                 ; 1: "syscallpf" on the command line (boot.asm)
sys_quiet: db 0                         ; 1 while modules run: the gate does not log each call

section .rodata
align 8
syscall_table:                          ; bounds-checked: index < SYSCALL_COUNT
        dq sys_exit, sys_mailbox, sys_mb_write, sys_mb_read
        dq sys_write, sys_read, sys_report, sys_gpu, sys_mark       ; modules.asm
SYSCALL_COUNT equ ($ - syscall_table) / 8
%if SYSCALL_COUNT != SYS_COUNT
  %error "syscall_table and src/boot/guest.def disagree on the syscalls"
%endif

; Opcodes ring 3 may ask for: a byte map over the opcode space (1 = allowed), built from the
; generated opcode names. HALT, MMIO and GPU_EXECUTE stay with the kernel.
user_op_allowed:
%assign i 0
%rep 256
  %if i = MB_OP_UART_WRITE || i = MB_OP_UART_READ || i = MB_OP_ALLOC || i = MB_OP_FREE || i = MB_OP_SYSCALL || i = MB_OP_NOP
        db 1
  %else
        db 0
  %endif
  %assign i i + 1
%endrep

section .text
bits 64

; enter_user: rdi = ring-3 entry point. Returns rax = the task's exit code, or -1 when the
; task faulted (user_fault_vector says which exception).
enter_user:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov qword [user_fault_vector], -1
        call .go
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
.go:
        mov [user_return_rsp], rsp      ; a fault or EXIT does `mov rsp, this; ret`
        push GDT_UDATA | 3              ; SS
        push USER_STACK_TOP             ; RSP
        push 0x002                      ; RFLAGS: IF off, IOPL 0 (so every port faults)
        push GDT_UCODE | 3              ; CS
        push rdi                        ; RIP
        xor eax, eax
        xor ebx, ebx
        xor ecx, ecx
        xor edx, edx
        xor esi, esi
        xor edi, edi
        xor ebp, ebp
        xor r8d, r8d
        xor r9d, r9d
        xor r10d, r10d
        xor r11d, r11d
        xor r12d, r12d
        xor r13d, r13d
        xor r14d, r14d
        xor r15d, r15d
        iretq

; SYSCALL lands here: rcx = user RIP, r11 = user RFLAGS, rsp = the USER stack.
syscall_entry:
        mov [syscall_user_rsp], rsp
        mov rsp, istack_top
        push rcx
        push r11
        call gate_dispatch
        pop r11
        pop rcx
        mov rsp, [syscall_user_rsp]
        o64 sysret

; syscall_pf_entry: issue 13's SYSCALL, delivered as a #PF at syscall_entry from ring 3
; (cpu.asm, .from_user jumps here with rbp = the exception frame). Every register is the
; task's at its SYSCALL: rcx = where it continues, r11 = its RFLAGS. Finish what SYSCALL would
; have done and return as SYSRET would, through the IRET frame the fault pushed.
syscall_pf_entry:
        mov rax, FR(12)                 ; the task's rcx: its return address
        mov rdx, USER_BASE
        cmp rax, rdx
        jb .bad_rcx
        mov rdx, USER_END
        cmp rax, rdx                    ; a task that jumps here itself picks rcx: a user
        jae .bad_rcx                    ; address, or the jump is the fault it looks like
        mov rsp, rbp
        pop r15
        pop r14
        pop r13
        pop r12
        pop r11
        pop r10
        pop r9
        pop r8
        pop rbp
        pop rdi
        pop rsi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        add rsp, 16                     ; vector, error code: now the IRET frame
        mov [rsp], rcx                  ; RIP: SYSRET's rcx
        push r11                        ; RFLAGS: SYSRET's r11, but only the status flags (no
        and qword [rsp], USER_RFLAGS_KEEP ; IOPL, no IF: ring 3 runs as enter_user starts it)
        or qword [rsp], 2
        pop qword [rsp + 16]
        push rcx
        push r11
        call gate_dispatch
        pop r11
        pop rcx
        iretq
.bad_rcx:
        PRINT "ring3: SYSCALL with a return address outside the user pages: refused", 10
        jmp exception_common.fault
USER_RFLAGS_KEEP equ 0xCD5              ; CF PF AF ZF SF DF OF

; gate_dispatch: rax = syscall number; the handler's results in rax, rdx, r8.
gate_dispatch:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        cmp rax, SYSCALL_COUNT
        jae .bad
        call [syscall_table + rax * 8]
        jmp .ret
.bad:
        PRINT "ring3: syscall "
        call print_dec
        PRINT ": no such syscall (refused)", 10
        mov rax, -1
.ret:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret

; gate_select: is SYSCALL a real ring-3 -> ring-0 gate on this host? A probe task makes one
; call (an unknown number: the gate refuses it) and checks the answer, then EXITs with
; GATE_PROBE_CODE. A #PF at syscall_entry from ring 3 instead is issue 13's host: finish
; SYSCALLs from that fault, and probe again. Anything else fails the boot.
GATE_PROBE_CODE equ 0x5C                ; the probe task's EXIT code: its call came back right
GATE_PROBE_SYSCALL equ 0xFF             ; the probe's call: no such syscall, rax = -1
gate_select:
        PRINT "ring3: probing SYSCALL from ring 3", 10
        call gate_probe
        cmp rax, GATE_PROBE_CODE
        je .works
        cmp rax, -1
        jne .fail
        cmp qword [user_fault_vector], 14
        jne .fail
        mov rax, syscall_entry
        cmp [user_fault_rip], rax
        jne .fail
        PRINT "ring3: SYSCALL reached syscall_entry still in ring 3 (this host keeps CPL 3 on SYSCALL, issue 13): finishing SYSCALLs from that #PF", 10
        mov byte [syscall_pf_gate], 1
        call gate_probe
        cmp rax, GATE_PROBE_CODE
        jne .fail
        jmp .pf_tests
.works:
        cmp byte [syscall_pf_forced], 0
        jne .forced
        PRINT "ring3: SYSCALL gate works", 10
        ret
.forced:
        PRINT "cmdline: syscallpf: finishing SYSCALLs from a #PF at syscall_entry, as on issue 13's host", 10
        mov byte [syscall_pf_gate], 1
.pf_tests:
        ; What the completion path must do with a task that faults at syscall_entry itself
        ; (on issue 13's host a SYSCALL looks just like it): serve it when rcx is a user
        ; address, refuse it as the fault it is otherwise.
        mov rdi, user_pf_syscall
        call enter_user
        cmp rax, GATE_PROBE_CODE
        jne .fail
        mov rdi, user_pf_badrcx
        call enter_user
        cmp rax, -1
        jne .fail
        cmp qword [user_fault_vector], 14
        jne .fail
        mov rax, syscall_entry          ; refused at the gate, not run into its bad address
        cmp [user_fault_rip], rax
        mov rax, -1
        jne .fail
        PRINT "ring3: SYSCALL via #PF works (probe served; a kernel return address refused)", 10
        ret
.fail:
        PRINT "ring3: FAIL: a SYSCALL probe task ended with rax=0x"
        call print_hex64
        PRINT " (expected exit code "
        mov eax, GATE_PROBE_CODE
        call print_dec
        PRINT ", or -1 after a #PF at syscall_entry)", 10
        mov al, EXIT_FAIL
        jmp kernel_exit

gate_probe:
        mov al, [sys_quiet]
        push rax
        mov byte [sys_quiet], 1
        mov rdi, user_gate_probe
        call enter_user
        pop rcx
        mov [sys_quiet], cl
        ret

sys_exit:
        cmp byte [sys_quiet], 0
        jne .quiet
        PRINT "ring3: task exit("
        mov rax, rdi
        call print_dec
        PRINT ")", 10
.quiet:
        mov rax, rdi
        mov rsp, [user_return_rsp]
        ret

; sys_mailbox: rdi = opcode, rsi = payload, rdx = ARG0.
sys_mailbox:
        cmp byte [sys_quiet], 0         ; a module's host calls are not logged one by one
        jne .checked
        push rdx
        PRINT "ring3: syscall MAILBOX op=0x"
        mov rax, rdi
        call print_hex8
        PRINT " payload=0x"
        mov rax, rsi
        call print_hex16
        PRINT " arg0=0x"
        mov rax, rdx
        call print_hex32
        pop rdx
.checked:
        cmp rdi, 255
        ja .refuse
        cmp byte [user_op_allowed + rdi], 0
        je .refuse
        cmp rsi, MB_PAYLOAD_MASK
        ja .refuse
        mov r11, rdx                    ; ARG0
        shl edi, MB_OPCODE_SHIFT
        or edi, esi
        or edi, MB_USER_TID << MB_THREAD_SHIFT
        mov esi, r11d
        mov edx, r10d                   ; ARG1
        call mb_call
        pushf
        cmp byte [mb_timed_out], 0
        jne .timeout
        cmp byte [sys_quiet], 0
        jne .quiet
        PRINT " -> status 0x"
        push rax
        mov eax, edx
        call print_hex32
        PRINT " resp=0x"
        pop rax
        call print_hex32
        call print_nl
.quiet:
        popf
        mov eax, eax                    ; RESP, zero-extended (r8d = RESP1, from mb_call)
        ret
.timeout:
        popf
        call print_nl
        mov rsi, name_user_mailbox
        jmp mb_fail                     ; a dead mailboxd is fatal for everyone
.refuse:
        cmp byte [sys_quiet], 0
        jne .refuse_quiet
        PRINT " -> refused by the gate", 10
.refuse_quiet:
        mov rax, -1
        mov rdx, -1
        ret

; sys_mb_write / sys_mb_read: rdi = data offset (from the area's start), rsi = user
; pointer, rdx = length. Both ranges are checked: the offset inside the data area, the
; pointer inside the user page.
sys_mb_write:
        call user_copy_check
        jc .refuse
        push rcx
        mov rcx, rdx
        mov r8, rdi
        mov rdi, [mailbox_virt]
        add rdi, r8
        rep movsb
        pop rcx
        xor eax, eax
        ret
.refuse:
        mov rax, -1
        ret

sys_mb_read:
        call user_copy_check
        jc .refuse
        push rcx
        mov rcx, rdx
        mov r8, rdi
        mov rdi, rsi
        mov rsi, [mailbox_virt]
        add rsi, r8
        rep movsb
        pop rcx
        xor eax, eax
        ret
.refuse:
        mov rax, -1
        ret

user_copy_check:
        PRINT "ring3: syscall MB_COPY offset=0x"
        mov rax, rdi
        call print_hex32
        PRINT " len="
        mov rax, rdx
        call print_dec
        cmp rdx, USER_COPY_MAX
        ja .bad
        cmp rdi, MB_DATA_OFFSET
        jb .bad
        cmp rdi, [mailbox_size]         ; also keeps rdi + rdx from wrapping
        ja .bad
        mov rax, rdi
        add rax, rdx
        cmp rax, [mailbox_size]
        ja .bad
        mov rax, USER_BASE
        cmp rsi, rax
        jb .bad
        mov rax, USER_END
        cmp rsi, rax                    ; also keeps rsi + rdx from wrapping
        ja .bad
        mov r8, rsi
        add r8, rdx
        cmp r8, rax
        ja .bad
        PRINT " -> ok", 10
        clc
        ret
.bad:
        PRINT " -> refused: outside the data area or the user page", 10
        stc
        ret

; ring3_tests: the task that may only ask the mailbox, then two that try what they may not.
ring3_tests:
        PRINT "ring3: entering the user task (CPL 3, only the SYSCALL gate)", 10
        mov rdi, user_main
        call enter_user
        test rax, rax
        jnz .main_failed
        PRINT "ring3: task test passed (ALLOC, write, read back, SYSCALL ADD, FREE, double FREE refused by the host, HALT refused by the gate)", 10
        PRINT "ring3: user task touches I/O port 0x3F8", 10
        mov rdi, user_port
        call enter_user
        cmp qword [user_fault_vector], 13
        jne .port_failed
        PRINT "ring3: port access faulted (#GP) as it must: fault test passed", 10
        PRINT "ring3: user task reads kernel memory at 0x"
        mov rax, KERNEL_PROBE_ADDR
        call print_hex64
        call print_nl
        mov rdi, user_kmem
        call enter_user
        cmp qword [user_fault_vector], 14
        jne .kmem_failed
        mov rax, [user_fault_cr2]
        cmp rax, KERNEL_PROBE_ADDR
        jne .kmem_failed
        test qword [user_fault_err], 4  ; #PF error bit 2: the access came from user mode
        jz .kmem_failed
        PRINT "ring3: kernel memory access faulted (#PF, user, present) as it must: fault test passed", 10
        PRINT "ring3: ring-3 test passed", 10
        ret
.main_failed:
        PRINT "ring3: FAIL: the user task ended with "
        call print_dec
        PRINT " (1 alloc, 2 copy, 3 read back, 4 syscall, 5 free, 6 double free accepted, 7 gate let HALT through)", 10
        mov al, EXIT_FAIL
        jmp kernel_exit
.port_failed:
        PRINT "ring3: FAIL: the port access did not #GP", 10
        mov al, EXIT_FAIL
        jmp kernel_exit
.kmem_failed:
        PRINT "ring3: FAIL: the kernel-memory read did not page-fault from user mode", 10
        mov al, EXIT_FAIL
        jmp kernel_exit

section .rodata
name_user_mailbox: db "a ring-3 MAILBOX syscall", 0

; ---------------------------------------------------------------------------------------
; The ring-3 code and data: the only 2 MiB page with the user bit (linker.ld puts .user there).
; ---------------------------------------------------------------------------------------
section .user progbits alloc exec write align=4096
bits 64

; user_main: ALLOC a block, write the greeting into it, read it back, ask the host's
; SYSCALL table for something, FREE the block, then FREE it again (the host must refuse).
user_main:
        mov eax, SYS_MAILBOX
        mov edi, MB_OP_ALLOC
        xor esi, esi
        mov edx, 64
        syscall
        cmp edx, MB_ST_COMPLETE
        jne .fail_alloc
        mov r12, rax                    ; the block's offset
        mov eax, SYS_MB_WRITE
        mov rdi, r12
        lea rsi, [rel u_msg]
        mov edx, U_MSG_LEN
        syscall
        test rax, rax
        jnz .fail_write
        mov eax, SYS_MB_READ
        mov rdi, r12
        lea rsi, [rel u_buf]
        mov edx, U_MSG_LEN
        syscall
        test rax, rax
        jnz .fail_write
        lea rsi, [rel u_msg]
        lea rdi, [rel u_buf]
        mov ecx, U_MSG_LEN
        repe cmpsb
        jne .fail_readback
        mov eax, SYS_MAILBOX            ; the host adds for us: 40 + 2
        mov edi, MB_OP_SYSCALL
        mov esi, MB_SYS_ADD
        mov edx, 40                     ; ARG0
        mov r10d, 2                     ; ARG1
        syscall
        cmp edx, MB_ST_COMPLETE
        jne .fail_syscall
        cmp eax, 42
        jne .fail_syscall
        mov eax, SYS_MAILBOX
        mov edi, MB_OP_FREE
        xor esi, esi
        mov rdx, r12
        syscall
        cmp edx, MB_ST_COMPLETE
        jne .fail_free
        mov eax, SYS_MAILBOX            ; double free: the host must say ERROR
        mov edi, MB_OP_FREE
        xor esi, esi
        mov rdx, r12
        syscall
        test edx, MB_ST_ERROR
        jz .fail_double
        mov eax, SYS_MAILBOX            ; HALT is the kernel's: the gate refuses
        mov edi, MB_OP_HALT
        xor esi, esi
        xor edx, edx
        syscall
        cmp rax, -1
        jne .fail_gate
        xor edi, edi
        jmp .exit
.fail_alloc:    mov edi, 1
                jmp .exit
.fail_write:    mov edi, 2
                jmp .exit
.fail_readback: mov edi, 3
                jmp .exit
.fail_syscall:  mov edi, 4
                jmp .exit
.fail_free:     mov edi, 5
                jmp .exit
.fail_double:   mov edi, 6
                jmp .exit
.fail_gate:     mov edi, 7
.exit:
        mov eax, SYS_EXIT
        syscall
        ud2                             ; never returns

; user_port: ring 3 reads a port (IOPL 0, no I/O bitmap): #GP.
user_port:
        mov dx, 0x3F8
        in al, dx
        mov eax, SYS_EXIT
        mov edi, 99
        syscall

; user_gate_probe (gate_select): one refused call, its answer checked, then EXIT.
user_gate_probe:
        mov eax, GATE_PROBE_SYSCALL
        mov r12, rsp
        syscall
        cmp rax, -1
        jne .bad
        cmp rsp, r12                    ; the kernel kept rsp and r12
        jne .bad
.ok:                                    ; the probe tasks' verdicts (user_pf_syscall too)
        mov eax, SYS_EXIT
        mov edi, GATE_PROBE_CODE
        syscall
.bad:
        mov eax, SYS_EXIT
        mov edi, 1
        syscall
        ud2

; user_pf_syscall: the #PF issue 13's host turns a SYSCALL into, made by hand (rcx, r11 as
; SYSCALL sets them, then a jump to the supervisor page): the kernel must serve it and return.
user_pf_syscall:
        mov eax, GATE_PROBE_SYSCALL
        lea rcx, [rel .back]
        pushfq
        pop r11
        jmp [rel .entry]
.back:
        cmp rax, -1
        jne user_gate_probe.bad
        lea rdx, [rel .back]
        cmp rcx, rdx                    ; rcx as SYSRET leaves it
        jne user_gate_probe.bad
        jmp user_gate_probe.ok
.entry: dq syscall_entry

; user_pf_badrcx: the same, returning into kernel memory: must stay a fault (#PF).
user_pf_badrcx:
        mov eax, GATE_PROBE_SYSCALL
        mov rcx, KERNEL_PROBE_ADDR
        jmp [rel user_pf_syscall.entry]

; user_kmem: ring 3 reads kernel memory (a supervisor page): #PF.
user_kmem:
        mov rax, [abs KERNEL_PROBE_ADDR]
        mov eax, SYS_EXIT
        mov edi, 99
        syscall

; ---- the PixelVM guest (modules.asm enters it once per module) --------------------------
extern pxos_guest_main                  ; kernel/vm/guest.cpp, linked into .user (guest.o)
; guest_entry: the ABI's 16-byte aligned stack, the argument block in rdi, EXIT with the result.
guest_entry:
        and rsp, -16
        lea rdi, [rel guest_args]
        call pxos_guest_main
        mov rdi, rax
        mov eax, SYS_EXIT
        syscall
        ud2

align 8
guest_args: times GA_SIZE db 0          ; filled by modules.asm before each entry (guest.def)

u_msg:  db "Hello from GPU OS!"
U_MSG_LEN equ $ - u_msg
u_buf:  times 64 db 0

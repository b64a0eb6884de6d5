; cpu.asm: GDT (kernel + user segments, TSS), IDT with one stub per exception, the handler
; that prints the exception and every register to COM1, and SYSCALL MSR setup.
;
;   GDT selector  descriptor                       used by
;   0x00          null
;   0x08          64-bit code, DPL 0               kernel CS; STAR[47:32]
;   0x10          data, DPL 0                      kernel SS/DS
;   0x18 (|3)     data, DPL 3                      user SS  = STAR[63:48] + 8
;   0x20 (|3)     64-bit code, DPL 3               user CS  = STAR[63:48] + 16
;   0x28          TSS (16 bytes): RSP0, IST1, no I/O bitmap (every port faults in ring 3)
;
; SYSCALL on a host that leaves it in ring 3 (issue 13: that PVM KVM applies SYSCALL's RIP,
; RCX, R11 and RFLAGS but keeps ring 3's CS and page rights, so the task faults fetching
; syscall_entry): the #PF arrives here with every SYSCALL register intact, and once
; gate_select (user.asm) has seen this host, .from_user hands exactly that fault to
; syscall_pf_entry, which finishes the SYSCALL in ring 0.

; (The GDT_* selector values are in layout.inc; this table must keep that order.)

section .data
align 16
gdt:
        dq 0
        dq 0x00AF9A000000FFFF           ; kernel code: P, DPL0, code, L
        dq 0x00CF92000000FFFF           ; kernel data
        dq 0x00CFF2000000FFFF           ; user data, DPL3
        dq 0x00AFFA000000FFFF           ; user code, DPL3, L
gdt_tss:
        dq 0, 0                         ; filled by cpu_init
gdt_end:
gdt_ptr32:
        dw gdt_end - gdt - 1
        dd gdt
gdt_ptr64:
        dw gdt_end - gdt - 1
        dq gdt

align 16
tss:
        dd 0
        dq istack_top                   ; RSP0
        dq 0, 0                         ; RSP1, RSP2
        dq 0                            ; reserved
        dq dfstack_top                  ; IST1
        times 6 dq 0                    ; IST2..7
        dq 0                            ; reserved
        dw 0
        dw tss_end - tss                ; I/O map base past the limit: no bitmap
tss_end:

align 16
idt:    times 256 * 16 db 0
idt_ptr:
        dw 256 * 16 - 1
        dq idt

; Set by user.asm before it enters ring 3: where a ring-3 fault or exit returns to.
user_return_rsp: dq 0
user_fault_vector: dq -1
user_fault_rip: dq 0
user_fault_err: dq 0
user_fault_cr2: dq 0

section .text
bits 64

; Exception stubs: vectors with a CPU error code push nothing extra; the others push 0.
%macro EXC_NOERR 1
exc_stub_%1:
        push 0
        push %1
        jmp exception_common
%endmacro
%macro EXC_ERR 1
exc_stub_%1:
        push %1
        jmp exception_common
%endmacro

%assign v 0
%rep 32
  %if v = 8 || v = 10 || v = 11 || v = 12 || v = 13 || v = 14 || v = 17 || v = 21 || v = 29 || v = 30
    EXC_ERR v
  %else
    EXC_NOERR v
  %endif
  %assign v v + 1
%endrep

section .rodata
align 8
exc_stub_table:
%assign v 0
%rep 32
        dq exc_stub_ %+ v
  %assign v v + 1
%endrep

; Names for the 32 architectural vectors (index checked against the table size).
exc_names:
        dq exn0, exn1, exn2, exn3, exn4, exn5, exn6, exn7, exn8, exn9, exn10, exn11, exn12, exn13
        dq exn14, exn15, exn16, exn17, exn18, exn19, exn20, exn21, exnr, exnr, exnr, exnr, exnr
        dq exnr, exn28, exn29, exn30, exnr
exn0:  db "#DE divide error", 0
exn1:  db "#DB debug", 0
exn2:  db "NMI", 0
exn3:  db "#BP breakpoint", 0
exn4:  db "#OF overflow", 0
exn5:  db "#BR bound range", 0
exn6:  db "#UD invalid opcode", 0
exn7:  db "#NM device not available", 0
exn8:  db "#DF double fault", 0
exn9:  db "coprocessor segment overrun", 0
exn10: db "#TS invalid TSS", 0
exn11: db "#NP segment not present", 0
exn12: db "#SS stack fault", 0
exn13: db "#GP general protection", 0
exn14: db "#PF page fault", 0
exn15: db "reserved", 0
exn16: db "#MF x87 error", 0
exn17: db "#AC alignment check", 0
exn18: db "#MC machine check", 0
exn19: db "#XM SIMD error", 0
exn20: db "#VE virtualization", 0
exn21: db "#CP control protection", 0
exn28: db "#HV hypervisor injection", 0
exn29: db "#VC VMM communication", 0
exn30: db "#SX security", 0
exnr:  db "reserved", 0

section .text
; Frame on entry: [rsp] vector, +8 error, +16 RIP, +24 CS, +32 RFLAGS, +40 RSP, +48 SS.
exception_common:
        push rax
        push rbx
        push rcx
        push rdx
        push rsi
        push rdi
        push rbp
        push r8
        push r9
        push r10
        push r11
        push r12
        push r13
        push r14
        push r15
        mov rbp, rsp                    ; rbp → saved r15; vector at rbp+15*8
%define FR(n) [rbp + (n) * 8]
%define FR_VEC   FR(15)
%define FR_ERR   FR(16)
%define FR_RIP   FR(17)
%define FR_CS    FR(18)
%define FR_FLAGS FR(19)
%define FR_RSP   FR(20)
%define FR_SS    FR(21)
        mov rax, FR_CS
        test al, 3
        jnz .from_user

        ; ring 0: this is a kernel bug. Print everything, exit with the panic code, halt.
        PRINT 13, 10, "KERNEL PANIC: exception "
        call print_exception_line
        call print_registers
        mov al, EXIT_PANIC
        jmp kernel_exit

.from_user:
        ; issue 13's host: a SYSCALL that stayed in ring 3 faults fetching syscall_entry.
        cmp byte [syscall_pf_gate], 0
        je .fault
        cmp qword FR_VEC, 14
        jne .fault
        mov rax, syscall_entry
        cmp FR_RIP, rax
        jne .fault
        mov rdx, cr2
        cmp rdx, rax
        je syscall_pf_entry
.fault:
        ; ring 3: the task tried something it may not do. Record, report, and return to the
        ; kernel at the point enter_user was called from (the task is gone).
        mov rax, FR_VEC
        mov [user_fault_vector], rax
        mov rax, FR_RIP
        mov [user_fault_rip], rax
        mov rax, FR_ERR
        mov [user_fault_err], rax
        mov rax, cr2
        mov [user_fault_cr2], rax
        PRINT "ring3: fault caught: "
        call print_exception_line
        mov ax, GDT_KDATA
        mov ds, ax
        mov es, ax
        mov rsp, [user_return_rsp]
        mov rax, -1                     ; enter_user returns -1: the task faulted
        ret

; One line: name (vector) err rip cs [cr2 for #PF].
print_exception_line:
        mov rax, FR_VEC
        cmp rax, 32
        jae .noname
        mov rsi, [exc_names + rax * 8]
        call print_str
.noname:
        PRINT " (vector "
        mov rax, FR_VEC
        call print_dec
        PRINT ") err=0x"
        mov rax, FR_ERR
        call print_hex32
        PRINT " rip=0x"
        mov rax, FR_RIP
        call print_hex64
        PRINT " cs=0x"
        mov rax, FR_CS
        call print_hex16
        cmp qword FR_VEC, 14
        jne .no_cr2
        PRINT " cr2=0x"
        mov rax, cr2
        call print_hex64
.no_cr2:
        call print_nl
        ret

print_registers:
%macro PREG 2
        PRINT %1
        mov rax, %2
        call print_hex64
%endmacro
        PREG "  rax=", FR(14)
        PREG " rbx=", FR(13)
        PREG " rcx=", FR(12)
        PREG " rdx=", FR(11)
        call print_nl
        PREG "  rsi=", FR(10)
        PREG " rdi=", FR(9)
        PREG " rbp=", FR(8)
        PREG " rsp=", FR_RSP
        call print_nl
        PREG "  r8 =", FR(7)
        PREG " r9 =", FR(6)
        PREG " r10=", FR(5)
        PREG " r11=", FR(4)
        call print_nl
        PREG "  r12=", FR(3)
        PREG " r13=", FR(2)
        PREG " r14=", FR(1)
        PREG " r15=", FR(0)
        call print_nl
        PREG "  rflags=", FR_FLAGS
        PREG " ss=", FR_SS
        mov rax, cr0
        PREG " cr0=", rax
        mov rax, cr3
        PREG " cr3=", rax
        mov rax, cr4
        PREG " cr4=", rax
        call print_nl
        ret

; cpu_init: 64-bit GDT reload, TSS, IDT, SYSCALL MSRs.
cpu_init:
        ; TSS descriptor: limit, base split over the 16-byte system descriptor.
        mov rax, tss
        mov rdx, tss_end - tss - 1
        mov rcx, rax
        and rcx, 0xFFFFFF
        shl rcx, 16
        or rdx, rcx                     ; base[23:0] at bits 16..39
        mov rcx, 0x89                   ; P, type 9 (available 64-bit TSS)
        shl rcx, 40
        or rdx, rcx
        mov rcx, rax
        shr rcx, 24
        and rcx, 0xFF
        shl rcx, 56
        or rdx, rcx                     ; base[31:24]
        mov [gdt_tss], rdx
        mov rcx, rax
        shr rcx, 32
        mov [gdt_tss + 8], rcx          ; base[63:32]
        lgdt [gdt_ptr64]
        mov ax, GDT_TSS
        ltr ax

        ; IDT: 32 interrupt gates (type 0xE, DPL 0), #DF on IST1.
        xor ecx, ecx
.idt_loop:
        mov rax, [exc_stub_table + rcx * 8]
        mov rdi, rcx
        shl rdi, 4
        add rdi, idt
        mov [rdi], ax                   ; offset 15:0
        mov word [rdi + 2], GDT_KCODE
        xor edx, edx
        cmp ecx, 8
        jne .no_ist
        mov dl, 1
.no_ist:
        mov [rdi + 4], dl               ; IST
        mov byte [rdi + 5], 0x8E        ; P, DPL0, interrupt gate
        shr rax, 16
        mov [rdi + 6], ax               ; offset 31:16
        shr rax, 16
        mov [rdi + 8], eax              ; offset 63:32
        mov dword [rdi + 12], 0
        inc ecx
        cmp ecx, 32
        jb .idt_loop
        lidt [idt_ptr]

        ; SYSCALL: STAR selects the segments, LSTAR the entry, FMASK clears IF|TF|DF|AC.
        mov ecx, MSR_STAR
        xor eax, eax
        mov edx, (GDT_UDATA - 8) << 16 | GDT_KCODE
        wrmsr
        mov ecx, MSR_LSTAR
        mov rax, syscall_entry
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, MSR_FMASK
        mov eax, (1 << 9) | (1 << 8) | (1 << 10) | (1 << 18)
        xor edx, edx
        wrmsr
        ret

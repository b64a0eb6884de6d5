; kernel.asm: the pxOS microkernel, one NASM translation unit. Boot flow (docs/microkernel.md):
;   entry (32-bit) → long mode → CPU tables → TSC calibration → ACPI/PCI scan → mailbox BAR
;   → mailboxd handshake → hello (v1) → ring batch (v2) → ring-3 task → figures → debug-exit
%include "defs.inc"
%include "mailbox_protocol.inc"        ; generated from src/mailbox/protocol.def

MB_KERNEL_TID     equ 0                 ; the kernel's mailbox thread id
MB_USER_TID       equ 1                 ; what the ring-3 task's commands carry
MB_NOP_ROUNDS     equ 200               ; NOP round trips for the p50 figure
RING_TAG          equ 0x7000            ; USER_DATA base of the ring batch entries
USER_STACK_TOP    equ (USER_PAGE_INDEX + 1) << 21
KERNEL_PROBE_ADDR equ 0x100000          ; kernel image: what ring 3 must not read
IVSHMEM_VENDOR_DEVICE equ 0x11101AF4

%include "boot.asm"
%include "console.asm"
%include "cpu.asm"
%include "tsc.asm"
%include "pci.asm"
%include "mailbox.asm"
%include "user.asm"

; VGA row-0 markers: one column per stage, green when reached, red on failure.
%macro MARK 2                           ; column, character
        push rax
        push rcx
        mov ecx, %1
        mov ax, 0x2F00 | %2
        call vga_mark
        pop rcx
        pop rax
%endmacro

section .text
bits 64
long_mode_entry:
        mov ax, GDT_KDATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        xor eax, eax
        mov fs, ax
        mov gs, ax
        mov rsp, kstack_top
        call rdtsc64
        mov [tsc_long_mode], rax
        call serial_init
        MARK 0, 'L'
        PRINT 10, "pxOS microkernel: long mode, booted by multiboot "
        mov eax, 1
        cmp dword [boot_magic], MB2_BOOT_MAGIC
        jne .mb1
        mov eax, 2
.mb1:
        call print_dec
        call print_nl
        call cpu_init
        MARK 1, 'C'
        PRINT "cpu: GDT, TSS, IDT (32 exception handlers), SYSCALL gate ready", 10
        call parse_cmdline
        cmp byte [panic_test], 0
        je .no_panic_test
        PRINT "cmdline: panictest: executing ud2 in ring 0", 10
        mov rax, 0x1111111111111111     ; recognisable values in the register dump
        mov r15, 0xF15F15F15F15F15F
        ud2
.no_panic_test:
        call tsc_calibrate
        MARK 2, 'T'
        PRINT "tsc: "
        mov rax, [tsc_hz]
        xor edx, edx
        mov rcx, 1000000
        div rcx
        call print_dec
        PRINT " MHz"
        cmp byte [tsc_calibrated], 0
        je .nocal
        PRINT " (calibrated against the PIT)"
.nocal:
        call print_nl

        ; ---- PCI ---------------------------------------------------------------------------
        call acpi_find_mcfg
        cmp qword [ecam_base], 0
        setne byte [pci_use_ecam]
        call rdtsc64
        mov [tsc_pci_start], rax
        call pci_scan
        call rdtsc64
        mov [tsc_pci_done], rax
        MARK 3, 'P'
        PRINT "pci: scan through "
        cmp byte [pci_use_ecam], 0
        je .legacy_name
        PRINT "ECAM", 10
        jmp .scanned
.legacy_name:
        PRINT "legacy 0xCF8/0xCFC ports", 10
.scanned:
        call pci_report
        STAT "pci_scan_ns"
        mov rax, [tsc_pci_done]
        sub rax, [tsc_pci_start]
        call cycles_to_ns
        call print_dec
        call print_nl
        call pci_crosscheck

        cmp dword [display_bdf], -1
        jne .have_display
        PRINT "pci: no display controller (class 03)", 10
        jmp .display_done
.have_display:
        PRINT "pci: display controller at "
        mov edi, [display_bdf]
        call print_bdf
        call print_nl
.display_done:
        cmp dword [mailbox_bdf], -1
        jne .have_mailbox
        PRINT "mailbox: no mailbox device (ivshmem-plain 1af4:1110) on PCI", 10
        mov al, EXIT_NO_MAILBOX
        jmp kernel_exit
.have_mailbox:
        call mailbox_map
        MARK 4, 'M'

        ; ---- mailbox ------------------------------------------------------------------------
        call mb_init
        call rdtsc64
        mov [tsc_mailbox_ready], rax
        call mb_hello_v1
        call rdtsc64
        mov [tsc_hello], rax
        MARK 5, 'H'
        call mb_nop_bench
        cmp dword [mb_version], 2
        jae .ring
        PRINT "ring: FAIL: mailboxd serves version "
        mov eax, [mb_version]
        call print_dec
        PRINT " only; the ring batch needs version 2", 10
        mov al, EXIT_FAIL
        jmp kernel_exit
.ring:
        call mb_hello_ring
        MARK 6, 'R'

        ; ---- ring 3 -------------------------------------------------------------------------
        call ring3_tests
        MARK 7, '3'

        ; ---- figures ------------------------------------------------------------------------
        PRINT "boot phases (ns since the first instruction):", 10
        mov rsi, ph_long
        mov rax, [tsc_long_mode]
        call print_phase
        mov rsi, ph_pci
        mov rax, [tsc_pci_done]
        call print_phase
        mov rsi, ph_mb
        mov rax, [tsc_mailbox_ready]
        call print_phase
        mov rsi, ph_hello
        mov rax, [tsc_hello]
        call print_phase
        ; The host runtime's work is done: HALT it (it completes, then mailboxd stops).
        mov edi, MB_CMD(MB_OP_HALT, MB_KERNEL_TID, 0)
        xor r11d, r11d
        xor edx, edx
        mov rsi, name_halt
        call mb_must
        PRINT "mailbox: HALT sent; mailboxd stops", 10
        MARK 8, 'K'
        PRINT "pxos: PASS", 10
        mov al, EXIT_PASS
        jmp kernel_exit

; pci_crosscheck: on an ECAM machine, walk again through the legacy ports and compare the
; device count (microvm has no legacy ports: it says so).
pci_crosscheck:
        cmp byte [pci_use_ecam], 0
        je .out
        push qword [pci_count]
        mov byte [pci_use_ecam], 0
        call pci_scan
        mov byte [pci_use_ecam], 1
        mov rax, [pci_count]
        pop qword [pci_count]
        test rax, rax
        jnz .some
        PRINT "pci: legacy 0xCF8 ports see no devices (ECAM-only machine)", 10
        jmp .out
.some:
        cmp rax, [pci_count]
        jne .differ
        PRINT "pci: legacy 0xCF8 walk agrees with ECAM ("
        call print_dec
        PRINT " devices)", 10
        jmp .out
.differ:
        PRINT "pci: WARNING: legacy 0xCF8 walk found "
        call print_dec
        PRINT " devices, ECAM "
        mov rax, [pci_count]
        call print_dec
        call print_nl
.out:
        ret

; print_bdf: edi = bdf → "bb:dd.f"
print_bdf:
        push rax
        mov eax, edi
        shr eax, 8
        call print_hex8
        PRINT ":"
        mov eax, edi
        shr eax, 3
        and eax, 31
        call print_hex8
        PRINT "."
        mov eax, edi
        and eax, 7
        call print_hex4
        pop rax
        ret

; mailbox_map: BAR2 of the ivshmem device → mailbox_phys/size, programmed when the firmware
; left it unassigned (microvm), decode enabled, mapped uncached.
mailbox_map:
        mov edi, [mailbox_bdf]
        mov esi, 0x18                   ; BAR2 (64-bit: BAR2 low, BAR3 high)
        call pci_bar64
        mov [mailbox_size], rdx
        test rax, rax
        jnz .assigned
        mov rax, BAR_ASSIGN_BASE
        mov edi, [mailbox_bdf]
        mov esi, 0x18
        call pci_write32
        mov esi, 0x1C
        shr rax, 32
        call pci_write32
        mov rax, BAR_ASSIGN_BASE
        PRINT "pci: BAR2 unassigned (no firmware assigns BARs here): programmed at 0x"
        call print_hex64
        call print_nl
.assigned:
        mov [mailbox_phys], rax
        mov [mailbox_virt], rax
        mov edi, [mailbox_bdf]
        mov esi, 4
        call pci_read32
        or eax, 2                       ; memory space decode on
        and eax, 0xFFFF
        call pci_write32
        cmp qword [mailbox_size], MB_MIN_SIZE
        jae .size_ok
        PRINT "mailbox: ERROR: BAR2 is smaller than the protocol's minimum area", 10
        mov al, EXIT_FAIL
        jmp kernel_exit
.size_ok:
        mov rdi, [mailbox_phys]
        mov rsi, [mailbox_size]
        call map_mmio
        PRINT "mailbox: ivshmem at "
        mov edi, [mailbox_bdf]
        call print_bdf
        PRINT ", BAR2 0x"
        mov rax, [mailbox_phys]
        call print_hex64
        PRINT " size "
        mov rax, [mailbox_size]
        shr rax, 10
        call print_dec
        PRINT " KiB, mapped uncached", 10
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

; parse_cmdline: "mbtimeout=MS" on the multiboot command line sets the READY wait.
parse_cmdline:
        mov esi, [boot_info]
        test esi, esi
        jz .out
        cmp dword [boot_magic], MB1_BOOT_MAGIC
        jne .mb2
        test dword [rsi], 1 << 2        ; flags: cmdline present
        jz .out
        mov esi, [rsi + 16]
        jmp .scan
.mb2:
        cmp dword [boot_magic], MB2_BOOT_MAGIC
        jne .out
        add rsi, 8                      ; total_size, reserved; then 8-aligned tags
.tag:
        mov eax, [rsi]
        test eax, eax
        jz .out                         ; end tag
        cmp eax, 1                      ; boot command line
        je .mb2_cmd
        mov eax, [rsi + 4]
        add eax, 7
        and eax, ~7
        add rsi, rax
        jmp .tag
.mb2_cmd:
        add rsi, 8
.scan:
        mov rax, 'mbtimeou'
        mov rdx, 'panictes'
.find:
        cmp byte [rsi], 0
        je .out
        cmp [rsi], rdx                  ; "panictest": a ring-0 #UD to show the panic path
        jne .not_panic
        cmp byte [rsi + 8], 't'
        jne .not_panic
        mov byte [panic_test], 1
.not_panic:
        cmp [rsi], rax
        jne .next
        cmp word [rsi + 8], 't='
        je .num
.next:
        inc rsi
        jmp .find
.num:
        add rsi, 10
        xor eax, eax
.digit:
        movzx ecx, byte [rsi]
        sub ecx, '0'
        cmp ecx, 9
        ja .set
        imul rax, rax, 10
        add rax, rcx
        inc rsi
        jmp .digit
.set:
        test rax, rax
        jz .find
        mov [mb_ready_timeout_ms], rax
        PRINT "cmdline: mbtimeout="
        call print_dec
        PRINT " ms", 10
        jmp .find
.out:
        ret

; kernel_exit: al = isa-debug-exit code. Prints it, exits QEMU; halts if the device is absent.
kernel_exit:
        push rax
        cmp al, EXIT_PASS
        je .pass
        mov ecx, 9
        mov ax, 0x4F00 | 'X'
        call vga_mark
        cmp byte [rsp], EXIT_PANIC
        je .code
        PRINT "pxos: FAIL", 10
        jmp .code
.pass:
.code:
        PRINT "pxos: exit code 0x"
        mov al, [rsp]
        movzx eax, al
        call print_hex8
        call print_nl
        pop rax
        out DEBUG_EXIT_PORT, al
        PRINT "pxos: no isa-debug-exit device; halted", 10
.hang:
        cli
        hlt
        jmp .hang

section .data
panic_test: db 0

section .rodata
name_halt: db "HALT", 0
ph_long:  db "phase_long_mode", 0
ph_pci:   db "phase_pci_scan_done", 0
ph_mb:    db "phase_mailbox_ready", 0
ph_hello: db "phase_hello", 0

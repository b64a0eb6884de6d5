; kernel.asm: the pxOS microkernel's boot flow, one NASM translation unit with the files it
; includes (docs/microkernel.md, "Source layout"):
;   entry (32-bit) → long mode → CPU tables → TSC rate (tsc_khz=, CPUID or the PIT) → ACPI/PCI scan → mailbox BAR
;   → mailboxd handshake → hello (v1) → ring batch (v2) → ring-3 task → figures → debug-exit
;   With "modules" on the command line (pxos boot --module) the handshake is followed by the
;   boot modules instead (modules.asm): each one a PixelVM program run in ring 3.
%include "layout.inc"                  ; addresses, sizes, selectors, ports
%include "defs.inc"                    ; tunables and the PRINT/STAT macros
%include "kernel_exits.inc"            ; generated from src/boot/exits.def
%include "mailbox_protocol.inc"        ; generated from src/mailbox/protocol.def

%include "boot.asm"
%include "console.asm"
%include "cpu.asm"
%include "tsc.asm"
%include "pci.asm"
%include "mailbox.asm"
%include "user.asm"
%include "modules.asm"

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
        call gate_select                ; SYSCALL probed from ring 3, before any ring-3 task
        call rdtsc64
        mov [tsc_gate_ready], rax
        call tsc_init
        call rdtsc64
        mov [tsc_rate_known], rax
        MARK 2, 'T'
        call tsc_print

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
        cmp byte [module_mode], 0
        je .self_tests
        call modules_run
        MARK 7, 'V'
        jmp .figures
.self_tests:
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
.figures:
        PRINT "boot phases (ns since the first instruction):", 10
        mov rsi, ph_long
        mov rax, [tsc_long_mode]
        call print_phase
        mov rsi, ph_gate
        mov rax, [tsc_gate_ready]
        call print_phase
        mov rsi, ph_tsc
        mov rax, [tsc_rate_known]
        call print_phase
        mov rsi, ph_acpi
        mov rax, [tsc_pci_start]
        call print_phase
        mov rsi, ph_pci
        mov rax, [tsc_pci_done]
        call print_phase
        mov rsi, ph_mb
        mov rax, [tsc_mailbox_ready]
        call print_phase
        cmp byte [module_mode], 0       ; no hello in module mode
        jne .no_hello
        mov rsi, ph_hello
        mov rax, [tsc_hello]
        call print_phase
.no_hello:
        ; The host runtime's work is done: HALT it (it completes, then mailboxd stops).
        mov edi, MB_CMD(MB_OP_HALT, MB_KERNEL_TID, 0)
        xor r11d, r11d
        xor edx, edx
        mov rsi, name_halt
        call mb_must
        PRINT "mailbox: HALT sent; mailboxd stops", 10
        MARK 8, 'K'
        mov al, [mod_exit]              ; EXIT_PASS unless a module failed
        cmp al, EXIT_PASS
        jne kernel_exit
        PRINT "pxos: PASS", 10
        jmp kernel_exit

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

section .rodata
name_halt: db "HALT", 0
ph_long:  db "phase_long_mode", 0
ph_gate:  db "phase_syscall_gate_ready", 0
ph_tsc:   db "phase_tsc_rate_known", 0
ph_acpi:  db "phase_acpi_done", 0
ph_pci:   db "phase_pci_scan_done", 0
ph_mb:    db "phase_mailbox_ready", 0
ph_hello: db "phase_hello", 0

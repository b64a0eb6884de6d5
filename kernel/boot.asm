; boot.asm: multiboot 1 + 2 headers, the 32-bit entry, identity page tables, the switch to
; long mode, and the boot command line. QEMU's -kernel loads multiboot 1 (32-bit ELF); GRUB's
; ISO uses multiboot 2. Addresses and sizes: layout.inc.

MB1_MAGIC       equ 0x1BADB002
MB1_FLAGS       equ 0x00000003          ; bit 0 page-align modules, bit 1 memory info
MB1_BOOT_MAGIC  equ 0x2BADB002          ; in eax when a multiboot 1 loader jumps to us
MB2_MAGIC       equ 0xE85250D6
MB2_BOOT_MAGIC  equ 0x36D76289          ; in eax when a multiboot 2 loader jumps to us

PTE_P   equ 1 << 0
PTE_RW  equ 1 << 1
PTE_US  equ 1 << 2                      ; user may access (AND across all levels)
PTE_PWT equ 1 << 3
PTE_PCD equ 1 << 4                      ; PCD|PWT = uncached: the MMIO hole
PTE_PS  equ 1 << 7                      ; 2 MiB page in a PD entry

section .multiboot
align 4
mb1_header:
        dd MB1_MAGIC, MB1_FLAGS, -(MB1_MAGIC + MB1_FLAGS)
align 8
mb2_header:
        dd MB2_MAGIC, 0, mb2_header_end - mb2_header
        dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
        dw 0, 0                         ; end tag
        dd 8
mb2_header_end:

; ---------------------------------------------------------------------------------------
; Page tables (identity map, 2 MiB pages), see docs/microkernel.md:
;
;   PML4[0] ─▶ PDPT[0..3] ─▶ PD0..PD3   each PD: 512 × 2 MiB = 1 GiB, 4 GiB in all
;   PD0[0]  0x000000-0x1FFFFF  kernel image, stacks, VGA      supervisor
;   PD0[1]  0x200000-0x3FFFFF  the ring-3 task page           USER
;   ECAM and BARs: map_mmio (pci.asm) re-marks their 2 MiB leaves uncached (PCD|PWT);
;   above 4 GiB it builds PDPT/PD pages from pt_pool.
; ---------------------------------------------------------------------------------------
section .bss
align PAGE_SIZE
pml4:    resb PAGE_SIZE
pdpt:    resb PAGE_SIZE
pd_low:  resb PAGE_SIZE * IDENTITY_PDS
pt_pool: resb PAGE_SIZE * PT_POOL_PAGES      ; page-table pages for mappings above 4 GiB
kstack:  resb KSTACK_BYTES              ; boot / kernel stack
kstack_top:
istack:  resb KSTACK_BYTES              ; TSS.RSP0: ring 3 → ring 0 interrupts and syscalls
istack_top:
dfstack: resb DFSTACK_BYTES                   ; IST1: double fault
dfstack_top:

section .data
boot_magic:     dd 0
boot_info:      dd 0
pt_pool_used:   dd 0

section .text
bits 32
global _start
_start:
        cli
        mov esp, kstack_top
        mov [boot_magic], eax
        mov [boot_info], ebx
        rdtsc                           ; phase 0: the first instruction we own
        mov [tsc_entry], eax
        mov [tsc_entry + 4], edx
        cld

        ; CPUID: long mode present? (80000001h:EDX bit 29)
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000001
        jb .no_long_mode
        mov eax, 0x80000001
        cpuid
        test edx, 1 << 29
        jz .no_long_mode

        ; PML4[0] → PDPT, PDPT[i] → PD_i. US on the upper levels so one leaf can be user.
        mov eax, pdpt
        or eax, PTE_P | PTE_RW | PTE_US
        mov [pml4], eax
        xor ecx, ecx
.pdpt_loop:
        mov eax, ecx
        shl eax, PAGE_SHIFT
        add eax, pd_low
        or eax, PTE_P | PTE_RW | PTE_US
        mov [pdpt + ecx * 8], eax
        inc ecx
        cmp ecx, IDENTITY_PDS
        jb .pdpt_loop

        ; IDENTITY_LEAVES leaves of 2 MiB: physical = index << 21.
        xor ecx, ecx
.pd_loop:
        mov eax, ecx
        shl eax, LARGE_PAGE_SHIFT
        or eax, PTE_P | PTE_RW | PTE_PS
        cmp ecx, USER_PAGE_INDEX
        jb .not_user
        cmp ecx, USER_PAGE_INDEX + USER_PAGES
        jae .not_user
        or eax, PTE_US
.not_user:
        mov [pd_low + ecx * 8], eax
        mov edx, ecx
        shr edx, 32 - LARGE_PAGE_SHIFT  ; bits 32+ of the address: 0 below 4 GiB
        mov [pd_low + ecx * 8 + 4], edx
        inc ecx
        cmp ecx, IDENTITY_LEAVES
        jb .pd_loop

        mov eax, cr4
        or eax, (1 << 5) | (1 << 9) | (1 << 10)     ; PAE, OSFXSR, OSXMMEXCPT
        mov cr4, eax
        mov eax, pml4
        mov cr3, eax
        mov ecx, MSR_EFER               ; EFER: LME (long mode) + SCE (SYSCALL/SYSRET)
        rdmsr
        or eax, (1 << 8) | (1 << 0)
        wrmsr
        mov eax, cr0
        or eax, (1 << 31) | (1 << 16) | 1           ; PG, WP (ring 0 honours read-only), PE
        and eax, ~(1 << 2)              ; EM off: SSE allowed
        mov cr0, eax
        lgdt [gdt_ptr32]
        jmp GDT_KCODE:long_mode_entry

.no_long_mode:
        ; No 64-bit CPU: say so on COM1 with plain port writes and exit through debug-exit.
        mov esi, msg_no_lm
.nl_loop:
        lodsb
        test al, al
        jz .nl_done
        mov dx, COM1
        out dx, al
        jmp .nl_loop
.nl_done:
        mov al, EXIT_FAIL
        out DEBUG_EXIT_PORT, al
.hang32:
        hlt
        jmp .hang32

; ---------------------------------------------------------------------------------------
; The command line (long mode, after cpu_init).
; ---------------------------------------------------------------------------------------
bits 64
; parse_cmdline: "mbtimeout=MS" on the multiboot command line sets the READY wait; "modules"
; runs the boot modules (pxos boot --module) instead of the self-tests; "guestprobe=1|2" makes
; the ring-3 guest runtime touch an I/O port / kernel memory (the containment tests);
; "syscallpf" turns on issue 13's SYSCALL completion on any host (so that TCG tests it too);
; "tsc_khz=N" gives the TSC rate (tsc.asm: no PIT calibration), N in TSC_KHZ_MIN..MAX.
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
        mov r8, 'guestpro'
.find:
        cmp byte [rsi], 0
        je .out
        cmp dword [rsi], 'modu'         ; "modules"
        jne .not_modules
        cmp word [rsi + 4], 'le'
        jne .not_modules
        cmp byte [rsi + 6], 's'
        jne .not_modules
        mov byte [module_mode], 1
.not_modules:
        cmp dword [rsi], 'sysc'         ; "syscallpf"
        jne .not_syscallpf
        cmp dword [rsi + 4], 'allp'
        jne .not_syscallpf
        cmp byte [rsi + 8], 'f'
        jne .not_syscallpf
        mov byte [syscall_pf_forced], 1
.not_syscallpf:
        cmp [rsi], r8                   ; "guestprobe=D"
        jne .not_probe
        cmp word [rsi + 8], 'be'
        jne .not_probe
        cmp byte [rsi + 10], '='
        jne .not_probe
        movzx ecx, byte [rsi + 11]
        sub ecx, '0'
        cmp ecx, 2
        ja .not_probe
        mov [guest_probe], cl
.not_probe:
        cmp [rsi], rdx                  ; "panictest": a ring-0 #UD to show the panic path
        jne .not_panic
        cmp byte [rsi + 8], 't'
        jne .not_panic
        mov byte [panic_test], 1
.not_panic:
        mov rcx, 'tsc_khz='
        cmp [rsi], rcx
        jne .not_tsc
        add rsi, 8
        call parse_tsc_khz
        jmp .find
.not_tsc:
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

; parse_tsc_khz: rsi = the digits after "tsc_khz=" → cmdline_tsc_khz, or cmdline_tsc_bad when
; they are not a decimal number ending at a space or the end, or fall outside the range. rsi
; ends past what was read; rax, rcx kept.
parse_tsc_khz:
        push rax
        push rcx
        push rdx
        xor eax, eax
        xor edx, edx                    ; digits read
.d:
        movzx ecx, byte [rsi]
        test ecx, ecx
        jz .end
        cmp ecx, ' '
        je .end
        sub ecx, '0'
        cmp ecx, 9
        ja .bad
        inc edx
        cmp edx, 9                      ; more digits than TSC_KHZ_MAX has: out of range
        ja .bad
        imul rax, rax, 10
        add rax, rcx
        inc rsi
        jmp .d
.end:
        test edx, edx
        jz .bad
        cmp rax, TSC_KHZ_MIN
        jb .bad
        cmp rax, TSC_KHZ_MAX
        ja .bad
        mov [cmdline_tsc_khz], rax
        mov byte [cmdline_tsc_bad], 0
        jmp .out
.bad:
        mov qword [cmdline_tsc_khz], 0
        mov byte [cmdline_tsc_bad], 1
.skip:                                  ; past the rest of the word
        cmp byte [rsi], 0
        je .out
        cmp byte [rsi], ' '
        je .out
        inc rsi
        jmp .skip
.out:
        pop rdx
        pop rcx
        pop rax
        ret

section .data
panic_test: db 0
module_mode: db 0
guest_probe: db 0

section .rodata
msg_no_lm: db "pxos: this CPU has no long mode", 13, 10, 0

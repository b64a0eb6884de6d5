; boot.asm: multiboot 1 + 2 headers, the 32-bit entry, identity page tables and the switch
; to long mode. QEMU's -kernel loads multiboot 1 (32-bit ELF); GRUB's ISO uses multiboot 2.

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
align 4096
pml4:    resb 4096
pdpt:    resb 4096
pd_low:  resb 4096 * 4
pt_pool: resb 4096 * PT_POOL_PAGES      ; page-table pages for mappings above 4 GiB
kstack:  resb KSTACK_BYTES              ; boot / kernel stack
kstack_top:
istack:  resb KSTACK_BYTES              ; TSS.RSP0: ring 3 → ring 0 interrupts and syscalls
istack_top:
dfstack: resb 4096                      ; IST1: double fault
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
        shl eax, 12
        add eax, pd_low
        or eax, PTE_P | PTE_RW | PTE_US
        mov [pdpt + ecx * 8], eax
        inc ecx
        cmp ecx, 4
        jb .pdpt_loop

        ; 2048 leaves of 2 MiB: physical = index << 21.
        xor ecx, ecx
.pd_loop:
        mov eax, ecx
        shl eax, 21
        or eax, PTE_P | PTE_RW | PTE_PS
        cmp ecx, USER_PAGE_INDEX
        jne .not_user
        or eax, PTE_US
.not_user:
        mov [pd_low + ecx * 8], eax
        mov edx, ecx
        shr edx, 11                     ; bits 32+ of the address: 0 below 4 GiB
        mov [pd_low + ecx * 8 + 4], edx
        inc ecx
        cmp ecx, 2048
        jb .pd_loop

        mov eax, cr4
        or eax, (1 << 5) | (1 << 9) | (1 << 10)     ; PAE, OSFXSR, OSXMMEXCPT
        mov cr4, eax
        mov eax, pml4
        mov cr3, eax
        mov ecx, 0xC0000080             ; EFER: LME (long mode) + SCE (SYSCALL/SYSRET)
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

section .rodata
msg_no_lm: db "pxos: this CPU has no long mode", 13, 10, 0

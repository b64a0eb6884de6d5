; pci.asm: ACPI (RSDP → RSDT/XSDT → MCFG) for the ECAM base, PCI config access through ECAM
; or the legacy 0xCF8/0xCFC ports, a bus walk that follows bridges, BAR sizing/assignment,
; map_mmio (uncached identity mappings, built on demand above 4 GiB), the ECAM/legacy
; cross-check and the mailbox device's BAR2 (assigned when no firmware did, then mapped).
;
;   ECAM address = base + (bus - start) << 20 | dev << 15 | fn << 12 | offset
;   0xCF8 value  = 0x80000000 | bus << 16 | dev << 11 | fn << 8 | offset & 0xFC
;   a "bdf" here = bus << 8 | dev << 3 | fn

section .data
acpi_facp:      dq 0                    ; FADT, for the DSDT when there is no MCFG
ecam_base:      dq 0                    ; 0: no MCFG, use the legacy ports
ecam_start_bus: db 0
ecam_end_bus:   db 0
pci_use_ecam:   db 0                    ; the mode pci_read32 uses now
pci_count:      dq 0
pci_overflow:   db 0
display_bdf:    dd -1
mailbox_bdf:    dd -1
mailbox_phys:   dq 0                    ; BAR2 of ivshmem: the shared file
mailbox_size:   dq 0

section .bss
; Device table, 16 bytes an entry:
;   +0 bdf (u16) +2 vendor (u16) +4 device (u16) +6 class +7 subclass +8 prog-if +9 header
pci_table: resb 16 * MAX_PCI_DEVICES

section .text
bits 64

; acpi_find_mcfg: sets ecam_base/start/end when the firmware published an MCFG table.
acpi_find_mcfg:
        push rbx
        push rcx
        push rsi
        push rdi
        ; RSDP: first KiB of the EBDA, then 0xE0000-0xFFFFF, on 16-byte boundaries.
        movzx esi, word [BDA_EBDA_SEG]
        shl esi, 4
        lea edi, [esi + 1024]
        call .scan
        jnc .found_rsdp
        mov esi, BIOS_ROM_BASE
        mov edi, BIOS_ROM_END
        call .scan
        jnc .found_rsdp
        PRINT "acpi: no RSDP found", 10
        jmp .out
.found_rsdp:
        cmp byte [rsi + 15], 2          ; revision ≥ 2: XSDT (64-bit entries)
        jb .rsdt
        mov rbx, [rsi + 24]
        test rbx, rbx
        jz .rsdt
        mov ecx, 8
        jmp .walk
.rsdt:
        mov ebx, [rsi + 16]
        mov ecx, 4
.walk:
        ; rbx = root table, rcx = entry size. Entries from +36 to +length.
        mov edi, [rbx + 4]
        add rdi, rbx                    ; end
        lea rsi, [rbx + 36]
.entry:
        cmp rsi, rdi
        jae .no_mcfg
        mov eax, [rsi]
        cmp ecx, 8
        jne .e32
        mov rax, [rsi]
.e32:
        cmp dword [rax], 'MCFG'
        je .mcfg
        cmp dword [rax], 'FACP'
        jne .not_facp
        mov [acpi_facp], rax
.not_facp:
        add rsi, rcx
        jmp .entry
.mcfg:
        ; first allocation (segment 0): base q, segment w, start bus b, end bus b at +44.
        mov rbx, [rax + 44]
        mov [ecam_base], rbx
        mov bl, [rax + 44 + 10]
        mov [ecam_start_bus], bl
        mov bl, [rax + 44 + 11]
        mov [ecam_end_bus], bl
        PRINT "acpi: MCFG ECAM at 0x"
        mov rax, [ecam_base]
        call print_hex64
        PRINT " buses "
.print_buses:
        movzx eax, byte [ecam_start_bus]
        call print_dec
        PRINT "-"
        movzx eax, byte [ecam_end_bus]
        call print_dec
        call print_nl
        ; Map the ECAM window for the buses it covers: 1 MiB a bus.
        mov rdi, [ecam_base]
        movzx esi, byte [ecam_end_bus]
        movzx eax, byte [ecam_start_bus]
        sub esi, eax
        inc esi
        shl rsi, 20
        call map_mmio
        jmp .out
.no_mcfg:
        ; No MCFG (microvm in QEMU 7.2 publishes none): the DSDT's PCIe host may still say
        ; where ECAM is through _CBA. Parsed forms: Method(_CBA){Return(int)}, Name(_CBA,int).
        call acpi_find_cba
        test rax, rax
        jz .no_ecam
        mov [ecam_base], rax
        mov byte [ecam_start_bus], 0
        mov byte [ecam_end_bus], 255    ; _CBA carries no bus range: the full 256 MiB
        PRINT "acpi: no MCFG; DSDT _CBA gives ECAM at 0x"
        call print_hex64
        PRINT " buses "
        jmp .print_buses
.no_ecam:
        PRINT "acpi: no MCFG table and no _CBA (legacy 0xCF8 config only)", 10
.out:
        pop rdi
        pop rsi
        pop rcx
        pop rbx
        ret

; .scan: rsi..rdi for "RSD PTR " with a valid 20-byte checksum. CF clear and rsi = RSDP.
.scan:
        mov rax, 'RSD PTR '
.scan_loop:
        cmp rsi, rdi
        jae .scan_fail
        cmp [rsi], rax
        jne .scan_next
        push rcx
        xor ecx, ecx
        xor edx, edx
.sum:
        add dl, [rsi + rcx]
        inc ecx
        cmp ecx, 20
        jb .sum
        pop rcx
        test dl, dl
        jz .scan_ok
.scan_next:
        add rsi, 16
        jmp .scan_loop
.scan_fail:
        stc
        ret
.scan_ok:
        clc
        ret

; acpi_find_cba: rax = the ECAM base that the DSDT's _CBA returns, or 0.
acpi_find_cba:
        push rsi
        push rdi
        push rcx
        mov rsi, [acpi_facp]
        test rsi, rsi
        jz .none
        mov eax, [rsi + 40]             ; FADT.DSDT (32-bit)
        cmp dword [rsi + 4], 148
        jb .have_dsdt
        mov rcx, [rsi + 140]            ; FADT.X_DSDT (64-bit) when present
        test rcx, rcx
        jz .have_dsdt
        mov rax, rcx
.have_dsdt:
        mov rsi, rax
        test rsi, rsi
        jz .none
        cmp dword [rsi], 'DSDT'
        jne .none
        mov edi, [rsi + 4]
        add rdi, rsi
        sub rdi, 16                     ; room for the longest pattern
        add rsi, 36
.find:
        cmp rsi, rdi
        jae .none
        cmp dword [rsi], '_CBA'
        je .hit
        inc rsi
        jmp .find
.hit:
        cmp byte [rsi - 1], 0x08        ; NameOp _CBA <integer>
        jne .method
        lea rcx, [rsi + 4]
        jmp .integer
.method:
        cmp byte [rsi + 5], 0xA4        ; MethodOp … _CBA <flags> ReturnOp <integer>
        jne .next
        lea rcx, [rsi + 6]
.integer:
        movzx eax, byte [rcx]
        cmp al, 0x0C                    ; DWordPrefix
        jne .q
        mov eax, [rcx + 1]
        jmp .out
.q:
        cmp al, 0x0E                    ; QWordPrefix
        jne .next
        mov rax, [rcx + 1]
        jmp .out
.next:
        inc rsi
        jmp .find
.none:
        xor eax, eax
.out:
        pop rcx
        pop rdi
        pop rsi
        ret

; pci_cfg_addr: edi = bdf, esi = offset → rax = ECAM address (ECAM mode only).
pci_ecam_addr:
        mov eax, edi
        shr eax, 8
        movzx edx, byte [ecam_start_bus]
        sub eax, edx
        shl rax, 20
        mov edx, edi
        and edx, 0xFF
        shl edx, 12                     ; dev << 15 | fn << 12 == (dev << 3 | fn) << 12
        or rax, rdx
        mov edx, esi
        and edx, 0xFFC
        or rax, rdx
        add rax, [ecam_base]
        ret

; pci_read32: edi = bdf, esi = offset → eax. Preserves other registers.
pci_read32:
        push rdx
        cmp byte [pci_use_ecam], 0
        je .legacy
        mov eax, edi
        shr eax, 8
        cmp al, [ecam_end_bus]
        ja .absent
        call pci_ecam_addr
        mov eax, [rax]
        pop rdx
        ret
.absent:
        mov eax, -1
        pop rdx
        ret
.legacy:
        call pci_legacy_addr
        mov dx, PCI_CFG_ADDR
        out dx, eax
        mov dx, PCI_CFG_DATA
        in eax, dx
        pop rdx
        ret

; pci_write32: edi = bdf, esi = offset, eax = value.
pci_write32:
        push rdx
        push rcx
        mov ecx, eax
        cmp byte [pci_use_ecam], 0
        je .legacy
        call pci_ecam_addr
        mov [rax], ecx
        pop rcx
        pop rdx
        ret
.legacy:
        call pci_legacy_addr
        mov dx, PCI_CFG_ADDR
        out dx, eax
        mov eax, ecx
        mov dx, PCI_CFG_DATA
        out dx, eax
        pop rcx
        pop rdx
        ret

pci_legacy_addr:
        mov eax, edi
        shl eax, 8                      ; bus << 16 | dev << 11 | fn << 8
        mov edx, esi
        and edx, 0xFC
        or eax, edx
        or eax, 0x80000000
        ret

; pci_scan: walks every bus reachable from bus 0 (or ECAM's start bus) into pci_table.
; Nothing is printed here, so the timed phase is the configuration-space walk alone.
pci_scan:
        mov qword [pci_count], 0
        mov byte [pci_overflow], 0
        movzx edi, byte [ecam_start_bus]
        cmp byte [pci_use_ecam], 0
        jne .go
        xor edi, edi
.go:
        call pci_scan_bus
        ret

; pci_scan_bus: edi = bus number. Recursive through PCI-PCI bridges (class 06:04).
pci_scan_bus:
        push rbx
        push r12
        push r13
        push r14
        push r15
        mov r12d, edi                   ; bus
        xor r13d, r13d                  ; device
.dev:
        xor r14d, r14d                  ; function
.fn:
        mov edi, r12d
        shl edi, 8
        mov eax, r13d
        shl eax, 3
        or edi, eax
        or edi, r14d                    ; bdf
        xor esi, esi
        call pci_read32
        cmp ax, 0xFFFF
        je .next_fn_or_dev
        mov ebx, eax                    ; device:vendor
        mov rcx, [pci_count]
        cmp rcx, MAX_PCI_DEVICES
        jae .overflow
        mov r15, rcx                    ; this entry's index (survives the recursion)
        shl rcx, 4
        lea rcx, [pci_table + rcx]
        mov [rcx], di
        mov [rcx + 2], ebx              ; vendor, device
        mov esi, 8
        call pci_read32                 ; class << 24 | subclass << 16 | prog-if << 8 | rev
        shr eax, 8
        mov [rcx + 8], al               ; prog-if
        shr eax, 8
        mov [rcx + 7], al               ; subclass
        shr eax, 8
        mov [rcx + 6], al               ; class
        mov esi, 0x0C
        call pci_read32
        shr eax, 16
        mov [rcx + 9], al               ; header type
        inc qword [pci_count]
        ; bridge: walk its secondary bus (header type 1, offset 0x19)
        cmp word [rcx + 6], 0x0406      ; class 06, subclass 04
        jne .not_bridge
        mov esi, 0x18
        call pci_read32
        shr eax, 8
        movzx eax, al
        cmp eax, r12d
        jbe .not_bridge                 ; unassigned (0) or a loop: skip
        push rdi
        mov edi, eax
        call pci_scan_bus
        pop rdi
.not_bridge:
        test r14d, r14d
        jnz .next_fn
        mov rcx, r15
        shl rcx, 4
        test byte [pci_table + rcx + 9], 0x80   ; multi-function device?
        jz .next_dev
.next_fn:
        inc r14d
        cmp r14d, 8
        jb .fn
        jmp .next_dev
.next_fn_or_dev:
        test r14d, r14d                 ; function 0 absent: no device here
        jnz .next_fn
.next_dev:
        inc r13d
        cmp r13d, 32
        jb .dev
        jmp .out
.overflow:
        mov byte [pci_overflow], 1
.out:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        ret

; pci_report: prints the table, finds the display and the mailbox device.
pci_report:
        push rbx
        push rcx
        xor ebx, ebx
.loop:
        cmp rbx, [pci_count]
        jae .done
        mov rcx, rbx
        shl rcx, 4
        lea rcx, [pci_table + rcx]
        PRINT "pci: "
        movzx eax, word [rcx]
        shr eax, 8
        call print_hex8
        PRINT ":"
        movzx eax, word [rcx]
        shr eax, 3
        and eax, 31
        call print_hex8
        PRINT "."
        movzx eax, word [rcx]
        and eax, 7
        call print_hex4
        PRINT " "
        movzx eax, word [rcx + 2]
        call print_hex16
        PRINT ":"
        movzx eax, word [rcx + 4]
        call print_hex16
        PRINT " class "
        movzx eax, byte [rcx + 6]
        call print_hex8
        PRINT ":"
        movzx eax, byte [rcx + 7]
        call print_hex8
        PRINT "."
        movzx eax, byte [rcx + 8]
        call print_hex8
        cmp byte [rcx + 6], 0x03
        jne .not_display
        PRINT "  display controller"
        cmp dword [display_bdf], -1
        jne .not_display
        movzx eax, word [rcx]
        mov [display_bdf], eax
.not_display:
        cmp dword [rcx + 2], IVSHMEM_VENDOR_DEVICE
        jne .not_mailbox
        PRINT "  ivshmem: the mailbox"
        cmp dword [mailbox_bdf], -1
        jne .not_mailbox
        movzx eax, word [rcx]
        mov [mailbox_bdf], eax
.not_mailbox:
        cmp word [rcx + 6], 0x0406
        jne .eol
        PRINT "  PCI bridge"
.eol:
        call print_nl
        inc rbx
        jmp .loop
.done:
        PRINT "pci: "
        mov rax, [pci_count]
        call print_dec
        PRINT " devices", 10
        cmp byte [pci_overflow], 0
        je .ok
        PRINT "pci: device table full (MAX_PCI_DEVICES): later devices not listed", 10
.ok:
        pop rcx
        pop rbx
        ret

; pci_bar64: edi = bdf, esi = BAR offset (a 64-bit memory BAR) → rax = address (0 when the
; firmware left it unassigned), rdx = size. Restores the BAR after sizing; decode is off
; meanwhile so the all-ones probe never claims addresses.
pci_bar64:
        push rbx
        push rcx
        push r8
        push r9
        push r10
        mov r10d, esi
        mov esi, 4
        call pci_read32
        mov r9d, eax                    ; command/status
        and eax, 0xFFFF & ~2            ; memory decode off (status bits written as 0)
        call pci_write32
        mov esi, r10d
        call pci_read32
        mov ebx, eax                    ; low
        add esi, 4
        call pci_read32
        mov r8d, eax                    ; high
        mov eax, -1                     ; size: write all ones, read back, restore
        call pci_write32
        call pci_read32
        mov ecx, eax
        mov eax, r8d
        call pci_write32
        mov esi, r10d
        mov eax, -1
        call pci_write32
        call pci_read32
        and eax, 0xFFFFFFF0
        shl rcx, 32
        or rcx, rax
        mov eax, ebx
        call pci_write32
        neg rcx
        mov rdx, rcx                    ; size = ~mask + 1
        mov rax, r8
        shl rax, 32
        and ebx, 0xFFFFFFF0
        or rax, rbx
        push rax
        mov esi, 4
        mov eax, r9d
        and eax, 0xFFFF
        call pci_write32                ; command back as it was
        pop rax
        pop r10
        pop r9
        pop r8
        pop rcx
        pop rbx
        ret

; pt_alloc: rax = a zeroed page from pt_pool (bss is zero), or panic.
pt_alloc:
        mov eax, [pt_pool_used]
        cmp eax, PT_POOL_PAGES
        jae .out_of_pages
        inc dword [pt_pool_used]
        shl rax, 12
        add rax, pt_pool
        ret
.out_of_pages:
        PRINT "KERNEL PANIC: page-table pool exhausted (PT_POOL_PAGES)", 10
        mov al, EXIT_PANIC
        jmp kernel_exit

; pt_next: rbx = table, rax = index → rbx = next table (created when absent).
pt_next:
        mov rdx, [rbx + rax * 8]
        test dl, PTE_P
        jnz .have
        push rax
        call pt_alloc
        mov rdx, rax
        pop rax
        or rdx, PTE_P | PTE_RW
        mov [rbx + rax * 8], rdx
.have:
        mov rbx, rdx
        and rbx, ~0xFFF
        mov rcx, 0x000FFFFFFFFFF000
        and rbx, rcx
        ret

; map_mmio: rdi = physical address, rsi = size. Identity-maps [rdi, rdi+rsi) with uncached
; 2 MiB pages, supervisor only.
map_mmio:
        push rax
        push rbx
        push rcx
        push rdx
        push r8
        push r9
        mov r8, rdi
        and r8, ~(LARGE_PAGE - 1)
        lea r9, [rdi + rsi]
.page:
        cmp r8, r9
        jae .done
        mov rbx, pml4
        mov rax, r8
        shr rax, 39
        and eax, 511
        call pt_next
        mov rax, r8
        shr rax, 30
        and eax, 511
        call pt_next
        mov rax, r8
        shr rax, 21
        and eax, 511
        mov rdx, r8
        or rdx, PTE_P | PTE_RW | PTE_PS | PTE_PCD | PTE_PWT
        mov [rbx + rax * 8], rdx
        invlpg [r8]
        add r8, LARGE_PAGE
        jmp .page
.done:
        pop r9
        pop r8
        pop rdx
        pop rcx
        pop rbx
        pop rax
        ret

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

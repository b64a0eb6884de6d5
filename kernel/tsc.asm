; tsc.asm: RDTSC timing. The TSC rate comes from the first source that knows it: the command
; line's tsc_khz= (pxos boot passes the host's under TCG, whose guest TSC is the host's), CPUID
; leaf 0x15, the hypervisor leaf 0x40000010; else 5 ms of PIT channel 0 (latched reads, so it
; works where port 0x61 does not, e.g. microvm). Samples give min/p50/max.

section .data
tsc_entry:        dq 0                  ; first instruction (boot.asm, 32-bit)
tsc_long_mode:    dq 0
tsc_gate_ready:   dq 0                  ; cpu_init + parse_cmdline + the SYSCALL probe done
tsc_rate_known:   dq 0                  ; tsc_init done (the PIT calibration, when it runs)
tsc_pci_start:    dq 0
tsc_pci_done:     dq 0
tsc_mailbox_ready: dq 0
tsc_hello:        dq 0
tsc_hz:           dq TSC_FALLBACK_HZ
tsc_per_ms:       dq TSC_FALLBACK_HZ / 1000
tsc_source:       db TSC_SRC_NONE      ; where tsc_hz came from (defs.inc TSC_SRC_*)
cmdline_tsc_khz:  dq 0                  ; tsc_khz= of the command line (0: none or refused)
cmdline_tsc_bad:  db 0                  ; tsc_khz= was given but is not a frequency

section .bss
samples:      resq MAX_SAMPLES
sample_count: resq 1

section .text
bits 64

; rdtsc64: rax = TSC (rdx clobbered).
rdtsc64:
        lfence
        rdtsc
        shl rdx, 32
        or rax, rdx
        ret

; pit_read: ax = PIT channel 0 count (latched).
pit_read:
        mov al, 0x00                    ; latch channel 0
        out 0x43, al
        in al, 0x40
        mov ah, al
        in al, 0x40
        xchg al, ah
        ret

; tsc_init: sets tsc_hz / tsc_per_ms / tsc_source from the first source that knows the rate
; (the PIT calibration costs 5 ms of boot). The PICs are masked here in every case: we poll,
; we take no IRQs.
tsc_init:
        push rbx
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al
        cmp byte [cmdline_tsc_bad], 0
        je .cmdline
        PRINT "cmdline: tsc_khz= is not a frequency in ", TSC_KHZ_MIN_TEXT, "..", TSC_KHZ_MAX_TEXT, " kHz: ignored", 10
.cmdline:
        mov rax, [cmdline_tsc_khz]
        test rax, rax
        jz .leaf15
        imul rax, rax, 1000
        mov bl, TSC_SRC_CMDLINE
        jmp .set
.leaf15:
        ; CPUID 0x15: TSC = crystal (ecx Hz) * ebx / eax, when all three are reported.
        xor eax, eax
        cpuid
        cmp eax, 0x15
        jb .hypervisor
        mov eax, 0x15
        xor ecx, ecx
        cpuid
        test eax, eax
        jz .hypervisor
        test ebx, ebx
        jz .hypervisor
        test ecx, ecx
        jz .hypervisor
        mov r8d, eax
        mov eax, ecx
        mul rbx                         ; rdx:rax = crystal Hz * numerator (fits in rax)
        xor edx, edx
        div r8
        mov bl, TSC_SRC_CPUID15
        jmp .checked
.hypervisor:
        ; A hypervisor's timing leaf (VMware's, also KVM's with vmware-cpuid-freq): eax = TSC kHz.
        mov eax, 1
        cpuid
        bt ecx, 31                      ; "running under a hypervisor"
        jnc .pit
        mov eax, 0x40000000
        cpuid
        cmp eax, 0x40000010
        jb .pit
        cmp eax, 0x400000FF             ; a sane maximum leaf, not garbage
        ja .pit
        mov eax, 0x40000010
        xor ecx, ecx
        cpuid
        test eax, eax
        jz .pit
        imul rax, rax, 1000
        mov bl, TSC_SRC_HYPERVISOR
.checked:
        ; CPUID's figure is believed only in the command line's range.
        cmp rax, TSC_KHZ_MIN * 1000
        jb .pit
        mov rcx, TSC_KHZ_MAX * 1000
        cmp rax, rcx
        ja .pit
.set:
        mov [tsc_hz], rax
        xor edx, edx
        mov rcx, 1000
        div rcx
        mov [tsc_per_ms], rax
        mov [tsc_source], bl
        jmp .out
.pit:
        call tsc_calibrate
.out:
        pop rbx
        ret

; tsc_print: the "tsc:" line naming the source, and its stat lines.
tsc_print:
        PRINT "tsc: "
        mov rax, [tsc_hz]
        xor edx, edx
        mov rcx, 1000000
        div rcx
        call print_dec
        PRINT " MHz"
        movzx eax, byte [tsc_source]
        cmp al, TSC_SRC_PIT
        jne .not_pit
        PRINT " (calibrated against the PIT)"
.not_pit:
        cmp al, TSC_SRC_CPUID15
        jne .not_15
        PRINT " (CPUID leaf 0x15, no calibration)"
.not_15:
        cmp al, TSC_SRC_HYPERVISOR
        jne .not_hv
        PRINT " (hypervisor CPUID leaf 0x40000010, no calibration)"
.not_hv:
        cmp al, TSC_SRC_CMDLINE
        jne .not_cmd
        PRINT " (command line tsc_khz=, no calibration)"
.not_cmd:
        call print_nl
        STAT "tsc_khz"
        mov rax, [tsc_hz]
        xor edx, edx
        mov rcx, 1000
        div rcx
        call print_dec
        call print_nl
        STAT "tsc_source"
        movzx eax, byte [tsc_source]
        call print_dec
        call print_nl
        ret

; tsc_calibrate: tsc_hz against PIT channel 0; tsc_source = TSC_SRC_PIT (or stays NONE).
tsc_calibrate:
        push rbx
        push r12
        push r13
        mov al, 0x34                    ; channel 0, lo/hi, mode 2, binary
        out 0x43, al
        mov al, 0xFF
        out 0x40, al
        out 0x40, al                    ; reload 65535
        call pit_read
        movzx r12d, ax                  ; start count
        call rdtsc64
        mov r13, rax                    ; start TSC
.wait:
        call pit_read
        movzx ebx, ax
        mov eax, r12d
        sub eax, ebx
        and eax, 0xFFFF                 ; elapsed ticks (counts down, wraps once at most)
        cmp eax, PIT_CAL_TICKS
        jae .done
        call rdtsc64
        sub rax, r13
        cmp rax, 20 * TSC_FALLBACK_HZ / 10  ; ~2 s of a slow TSC and no PIT progress: give up
        jb .wait
        PRINT "tsc: the PIT does not count; assuming 1 GHz (figures in ns are nominal)", 10
        jmp .out
.done:
        mov ebx, eax                    ; ticks elapsed
        call rdtsc64
        sub rax, r13                    ; cycles elapsed
        mov rcx, PIT_HZ
        mul rcx
        div rbx                         ; cycles per second
        mov [tsc_hz], rax
        xor edx, edx
        mov rcx, 1000
        div rcx
        mov [tsc_per_ms], rax
        mov byte [tsc_source], TSC_SRC_PIT
.out:
        pop r13
        pop r12
        pop rbx
        ret

; cycles_to_ns: rax = cycles → rax = ns.
cycles_to_ns:
        push rdx
        push rcx
        mov rcx, 1000000000
        mul rcx
        div qword [tsc_hz]
        pop rcx
        pop rdx
        ret

; deadline_ms: rax = milliseconds → rax = TSC value at which the wait expires.
deadline_ms:
        push rdx
        push rcx
        mul qword [tsc_per_ms]
        mov rcx, rax
        call rdtsc64
        add rax, rcx
        pop rcx
        pop rdx
        ret

; sample_add: rax = cycles (dropped when the table is full).
sample_add:
        push rcx
        mov rcx, [sample_count]
        cmp rcx, MAX_SAMPLES
        jae .full
        mov [samples + rcx * 8], rax
        inc qword [sample_count]
.full:
        pop rcx
        ret

; samples_report: rsi = name prefix ("mailbox_rtt"). Sorts, prints min/p50/max in cycles
; and ns as stat lines, then empties the table.
samples_report:
        push rax
        push rbx
        push rcx
        push rdx
        push rdi
        mov rcx, [sample_count]
        test rcx, rcx
        jz .empty
        ; insertion sort (n ≤ 256)
        mov rbx, 1
.outer:
        cmp rbx, rcx
        jae .sorted
        mov rax, [samples + rbx * 8]
        mov rdi, rbx
.inner:
        test rdi, rdi
        jz .place
        mov rdx, [samples + rdi * 8 - 8]
        cmp rdx, rax
        jbe .place
        mov [samples + rdi * 8], rdx
        dec rdi
        jmp .inner
.place:
        mov [samples + rdi * 8], rax
        inc rbx
        jmp .outer
.sorted:
        PRINT "stat "
        call print_str
        PRINT "_n="
        mov rax, rcx
        call print_dec
        call print_nl
%macro REPORT_AT 2                      ; label, index expression in rdx
        mov rax, [samples + rdx * 8]
        PRINT "stat "
        call print_str
        PRINT %1, "_cycles="
        call print_dec
        call print_nl
        PRINT "stat "
        call print_str
        PRINT %1, "_ns="
        call cycles_to_ns
        call print_dec
        call print_nl
%endmacro
        xor edx, edx
        REPORT_AT "_min", rdx
        mov rdx, rcx
        shr rdx, 1
        REPORT_AT "_p50", rdx
        mov rdx, rcx
        dec rdx
        REPORT_AT "_max", rdx
        mov qword [sample_count], 0
.empty:
        pop rdi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        ret

; print_phase: rsi = name, rax = TSC stamp → "stat <name>_ns=<since entry>".
print_phase:
        push rax
        sub rax, [tsc_entry]
        call cycles_to_ns
        PRINT "stat "
        call print_str
        PRINT "_ns="
        call print_dec
        call print_nl
        pop rax
        ret

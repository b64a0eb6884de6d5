; console.asm: COM1 serial (the transcript `pxos boot` reads), number printing, VGA text
; progress markers (row 0 of the 80x25 text screen at 0xB8000, as in the seed).

section .text
bits 64

serial_init:
        mov dx, COM1 + 1
        xor al, al
        out dx, al                      ; no interrupts
        mov dx, COM1 + 3
        mov al, 0x80
        out dx, al                      ; DLAB on
        mov dx, COM1
        mov al, 1
        out dx, al                      ; divisor 1: 115200 baud
        mov dx, COM1 + 1
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03
        out dx, al                      ; 8N1, DLAB off
        mov dx, COM1 + 2
        mov al, 0xC7
        out dx, al                      ; FIFO on, cleared
        ret

; serial_putc: al = byte. Waits for the transmit holding register (bounded spin).
serial_putc:
        push rdx
        push rcx
        push rax
        mov ecx, 100000
        mov dx, COM1 + 5
.wait:
        in al, dx
        test al, 0x20
        jnz .ready
        dec ecx
        jnz .wait
.ready:
        pop rax
        mov dx, COM1
        out dx, al
        pop rcx
        pop rdx
        ret

; print_str: rsi = NUL-terminated string. Preserves every register.
print_str:
        push rsi
        push rax
.loop:
        lodsb
        test al, al
        jz .done
        cmp al, 10
        jne .plain
        mov al, 13
        call serial_putc
        mov al, 10
.plain:
        call serial_putc
        jmp .loop
.done:
        pop rax
        pop rsi
        ret

print_nl:
        push rax
        mov al, 13
        call serial_putc
        mov al, 10
        call serial_putc
        pop rax
        ret

; print_hexN: rax = value, N hex digits. Preserve every register.
print_hex64:
        push rcx
        mov ecx, 16
        jmp print_hex_n
print_hex32:
        push rcx
        mov ecx, 8
        jmp print_hex_n
print_hex16:
        push rcx
        mov ecx, 4
        jmp print_hex_n
print_hex8:
        push rcx
        mov ecx, 2
        jmp print_hex_n
print_hex4:
        push rcx
        mov ecx, 1
print_hex_n:                            ; rcx pushed by the caller stub above
        push rax
        push rbx
        push rdx
        mov rbx, rax
        mov edx, ecx
        shl edx, 2                      ; bits to print
.next:
        sub edx, 4
        mov rax, rbx
        push rcx
        mov ecx, edx
        shr rax, cl
        pop rcx
        and eax, 0xF
        mov al, [hex_digits + rax]
        call serial_putc
        test edx, edx
        jnz .next
        pop rdx
        pop rbx
        pop rax
        pop rcx
        ret

; print_dec: rax = unsigned value. Preserves every register.
print_dec:
        push rax
        push rcx
        push rdx
        push rbx
        push rdi
        sub rsp, 32
        lea rdi, [rsp + 31]
        mov byte [rdi], 0
        mov rbx, 10
.div:
        xor edx, edx
        div rbx
        add dl, '0'
        dec rdi
        mov [rdi], dl
        test rax, rax
        jnz .div
        push rsi
        mov rsi, rdi
        call print_str
        pop rsi
        add rsp, 32
        pop rdi
        pop rbx
        pop rdx
        pop rcx
        pop rax
        ret

; vga_mark: al = character, ah = attribute, ecx = column on row 0.
vga_mark:
        push rdi
        lea rdi, [VGA_TEXT + rcx * 2]
        mov [rdi], ax
        pop rdi
        ret

section .rodata
hex_digits: db "0123456789abcdef"

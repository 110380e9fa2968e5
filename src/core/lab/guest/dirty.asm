; qmig lab guest: a multiboot (v1) kernel that keeps dirtying memory at a set rate.
;
; Built with `nasm -f bin` and booted by QEMU with `-kernel dirty.bin -append "..."`.
; The multiboot header uses the a.out-kludge address fields, so no linker is needed.
;
; Command line (tokens anywhere in the multiboot command line, after QEMU's kernel path):
;   rate=N   MiB per second of pages written after the initial fill (0 = idle). Each
;            "written page" is one dword store into a distinct 4 KiB page, so the rate is
;            the number of pages the migration dirty bitmap sees per second, times 4 KiB.
;   zero=K   K of every 16 pages of the region are never written (0..15): the pages whose
;            index inside the region satisfies (index mod 16) < K. They stay all-zero for
;            the whole life of the guest, so the zero-page share of the region is K/16.
;   size=M   size of the dirtied region in MiB.
;   virtio=V 0: leave PCI devices alone (default). 1: drive the first virtio-net PCI device
;            through the virtio 1.0 (modern) interface up to DRIVER_OK, with VIRTIO_F_VERSION_1
;            as the only feature and queues 0 and 1 set up (empty rings). 2: drive it through
;            the legacy (virtio 0.9.5, I/O port) interface up to DRIVER_OK, no features. A
;            vhost-user back-end starts serving the device once the driver sets DRIVER_OK;
;            libvhost-user back-ends accept only the modern interface.
; Missing tokens fall back to the assemble-time defines DEFAULT_RATE/ZERO/SIZE (-D...).
;
; Guest-physical memory layout (flat protected mode, paging off):
;   0x00100000  this image (header, code, data; a few KiB)
;   0x00200000  top of the stack (grows down)
;   region      [top - 1 MiB - size, top - 1 MiB), page aligned, where top is the end of
;               RAM reported by multiboot (1 MiB + mem_upper KiB). The last MiB is left
;               alone because the firmware keeps its ACPI tables there. The region never
;               starts below 4 MiB. Everything else stays untouched, so it is all-zero
;               RAM that precopy sends as cheap zero pages; placing the region at the top
;               means the first pass sends those zero pages before the written ones.
;
; Behaviour:
;   1. Fill: write every non-zero page of the region once (unpaced), so from then on the
;      region holds exactly (16-K)/16 non-zero pages. The fill is sweep 1.
;   0. With virtio=1 or 2, bring up the virtio-net device and print "qmig-guest: virtio-net
;      modern DRIVER_OK" (or "legacy"), or why not ("qmig-guest: virtio-net ...").
;   2. Print "qmig-guest: ready ..." to the debug console (I/O port 0xe9, QEMU -debugcon).
;   3. Forever: sleep (hlt) until the next 100 Hz PIT tick, then write rate*256/100 pages
;      (fractions carried over), advancing a cursor through the region and skipping the
;      zero pages without spending credit. Each time the cursor wraps it prints
;      "qmig-guest: sweep N". Ticks missed while the VM was stopped are not caught up
;      beyond 10 ticks, so a migration downtime does not produce a burst.
; Any CPU exception prints "qmig-guest: exception" and halts with interrupts off.

bits 32

%ifndef DEFAULT_RATE
%define DEFAULT_RATE 16
%endif
%ifndef DEFAULT_ZERO
%define DEFAULT_ZERO 4
%endif
%ifndef DEFAULT_SIZE
%define DEFAULT_SIZE 64
%endif

LOAD_ADDR   equ 0x00100000
STACK_TOP   equ 0x00200000
REGION_MIN  equ 0x00400000
HZ          equ 100
PIT_DIVISOR equ 11932               ; 1193182 Hz / 100
MAX_CATCHUP equ 10                  ; ticks credited at most per wake-up
DEBUGCON    equ 0xe9

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010002          ; bit 1: memory info wanted, bit 16: address fields valid

org LOAD_ADDR

mb_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd mb_header                    ; header_addr
    dd LOAD_ADDR                    ; load_addr
    dd image_end                    ; load_end_addr
    dd image_end                    ; bss_end_addr (no bss: all data is in the image)
    dd start                        ; entry_addr

start:
    cli
    mov esi, ebx                    ; multiboot info pointer, kept until parsed
    lgdt [gdtr]
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP
    mov [mbi], esi

    call setup_idt
    call setup_pic_pit
    call parse_cmdline
    call init_virtio_net
    call compute_region
    call fill_region
    call print_ready

main_loop:
    ; Interrupts are enabled only across the `sti; hlt` pair below (sti takes effect
    ; after the next instruction, so no tick can arrive between the check and hlt).
    ; Hence an interrupt handler can only ever interrupt that hlt: it drops its frame
    ; and jumps back here instead of returning with iret, which some hypervisors
    ; (e.g. KVM's instruction emulator) cannot emulate in protected mode.
    cli
    mov eax, [ticks]
    mov edx, eax
    sub edx, [seen]
    jnz .work
    sti
    hlt
    jmp main_loop
.work:
    mov [seen], eax
    cmp edx, MAX_CATCHUP
    jbe .credit
    mov edx, MAX_CATCHUP
.credit:
    ; credit is kept in units of 1/HZ page: each tick adds pages-per-second, each
    ; written page costs HZ.
    mov eax, [rate]
    shl eax, 8                      ; MiB/s -> pages/s
    imul eax, edx
    add [credit], eax
.spend:
    cmp dword [credit], HZ
    jb main_loop
    sub dword [credit], HZ
    call write_next_page
    jmp .spend

; Writes the next non-zero page at the cursor and advances it (wrapping at the end).
write_next_page:
    push eax
    push ecx
    push edi
.again:
    mov ecx, [cursor]
    mov eax, ecx
    and eax, 15
    cmp eax, [zero]
    jae .write
    call advance_cursor
    jmp .again
.write:
    mov edi, ecx
    shl edi, 12
    add edi, [region_start]
    mov eax, [sweep]
    inc eax                         ; never 0: the page must become non-zero
    mov [edi], eax
    call advance_cursor
    pop edi
    pop ecx
    pop eax
    ret

advance_cursor:
    push eax
    mov eax, [cursor]
    inc eax
    cmp eax, [region_pages]
    jb .store
    xor eax, eax
    inc dword [sweep]
    push esi
    mov esi, msg_sweep
    call puts
    pop esi
    push eax
    mov eax, [sweep]
    call print_dec
    mov al, 10
    call putc
    pop eax
.store:
    mov [cursor], eax
    pop eax
    ret

; ---------------------------------------------------------------- setup

setup_idt:
    mov edi, idt
    xor ecx, ecx
.loop:
    mov eax, isr_exception
    cmp ecx, 0x20
    jb .set
    mov eax, isr_other_irq
    cmp ecx, 0x20
    jne .set
    mov eax, isr_timer
.set:
    mov [edi], ax                   ; offset 15..0
    mov word [edi + 2], 0x08        ; code selector
    mov byte [edi + 4], 0
    mov byte [edi + 5], 0x8E        ; present, ring 0, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax               ; offset 31..16
    add edi, 8
    inc ecx
    cmp ecx, IDT_ENTRIES
    jb .loop
    lidt [idtr]
    ret

setup_pic_pit:
    ; Remap the PICs to vectors 0x20..0x2F and unmask only IRQ0 (the PIT).
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    ; PIT channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
    mov al, 0x34
    out 0x43, al
    mov ax, PIT_DIVISOR
    out 0x40, al
    mov al, ah
    out 0x40, al
    ret

; ---------------------------------------------------------------- command line

parse_cmdline:
    mov ebx, [mbi]
    test dword [ebx], 1 << 2        ; cmdline present?
    jz .done
    mov esi, [ebx + 16]
    mov [cmdline], esi
    mov edi, key_rate
    mov ecx, rate
    call find_uint
    mov edi, key_zero
    mov ecx, zero
    call find_uint
    mov edi, key_size
    mov ecx, size_mib
    call find_uint
    mov edi, key_virtio
    mov ecx, virtio_mode
    call find_uint
.done:
    cmp dword [zero], 15
    jbe .ok
    mov dword [zero], 15
.ok:
    ret

; Looks for the NUL-terminated key at edi (e.g. "rate=") at the start of a token of the
; command line; when found, parses the decimal number after it into [ecx].
find_uint:
    pusha
    mov esi, [cmdline]
    mov bl, ' '                     ; previous character; the line start counts as a space
.scan:
    mov al, [esi]
    test al, al
    jz .out
    cmp bl, ' '
    jne .next
    push esi
    push edi
.cmp:
    mov al, [edi]
    test al, al
    jz .match
    cmp al, [esi]
    jne .nomatch
    inc esi
    inc edi
    jmp .cmp
.match:
    xor eax, eax
.digit:
    movzx edx, byte [esi]
    sub edx, '0'
    cmp edx, 9
    ja .store
    imul eax, eax, 10
    add eax, edx
    inc esi
    jmp .digit
.store:
    mov [ecx], eax
    pop edi
    pop esi
    jmp .out
.nomatch:
    pop edi
    pop esi
.next:
    mov bl, [esi]
    inc esi
    jmp .scan
.out:
    popa
    ret

; ---------------------------------------------------------------- region

compute_region:
    mov ebx, [mbi]
    test dword [ebx], 1             ; mem_lower/mem_upper present?
    jz fatal_nomem
    mov eax, [ebx + 8]              ; mem_upper: KiB above 1 MiB
    shl eax, 10
    add eax, 0x00100000             ; end of RAM
    sub eax, 0x00100000             ; leave the last MiB to the firmware
    and eax, ~0xFFF
    mov [region_end], eax
    mov edx, [size_mib]
    shl edx, 20
    sub eax, edx
    jb .clamp                       ; size larger than RAM
    cmp eax, REGION_MIN
    jae .store
.clamp:
    mov eax, REGION_MIN
.store:
    mov [region_start], eax
    mov edx, [region_end]
    cmp edx, eax
    jbe fatal_nomem
    sub edx, eax
    shr edx, 12
    mov [region_pages], edx
    ret

fill_region:
    mov ecx, [region_pages]
.loop:
    call write_next_page
    cmp dword [sweep], 0
    je .loop
    ret

print_ready:
    mov esi, msg_ready
    call puts
    mov eax, [rate]
    call print_dec
    mov esi, msg_zero
    call puts
    mov eax, [zero]
    call print_dec
    mov esi, msg_pages
    call puts
    mov eax, [region_pages]
    call print_dec
    mov esi, msg_start
    call puts
    mov eax, [region_start]
    shr eax, 20
    call print_dec
    mov esi, msg_end
    call puts
    mov eax, [region_end]
    shr eax, 20
    call print_dec
    mov esi, msg_mib
    call puts
    ret

fatal_nomem:
    mov esi, msg_nomem
    call puts
    jmp halt_forever

; ---------------------------------------------------------------- virtio-net (virtio=1|2)

VIRTIO_VENDOR   equ 0x1AF4
VIRTIO_NET_TRANS equ 0x1000         ; transitional device (legacy and modern interfaces)
VIRTIO_NET_MODERN equ 0x1041        ; modern-only device (disable-legacy=on)
VRING_BASE      equ 0x00300000      ; two queues of VRING_SIZE, 16 KiB apart, below REGION_MIN
VRING_SIZE      equ 64

; Config-space dword of the found device at register eax (0..0xFC) -> eax.
pci_read:
    push edx
    or eax, [pci_dev]
    mov dx, 0xCF8
    out dx, eax
    mov dx, 0xCFC
    in eax, dx
    pop edx
    ret

; Writes ecx to config register eax of the found device.
pci_write:
    push edx
    or eax, [pci_dev]
    mov dx, 0xCF8
    out dx, eax
    mov eax, ecx
    mov dx, 0xCFC
    out dx, eax
    pop edx
    ret

init_virtio_net:
    pusha
    cmp dword [virtio_mode], 0
    je .done
    ; Bus 0, function 0 of each slot: the first virtio-net device.
    xor ebx, ebx
.slot:
    mov eax, ebx
    shl eax, 11
    or eax, 0x80000000
    mov [pci_dev], eax
    xor eax, eax
    call pci_read
    cmp eax, (VIRTIO_NET_MODERN << 16) | VIRTIO_VENDOR
    je .found
    cmp eax, (VIRTIO_NET_TRANS << 16) | VIRTIO_VENDOR
    je .found
    inc ebx
    cmp ebx, 32
    jb .slot
    mov esi, msg_vnet_none
    jmp .say
.found:
    mov eax, 4                      ; command: I/O and memory decoding, bus master
    call pci_read
    and eax, 0xFFFF
    or eax, 7
    mov ecx, eax
    mov eax, 4
    call pci_write
    cmp dword [virtio_mode], 2
    je .legacy

    ; Modern: find the common configuration capability (vendor cap 0x09, cfg_type 1).
    mov eax, 0x34
    call pci_read
    and eax, 0xFC
    mov ebx, eax
.cap:
    test ebx, ebx
    jz .nocap
    mov eax, ebx
    call pci_read
    mov edx, eax
    cmp dl, 0x09
    jne .nextcap
    shr edx, 24
    cmp dl, 1
    je .common
.nextcap:
    mov eax, ebx
    call pci_read
    shr eax, 8
    and eax, 0xFC
    mov ebx, eax
    jmp .cap
.nocap:
    mov esi, msg_vnet_nocap
    jmp .say
.common:
    lea eax, [ebx + 4]
    call pci_read
    and eax, 0xFF                   ; BAR number
    shl eax, 2
    add eax, 0x10
    call pci_read
    test eax, 1
    jnz .nocap                      ; an I/O BAR: not the modern layout
    and eax, ~0xF
    mov edi, eax
    lea eax, [ebx + 8]
    call pci_read
    add edi, eax                    ; common configuration in MMIO (below 4 GiB: SeaBIOS maps it there)
    mov byte [edi + 0x14], 0        ; device_status: reset
.reset:
    cmp byte [edi + 0x14], 0
    jne .reset
    mov byte [edi + 0x14], 1        ; ACKNOWLEDGE
    mov byte [edi + 0x14], 3        ; DRIVER
    mov dword [edi + 0x00], 1       ; device_feature_select: bits 32..63
    test dword [edi + 0x04], 1      ; VIRTIO_F_VERSION_1 (bit 32)
    jz .nov1
    mov dword [edi + 0x08], 0
    mov dword [edi + 0x0C], 0       ; no device-specific feature
    mov dword [edi + 0x08], 1
    mov dword [edi + 0x0C], 1       ; VIRTIO_F_VERSION_1
    mov byte [edi + 0x14], 0x0B     ; FEATURES_OK
    test byte [edi + 0x14], 8
    jz .refused
    xor ecx, ecx
.queue:
    mov [edi + 0x16], cx            ; queue_select
    cmp word [edi + 0x18], VRING_SIZE
    jb .nextq                       ; smaller than ours (0: no such queue)
    mov word [edi + 0x18], VRING_SIZE
    mov eax, ecx
    shl eax, 14
    add eax, VRING_BASE
    mov [edi + 0x20], eax           ; queue_desc
    mov dword [edi + 0x24], 0
    add eax, 0x1000
    mov [edi + 0x28], eax           ; queue_driver (available ring)
    mov dword [edi + 0x2C], 0
    add eax, 0x1000
    mov [edi + 0x30], eax           ; queue_device (used ring)
    mov dword [edi + 0x34], 0
    mov word [edi + 0x1C], 1        ; queue_enable
.nextq:
    inc ecx
    cmp ecx, 2
    jb .queue
    mov byte [edi + 0x14], 0x0F     ; DRIVER_OK
    mov esi, msg_vnet_modern
    jmp .say
.nov1:
    mov esi, msg_vnet_nov1
    jmp .say
.refused:
    mov esi, msg_vnet_refused
    jmp .say

.legacy:
    mov eax, 0x10                   ; BAR0: the legacy I/O ports
    call pci_read
    test eax, 1
    jz .nolegacy
    and eax, ~3
    mov edx, eax
    add edx, 0x12                   ; device status
    mov al, 0
    out dx, al
    mov al, 1
    out dx, al
    mov al, 3
    out dx, al
    sub edx, 0x12 - 0x04            ; guest features: none
    xor eax, eax
    out dx, eax
    add edx, 0x12 - 0x04
    mov al, 7                       ; ACKNOWLEDGE | DRIVER | DRIVER_OK
    out dx, al
    mov esi, msg_vnet_legacy
    jmp .say
.nolegacy:
    mov esi, msg_vnet_nolegacy
.say:
    call puts
.done:
    popa
    ret

; ---------------------------------------------------------------- interrupts

isr_timer:
    add esp, 12                     ; drop EIP/CS/EFLAGS: never return to the hlt
    inc dword [ticks]
    mov al, 0x20
    out 0x20, al
    jmp main_loop                   ; IF is clear (interrupt gate)

isr_other_irq:
    add esp, 12
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    jmp main_loop

isr_exception:
    mov esi, msg_exception
    call puts
halt_forever:
    cli
    hlt
    jmp halt_forever

; ---------------------------------------------------------------- debug console

putc:
    out DEBUGCON, al
    ret

puts:
    push eax
.loop:
    lodsb
    test al, al
    jz .done
    out DEBUGCON, al
    jmp .loop
.done:
    pop eax
    ret

; Prints eax in decimal.
print_dec:
    pusha
    mov ecx, 10
    xor ebx, ebx                    ; digit count
.div:
    xor edx, edx
    div ecx
    push edx
    inc ebx
    test eax, eax
    jnz .div
.emit:
    pop eax
    add al, '0'
    out DEBUGCON, al
    dec ebx
    jnz .emit
    popa
    ret

; ---------------------------------------------------------------- data

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: flat 4 GiB code, ring 0
    dq 0x00CF92000000FFFF           ; 0x10: flat 4 GiB data, ring 0
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt

IDT_ENTRIES equ 0x30
idtr:
    dw IDT_ENTRIES * 8 - 1
    dd idt

mbi:          dd 0
cmdline:      dd 0
rate:         dd DEFAULT_RATE
zero:         dd DEFAULT_ZERO
size_mib:     dd DEFAULT_SIZE
region_start: dd 0
region_end:   dd 0
region_pages: dd 0
cursor:       dd 0
sweep:        dd 0
credit:       dd 0
ticks:        dd 0
seen:         dd 0
virtio_mode:  dd 0
pci_dev:      dd 0

key_rate:      db "rate=", 0
key_zero:      db "zero=", 0
key_size:      db "size=", 0
key_virtio:    db "virtio=", 0
msg_ready:     db "qmig-guest: ready rate=", 0
msg_zero:      db " zero=", 0
msg_pages:     db "/16 pages=", 0
msg_start:     db " region=", 0
msg_end:       db "MiB-", 0
msg_mib:       db "MiB", 10, 0
msg_sweep:     db "qmig-guest: sweep ", 0
msg_exception: db "qmig-guest: exception", 10, 0
msg_nomem:     db "qmig-guest: no usable memory information", 10, 0
msg_vnet_modern:   db "qmig-guest: virtio-net modern DRIVER_OK", 10, 0
msg_vnet_legacy:   db "qmig-guest: virtio-net legacy DRIVER_OK", 10, 0
msg_vnet_none:     db "qmig-guest: virtio-net not found", 10, 0
msg_vnet_nocap:    db "qmig-guest: virtio-net has no modern interface", 10, 0
msg_vnet_nolegacy: db "qmig-guest: virtio-net has no legacy interface", 10, 0
msg_vnet_nov1:     db "qmig-guest: virtio-net does not offer VIRTIO_F_VERSION_1", 10, 0
msg_vnet_refused:  db "qmig-guest: virtio-net refused FEATURES_OK", 10, 0

align 8
idt:
    times IDT_ENTRIES * 8 db 0
image_end:

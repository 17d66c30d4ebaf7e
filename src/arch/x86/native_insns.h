/* SPDX-License-Identifier: MIT */
// The machine code of the native instructions a patched call site may hold instead of a call
// (core/patch.h, backends/native/native_patch.cc): the arch layer owns every privileged
// instruction, also those the library writes rather than runs. Encodings from the SDM; each
// keeps to the registers its site allows (callee-saved sites: %rax and the flags only).
#pragma once

#include <stdint.h>

namespace pvops::arch {

struct InsnBytes {
  uint8_t length;
  uint8_t bytes[11];
};

inline constexpr InsnBytes kPushfPopRax = {2, {0x9c, 0x58}};      // pushf; pop %rax
inline constexpr InsnBytes kPushRdiPopf = {2, {0x57, 0x9d}};      // push %rdi; popf
inline constexpr InsnBytes kCli = {1, {0xfa}};                    // cli
inline constexpr InsnBytes kSti = {1, {0xfb}};                    // sti
inline constexpr InsnBytes kHlt = {1, {0xf4}};                    // hlt
inline constexpr InsnBytes kStiHlt = {2, {0xfb, 0xf4}};           // sti; hlt (hlt in sti's shadow)
inline constexpr InsnBytes kReadCr3 = {3, {0x0f, 0x20, 0xd8}};    // mov %cr3, %rax
inline constexpr InsnBytes kWriteCr3 = {3, {0x0f, 0x22, 0xdf}};   // mov %rdi, %cr3
inline constexpr InsnBytes kInvlpgRdi = {3, {0x0f, 0x01, 0x3f}};  // invlpg (%rdi)
// mov %cr3, %rax; mov %rax, %cr3
inline constexpr InsnBytes kReloadCr3 = {6, {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8}};
// xor %eax, %eax; xor %edx, %edx; mov $0x80b, %ecx; wrmsr (the x2APIC EOI MSR)
inline constexpr InsnBytes kX2apicEoi = {
    11, {0x31, 0xc0, 0x31, 0xd2, 0xb9, 0x0b, 0x08, 0x00, 0x00, 0x0f, 0x30}};
// xor %eax, %eax; movabs %eax, ADDRESS: one store of 0, the address in bytes 3..10.
inline constexpr InsnBytes kStoreZeroAbsolute = {11, {0x31, 0xc0, 0xa3}};
inline constexpr uint32_t kStoreZeroAddressAt = 3;

}  // namespace pvops::arch

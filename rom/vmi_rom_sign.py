#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the linked VMI ROM into an option ROM image, or into one of its corrupted variants.

  vmi_rom_sign.py RAW OUT [--corrupt=checksum|offset|length]

Pads RAW to whole 512-byte blocks (keeping a last byte for the checksum), writes the length into
the ROM header and the PCI data structure, fixes the PnP header's checksum, then sets the last
byte so that every byte of the image sums to 0 (mod 256), as BIOSes and the VMI backend check.

The corrupted variants start from that good image and break one rule each, the way the guest's
validator must catch (rom/README.md, "Bad ROMs"):
  checksum  the image no longer sums to 0;
  offset    the PCI header offset points past the end of the ROM;
  length    the length byte claims 255 blocks, past the 0xE0000 end of the window wherever the
            BIOS places the ROM (the image keeps its size; its bytes still sum to 0, so a BIOS
            that reads the zeroed memory behind it accepts it).
"""
import argparse
import struct
import sys

BLOCK = 512
OFFSET_LENGTH = 2
OFFSET_VROM_SIGNATURE = 8
OFFSET_PCI_HEADER = 24
OFFSET_PNP_HEADER = 26
VROM_SIGNATURE = b"cVmi"
PCI_SIGNATURE = b"PCIR"
PCI_OFFSET_IMAGE_LENGTH = 16
PNP_SIGNATURE = b"$PnP"
PNP_OFFSET_LENGTH = 5
PNP_OFFSET_CHECKSUM = 9
MAX_BLOCKS = 255


def fail(message):
    sys.exit(f"vmi_rom_sign: {message}")


def u16(image, offset):
    return struct.unpack_from("<H", image, offset)[0]


def byte_sum(data):
    return sum(data) & 0xFF


def sign(raw):
    if raw[0:2] != b"\x55\xaa" or raw[OFFSET_VROM_SIGNATURE:OFFSET_VROM_SIGNATURE + 4] != VROM_SIGNATURE:
        fail("input does not start with an option ROM header carrying 'cVmi'")
    blocks = (len(raw) + 1 + BLOCK - 1) // BLOCK  # +1: room for the checksum byte
    if blocks > MAX_BLOCKS:
        fail(f"{len(raw)} bytes do not fit the length byte ({MAX_BLOCKS} blocks)")
    image = bytearray(raw) + bytes(blocks * BLOCK - len(raw))
    image[OFFSET_LENGTH] = blocks

    pci = u16(image, OFFSET_PCI_HEADER)
    if image[pci:pci + 4] != PCI_SIGNATURE:
        fail(f"no PCI data structure at 0x{pci:x}")
    struct.pack_into("<H", image, pci + PCI_OFFSET_IMAGE_LENGTH, blocks)

    pnp = u16(image, OFFSET_PNP_HEADER)
    if image[pnp:pnp + 4] != PNP_SIGNATURE:
        fail(f"no PnP header at 0x{pnp:x}")
    pnp_end = pnp + image[pnp + PNP_OFFSET_LENGTH] * 16
    image[pnp + PNP_OFFSET_CHECKSUM] = 0
    image[pnp + PNP_OFFSET_CHECKSUM] = (-byte_sum(image[pnp:pnp_end])) & 0xFF

    image[-1] = 0
    image[-1] = (-byte_sum(image)) & 0xFF
    return image


def corrupt(image, how):
    bad = bytearray(image)
    if how == "checksum":
        bad[-1] = (bad[-1] + 1) & 0xFF
    elif how == "offset":
        struct.pack_into("<H", bad, OFFSET_PCI_HEADER, len(bad) + 0x100)
        bad[-1] = 0
        bad[-1] = (-byte_sum(bad)) & 0xFF  # only the offset is wrong, not the checksum
    elif how == "length":
        bad[OFFSET_LENGTH] = MAX_BLOCKS
        bad[-1] = 0
        bad[-1] = (-byte_sum(bad)) & 0xFF
    else:
        fail(f"unknown corruption '{how}'")
    return bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw")
    parser.add_argument("out")
    parser.add_argument("--corrupt", choices=["checksum", "offset", "length"])
    args = parser.parse_args()
    with open(args.raw, "rb") as f:
        image = sign(f.read())
    if args.corrupt:
        image = corrupt(image, args.corrupt)
    with open(args.out, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main()

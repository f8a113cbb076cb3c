#!/usr/bin/env python3
"""Instructions and stores per message, from a callgrind profile.

A sender's stores queue behind its stores into the ring's lines: on cores
far apart each of those waits for a line from the reader's core, so how
many stores a message costs says how soon the store queue fills. No
hardware counter is needed: callgrind counts each executed instruction
(`--dump-instr=yes`), and objdump says which ones write memory (a memory
destination operand, a push or a call).

    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=cg.out \\
        target/release/capi-perf/remote_thr_zeroring ipc:///tmp/x 32 100000
    capi/perf/stores.py cg.out 100000 [target/release/libzmq.so]

Prints, per object of this workspace, instructions and stores per message
(the count of messages is the second argument); with an object, also each
store instruction of it run at least once every two messages, with its
source line.
"""
import collections
import re
import subprocess
import sys


def costs(path):
    """Ir per (object, address) from a callgrind file with instr positions."""
    cost = collections.Counter()
    names, ob, last, skip = {}, None, 0, False

    def pos(tok, prev):
        if tok == "*":
            return prev
        if tok[0] in "+-":
            return prev + int(tok, 0)
        return int(tok, 0)

    for line in open(path):
        line = line.rstrip("\n")
        m = re.match(r"(c?)ob=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if not m.group(1):
                ob = names.get(m.group(2), m.group(2))
            continue
        if line.startswith("calls="):
            skip = True  # the next line is the call's inclusive cost
            continue
        if line[:1] and line[0] in "0123456789+-*":
            parts = line.split()
            last = pos(parts[0], last)
            if skip:
                skip = False
            elif len(parts) >= 3:
                cost[(ob, last)] += int(parts[2])
    return cost


def disassemble(obj):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj],
                         capture_output=True, text=True, check=True).stdout
    ins = {}
    for line in out.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m:
            ins[int(m.group(1), 16)] = (m.group(2), m.group(3).split("#")[0].strip())
    return ins


def is_store(mnemonic, operands):
    if mnemonic.startswith(("push", "call")):
        return True
    if mnemonic.startswith(("cmp", "test", "lea", "nop", "prefetch", "j")):
        return False
    if "," not in operands:  # one operand: a read-modify-write of memory
        return "(" in operands and mnemonic.startswith(("inc", "dec", "neg", "not", "set"))
    return "(" in operands.rsplit(",", 1)[1]


def main():
    path, messages = sys.argv[1], int(sys.argv[2])
    cost = costs(path)
    workspace = sorted({o for o, _ in cost if o and "/target/" in o})
    for obj in workspace:
        ins = disassemble(obj)
        total = stores = 0
        for (o, addr), n in cost.items():
            if o == obj:
                total += n
                if is_store(*ins.get(addr, ("?", ""))):
                    stores += n
        print(f"{obj}: {total / messages:.1f} instructions, "
              f"{stores / messages:.1f} stores per message")
    if len(sys.argv) > 3:
        obj = sys.argv[3]
        ins = disassemble(obj)
        for (o, addr), n in sorted(cost.items(), key=lambda kv: kv[0][1]):
            if o != obj or n < messages / 2 or not is_store(*ins.get(addr, ("?", ""))):
                continue
            src = subprocess.run(["addr2line", "-e", obj, hex(addr)],
                                 capture_output=True, text=True).stdout.strip()
            mnemonic, operands = ins[addr]
            print(f"{n / messages:5.1f} {addr:x} {mnemonic} {operands[:40]:40} {src}")


if __name__ == "__main__":
    main()

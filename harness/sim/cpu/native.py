"""Native MMIO dispatch: the accesses a model has declared repeatable never reach Python.

A Python callback costs about a microsecond per access however little it does (Unicorn's
ctypes trampoline alone), and a HAL loop writing a data register byte by byte makes two such
accesses per byte (status read, data write): that caps a real loader near 0.1 MiB/s. The C
dispatcher below sits between Unicorn and the Python callbacks. It answers, without calling
Python:
- reads of registers the model published as stable (`FastPath.reads`), with the core's
  polling-loop detector run in C on the same shared state the Python path uses, except for the
  read that completes a polling loop, which Python handles so the slice stops exactly as before;
- writes to a data register the model published as a sink (`FastPath.sink`): the bytes are
  queued and handed to the model in one `absorb()` call before Python next runs;
- writes to registers the model published as latches (`FastPath.latches`, plain stores in its
  current state) or as write-one-to-clear (`FastPath.clears`): they are queued, the published
  read of that register (or the flags they clear) follows them, and they are made, in order,
  through the model's `write()` before Python next runs;
- reads of a data register the model published as a source (`FastPath.source`): the next
  bytes of the stream it gave, the count served reported through `drawn()`;
- writes to registers the model published as steady (`FastPath.steady`) that leave the
  register's published read as it is: such a write does nothing, so it is dropped.
Everything else goes to the Python callback unchanged, so behaviour and cycle counts are the
same with or without it; `STM32_HIL_NATIVE=0` turns it off.

The C source is compiled on first use with the system C compiler into a per-user cache
(`STM32_HIL_CACHE`, default `~/.cache/stm32_hil`); without a compiler the core runs the Python
path only.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stm32_hil.sim.bus import SOURCE_BYTES  # data-register bytes served before Python runs

READS = 16  # stable registers one model may publish at once
LATCHES = 16  # registers whose writes one model may let the core queue
STEADY = 4  # registers whose unchanging writes one model may let the core drop
QUEUE = 64  # queued register writes at most before Python sees them
SINK_BYTES = 4096  # queued data-register bytes at most before Python sees them
COUNT_CACHE = 4096  # translated blocks whose instruction counts one slice remembers
EXECUTED_PAGES_BYTES = (1 << 32) >> 10 >> 3  # one bit per 1 KiB page of the address space

C_SOURCE = (
    r"""
#include <stdint.h>

typedef uint64_t (*read_fn)(void *, uint64_t, unsigned, void *);
typedef void (*write_fn)(void *, uint64_t, unsigned, uint64_t, void *);

#define READS @READS@
#define SINK_BYTES @SINK_BYTES@
#define LATCHES @LATCHES@
#define SOURCE_BYTES @SOURCE_BYTES@
#define QUEUE @QUEUE@
#define STEADY @STEADY@

typedef struct {
    read_fn py_read;
    write_fn py_write;
    uint64_t poll_addr;
    uint64_t poll_value;
    uint32_t poll_valid;
    uint32_t poll_count;
    uint32_t poll_repeats;
    uint32_t enabled;
    uint32_t nreads;
    uint32_t sink_sizes;
    uint32_t sink_cap;
    uint32_t sink_len;
    uint64_t sink_addr;
    uint64_t read_addr[READS];
    uint64_t read_value[READS];
    uint64_t fast_reads;
    uint64_t fast_writes;
    uint64_t slow_reads;
    uint64_t slow_writes;
    uint32_t nlatches;
    uint32_t qlen;
    uint32_t timeless;
    uint32_t src_sizes;
    uint64_t src_addr;
    uint32_t src_len;
    uint32_t src_pos;
    uint64_t latch_addr[LATCHES];
    uint64_t latch_clears[LATCHES]; /* 0: a plain latch; else the flags word it clears */
    uint32_t latch_mask[LATCHES];   /* the bits of that word a write may clear */
    uint32_t latch_trigger[LATCHES]; /* clearing one of these bits... */
    uint32_t latch_raise[LATCHES];   /* ...sets these */
    uint32_t nsteady;
    uint64_t steady_addr[STEADY];    /* writes leaving the published read unchanged: no-ops */
    uint64_t q_addr[QUEUE];
    uint32_t q_size[QUEUE];
    uint32_t q_value[QUEUE];
    uint8_t sink[SINK_BYTES];
    uint8_t src[SOURCE_BYTES];
} shared_t;

typedef struct {
    shared_t *sh;
    uint64_t base;
} region_t;

uint64_t hil_mmio_read(void *uc, uint64_t offset, unsigned size, void *user) {
    region_t *r = (region_t *)user;
    shared_t *s = r->sh;
    uint64_t addr = r->base + offset;
    if (s->enabled && (addr & ~(uint64_t)3) == s->src_addr && (s->src_sizes & size)
        && s->src_pos + size <= s->src_len) {
        /* the next bytes of a data register's stream (FastPath.source) */
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)s->src[s->src_pos + i] << (8 * i);
        s->src_pos += size;
        s->poll_valid = 0; /* the stream moves on: not a polling loop */
        s->fast_reads++;
        return v;
    }
    if (s->enabled && (addr & 3) + size <= 4) {
        uint64_t word = addr & ~(uint64_t)3;
        for (uint32_t i = 0; i < s->nreads; i++) {
            if (s->read_addr[i] != word)
                continue;
            uint64_t mask = size >= 4 ? 0xFFFFFFFFull : ((1ull << (8 * size)) - 1);
            uint64_t v = (s->read_value[i] >> (8 * (addr & 3))) & mask;
            if (s->timeless) {
                s->poll_valid = 0; /* nothing to wait for: not a polling loop */
            } else if (s->poll_valid && s->poll_addr == addr && s->poll_value == v) {
                if (s->poll_count + 1 >= s->poll_repeats)
                    break; /* the read that completes a polling loop is Python's */
                s->poll_count++;
            } else {
                s->poll_valid = 1;
                s->poll_addr = addr;
                s->poll_value = v;
                s->poll_count = 0;
            }
            s->fast_reads++;
            return v;
        }
    }
    s->slow_reads++;
    return s->py_read(uc, addr, size, 0);
}

void hil_mmio_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user) {
    region_t *r = (region_t *)user;
    shared_t *s = r->sh;
    uint64_t addr = r->base + offset;
    uint64_t word = addr & ~(uint64_t)3;
    if (s->enabled && word == s->sink_addr && (s->sink_sizes & size)
        && s->sink_len + size <= s->sink_cap && s->qlen == 0) {
        for (unsigned i = 0; i < size; i++)
            s->sink[s->sink_len++] = (uint8_t)(value >> (8 * i));
        s->poll_valid = 0;
        s->fast_writes++;
        return;
    }
    if (s->enabled && s->sink_len == 0 && s->qlen < QUEUE && (addr & 3) + size <= 4) {
        for (uint32_t i = 0; i < s->nlatches; i++) {
            if (s->latch_addr[i] != word)
                continue;
            /* queued for the model, in order; its published read follows the write */
            s->q_addr[s->qlen] = addr;
            s->q_size[s->qlen] = size;
            s->q_value[s->qlen] = (uint32_t)value;
            s->qlen++;
            unsigned shift = 8 * (unsigned)(addr & 3);
            uint64_t mask = (size >= 4 ? 0xFFFFFFFFull : ((1ull << (8 * size)) - 1)) << shift;
            if (s->latch_clears[i]) {
                /* write one to clear: the flags word's published read loses those bits */
                uint64_t bits = (value << shift) & mask & s->latch_mask[i];
                uint64_t raised = (bits & s->latch_trigger[i]) ? s->latch_raise[i] : 0;
                for (uint32_t j = 0; j < s->nreads; j++)
                    if (s->read_addr[j] == s->latch_clears[i])
                        s->read_value[j] = (s->read_value[j] & ~bits) | raised;
            } else {
                for (uint32_t j = 0; j < s->nreads; j++)
                    if (s->read_addr[j] == word)
                        s->read_value[j] = (s->read_value[j] & ~mask) | ((value << shift) & mask);
            }
            s->poll_valid = 0;
            s->fast_writes++;
            return;
        }
    }
    if (s->enabled && s->sink_len == 0 && (addr & 3) + size <= 4) {
        for (uint32_t i = 0; i < s->nsteady; i++) {
            if (s->steady_addr[i] != word)
                continue;
            unsigned shift = 8 * (unsigned)(addr & 3);
            uint64_t mask = (size >= 4 ? 0xFFFFFFFFull : ((1ull << (8 * size)) - 1)) << shift;
            for (uint32_t j = 0; j < s->nreads; j++) {
                if (s->read_addr[j] != word)
                    continue;
                if (((value << shift) & mask) == (s->read_value[j] & mask)) {
                    s->poll_valid = 0; /* as Python does for a write not `steady_write` */
                    s->fast_writes++;
                    return; /* the register already holds it: the write does nothing */
                }
            }
            break;
        }
    }
    s->slow_writes++;
    s->py_write(uc, addr, size, value, 0);
}

/* -- instruction counting per translated block (see InsnCounter) -------------------------- */
typedef int (*mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);
typedef int (*stop_fn)(void *uc);

#define COUNT_CACHE @COUNT_CACHE@

typedef struct {
    mem_read_fn mem_read;
    stop_fn stop;
    uint64_t executed;   /* instructions of whole blocks run in this slice */
    uint64_t budget;     /* instructions the slice may run */
    uint64_t tail_left;  /* tail mode: instructions still to run in the cut block */
    uint64_t cut_pc;     /* the block that would have overrun the budget */
    uint32_t cut_size;
    uint32_t cut;        /* 1: stopped before a block that would overrun */
    uint32_t tail;       /* 1: running the cut block under the exact code hook */
    uint32_t generation; /* bumped per slice: cached counts from older code are not trusted */
    uint32_t key_addr[COUNT_CACHE];
    uint32_t key_size[COUNT_CACHE];
    uint32_t key_gen[COUNT_CACHE];
    uint32_t count[COUNT_CACHE];
} counter_t;

static uint32_t block_insns(counter_t *c, void *uc, uint64_t address, uint32_t size) {
    uint32_t h = (uint32_t)((address >> 1) ^ (address >> 12) ^ size) & (COUNT_CACHE - 1);
    if (c->key_addr[h] == (uint32_t)address && c->key_size[h] == size
        && c->key_gen[h] == c->generation)
        return c->count[h];
    uint8_t code[4096];
    uint32_t n = 0;
    if (size == 0 || size > sizeof code || c->mem_read(uc, address, code, size) != 0)
        return 0; /* unknown: the caller runs the block exactly instead */
    for (uint32_t i = 0; i + 1 < size; n++) {
        uint32_t top = (uint32_t)(code[i + 1] >> 3); /* Thumb-2: 0b11101/0b11110/0b11111 = 32-bit */
        i += (top == 0x1D || top == 0x1E || top == 0x1F) ? 4 : 2;
    }
    c->key_addr[h] = (uint32_t)address;
    c->key_size[h] = size;
    c->key_gen[h] = c->generation;
    c->count[h] = n;
    return n;
}

void hil_count_block(void *uc, uint64_t address, uint32_t size, void *user) {
    counter_t *c = (counter_t *)user;
    if (c->tail)
        return;
    uint32_t n = block_insns(c, uc, address, size);
    if (n == 0 || c->executed + n > c->budget) {
        c->cut = 1;
        c->cut_pc = address;
        c->cut_size = size ? size : 2;
        c->stop(uc);
        return;
    }
    c->executed += n;
}

void hil_count_insn(void *uc, uint64_t address, uint32_t size, void *user) {
    counter_t *c = (counter_t *)user;
    if (!c->tail)
        return;
    if (c->tail_left == 0) {
        c->stop(uc);
        return;
    }
    c->tail_left--;
}

/* -- address translation (see CortexM._translate_natively) -------------------------------- */
typedef struct {
    uint64_t paddr;
    uint32_t perms;
} tlb_entry_t;

#define UC_MEM_FETCH 18
#define UC_PROT_READ 1
#define UC_PROT_WRITE 2
#define UC_PROT_ALL 7
#define PAGE_SHIFT 10 /* Unicorn's ARM target page: 1 KiB */

int hil_tlb_fill(void *uc, uint64_t vaddr, int type, tlb_entry_t *entry, void *user) {
    /* No MMU: physical is virtual. A page code was ever fetched from is executable for every
       access (Unicorn then checks each store there for self-modifying code); any other page
       is read/write only, so its stores take the fast path. The memory's own rights
       (read-only flash, execute-never regions) still apply after this. */
    uint8_t *executed = (uint8_t *)user;
    uint32_t page = (uint32_t)vaddr >> PAGE_SHIFT;
    entry->paddr = vaddr;
    if (type == UC_MEM_FETCH)
        executed[page >> 3] |= (uint8_t)(1u << (page & 7));
    entry->perms = executed[page >> 3] & (1u << (page & 7)) ? UC_PROT_ALL
                                                            : (UC_PROT_READ | UC_PROT_WRITE);
    return 1;
}
""".replace("@READS@", str(READS))
    .replace("@SINK_BYTES@", str(SINK_BYTES))
    .replace("@LATCHES@", str(LATCHES))
    .replace("@SOURCE_BYTES@", str(SOURCE_BYTES))
    .replace("@QUEUE@", str(QUEUE))
    .replace("@STEADY@", str(STEADY))
    .replace("@COUNT_CACHE@", str(COUNT_CACHE))
)

READ_FN = ctypes.CFUNCTYPE(
    ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p
)
WRITE_FN = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64, ctypes.c_void_p
)


class Shared(ctypes.Structure):
    """The state C and Python share: callbacks, polling detector, published fast path."""

    _fields_ = [
        ("py_read", READ_FN),
        ("py_write", WRITE_FN),
        ("poll_addr", ctypes.c_uint64),
        ("poll_value", ctypes.c_uint64),
        ("poll_valid", ctypes.c_uint32),
        ("poll_count", ctypes.c_uint32),
        ("poll_repeats", ctypes.c_uint32),
        ("enabled", ctypes.c_uint32),
        ("nreads", ctypes.c_uint32),
        ("sink_sizes", ctypes.c_uint32),
        ("sink_cap", ctypes.c_uint32),
        ("sink_len", ctypes.c_uint32),
        ("sink_addr", ctypes.c_uint64),
        ("read_addr", ctypes.c_uint64 * READS),
        ("read_value", ctypes.c_uint64 * READS),
        ("fast_reads", ctypes.c_uint64),
        ("fast_writes", ctypes.c_uint64),
        ("slow_reads", ctypes.c_uint64),
        ("slow_writes", ctypes.c_uint64),
        ("nlatches", ctypes.c_uint32),
        ("qlen", ctypes.c_uint32),
        ("timeless", ctypes.c_uint32),
        ("src_sizes", ctypes.c_uint32),
        ("src_addr", ctypes.c_uint64),
        ("src_len", ctypes.c_uint32),
        ("src_pos", ctypes.c_uint32),
        ("latch_addr", ctypes.c_uint64 * LATCHES),
        ("latch_clears", ctypes.c_uint64 * LATCHES),
        ("latch_mask", ctypes.c_uint32 * LATCHES),
        ("latch_trigger", ctypes.c_uint32 * LATCHES),
        ("latch_raise", ctypes.c_uint32 * LATCHES),
        ("nsteady", ctypes.c_uint32),
        ("steady_addr", ctypes.c_uint64 * STEADY),
        ("q_addr", ctypes.c_uint64 * QUEUE),
        ("q_size", ctypes.c_uint32 * QUEUE),
        ("q_value", ctypes.c_uint32 * QUEUE),
        ("sink", ctypes.c_uint8 * SINK_BYTES),
        ("src", ctypes.c_uint8 * SOURCE_BYTES),
    ]


SINK_OFFSET = Shared.sink.offset  # type: ignore[attr-defined]
SOURCE_OFFSET = Shared.src.offset  # type: ignore[attr-defined]


class Region(ctypes.Structure):
    _fields_ = [("sh", ctypes.POINTER(Shared)), ("base", ctypes.c_uint64)]


class InsnCounter(ctypes.Structure):
    """Per-slice instruction counting, shared with `hil_count_block`/`hil_count_insn`.

    Unicorn's own `count=` calls a hook before every instruction (about 14 ns each, the
    largest cost of plain code). Here a block hook adds each translated block's instruction
    count (decoded once per slice from its Thumb-2 halfwords) and stops before the block that
    would overrun the slice; that block then runs under a code hook bounded to it, which stops
    after exactly the remaining instructions, unless the slice need not end exactly
    (`CortexM._execute`: it then ends before that block, as the Python path's block hook
    does). Slices end on the same instruction on both paths.
    """

    _fields_ = [
        ("mem_read", ctypes.c_void_p),
        ("stop", ctypes.c_void_p),
        ("executed", ctypes.c_uint64),
        ("budget", ctypes.c_uint64),
        ("tail_left", ctypes.c_uint64),
        ("cut_pc", ctypes.c_uint64),
        ("cut_size", ctypes.c_uint32),
        ("cut", ctypes.c_uint32),
        ("tail", ctypes.c_uint32),
        ("generation", ctypes.c_uint32),
        ("cache", ctypes.c_uint32 * (4 * COUNT_CACHE)),
    ]


class PollState:
    """The polling detector's state when the native dispatcher is off (same fields)."""

    def __init__(self) -> None:
        self.poll_addr = 0
        self.poll_value = 0
        self.poll_valid = 0
        self.poll_count = 0
        self.nreads = 0
        self.sink_cap = 0
        self.sink_len = 0
        self.enabled = 1


_LIB: ctypes.CDLL | None = None
_TRIED = False


def _cache_dir() -> Path:
    override = os.environ.get("STM32_HIL_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stm32_hil"


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build(directory: Path | None = None) -> Path | None:
    """Compile the dispatcher (once per source version); None when no C compiler works."""
    digest = hashlib.sha256(C_SOURCE.encode() + sys.platform.encode()).hexdigest()[:16]
    suffix = ".dll" if sys.platform == "win32" else ".so"
    where = directory or _cache_dir()
    target = where / f"hil_mmio_{digest}{suffix}"
    if target.exists():
        return target
    cc = _compiler()
    if cc is None:
        return None
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=where) as tmp:
            src = Path(tmp) / "hil_mmio.c"
            src.write_text(C_SOURCE)
            out = Path(tmp) / ("lib" + suffix)
            subprocess.run(
                [cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(src)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            os.replace(out, target)  # atomic: concurrent builders agree on one file
    except (OSError, subprocess.SubprocessError):
        return None
    return target


def library() -> ctypes.CDLL | None:
    """The loaded dispatcher, or None (turned off, or no compiler): use the Python path."""
    global _LIB, _TRIED
    if os.environ.get("STM32_HIL_NATIVE", "1") == "0":
        return None
    if not _TRIED:
        _TRIED = True
        path = build()
        if path is not None:
            try:
                _LIB = ctypes.CDLL(str(path))
            except OSError:
                _LIB = None
    return _LIB


__all__ = [
    "EXECUTED_PAGES_BYTES",
    "READS",
    "READ_FN",
    "SINK_BYTES",
    "SINK_OFFSET",
    "SOURCE_BYTES",
    "SOURCE_OFFSET",
    "WRITE_FN",
    "InsnCounter",
    "PollState",
    "Region",
    "Shared",
    "build",
    "library",
]

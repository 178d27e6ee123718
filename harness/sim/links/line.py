"""The UART line between a host and a simulated USART: framing, faults and pacing.

In-process there is no wire, so the line is modelled where it matters: each side frames bytes
its own way (start bit, data bits, optional parity, stop bits) and the receiver samples the bit
stream with *its* framing -- a host that opens 8N1 against the ROM's 8E1 gets exactly the
garbage a real line gives (a lone 0x7F still syncs; back-to-back bytes do not). Seeded fault
injection drops or corrupts bytes reproducibly, and optional pacing holds bytes back in real
time to the baud rate (bits per frame each), for throughput studies.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import serial


@dataclass(frozen=True)
class Framing:
    bytesize: int = 8
    parity: str = serial.PARITY_EVEN
    stopbits: float = 1

    @property
    def bits(self) -> int:
        """Bits a frame occupies on the wire (start + data + parity + stop)."""
        return 1 + self.bytesize + (self.parity != serial.PARITY_NONE) + int(self.stopbits + 0.5)

    @classmethod
    def of(cls, port: serial.SerialBase) -> Framing:
        return cls(port.bytesize, port.parity, port.stopbits)


DEVICE_FRAMING = Framing()  # the STM32 ROM: 8 data bits, even parity, 1 stop bit


def _parity_bit(value: int, parity: str) -> int:
    ones = bin(value).count("1") & 1
    return {
        serial.PARITY_EVEN: ones,
        serial.PARITY_ODD: ones ^ 1,
        serial.PARITY_MARK: 1,
        serial.PARITY_SPACE: 0,
    }[parity]


def encode(data: bytes, framing: Framing) -> list[int]:
    """Bits on the wire, LSB first, for back-to-back frames."""
    bits: list[int] = []
    stop = int(framing.stopbits + 0.5)
    for b in data:
        b &= (1 << framing.bytesize) - 1
        bits.append(0)
        bits.extend((b >> i) & 1 for i in range(framing.bytesize))
        if framing.parity != serial.PARITY_NONE:
            bits.append(_parity_bit(b, framing.parity))
        bits.extend([1] * stop)
    return bits


def decode(bits: list[int], framing: Framing) -> bytes:
    """What a receiver with `framing` makes of a bit stream followed by an idle line.

    Frames with a parity or framing error are still delivered (the data register holds the
    sampled bits; the ROM does not check PE/FE), so errors show up as wrong bytes.
    """
    out = bytearray()
    i, n = 0, len(bits)
    width = framing.bits - 1
    while i < n:
        if bits[i] == 1:  # idle: wait for a start bit
            i += 1
            continue
        frame = bits[i + 1 : i + 1 + width] + [1] * max(0, i + 1 + width - n)
        out.append(sum(bit << k for k, bit in enumerate(frame[: framing.bytesize])))
        i += 1 + width
    return bytes(out)


def transcode(data: bytes, sender: Framing, receiver: Framing) -> bytes:
    if sender == receiver:
        return data
    return decode(encode(data, sender), receiver)


@dataclass
class LineFaults:
    """Seeded noise: each byte is dropped or has one bit flipped with the given probability."""

    seed: int = 0
    drop: float = 0.0
    corrupt: float = 0.0
    dropped: int = 0
    corrupted: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def apply(self, data: bytes) -> bytes:
        if not (self.drop or self.corrupt):
            return data
        out = bytearray()
        for b in data:
            r = self._rng.random()
            if r < self.drop:
                self.dropped += 1
                continue
            if r < self.drop + self.corrupt:
                self.corrupted += 1
                b ^= 1 << self._rng.randrange(8)
            out.append(b)
        return bytes(out)


class Pacer:
    """Real-time schedule of one direction of the line: when the last byte leaves the wire."""

    def __init__(self, baud: int, bits: int) -> None:
        self.byte_time = bits / baud
        self.free_at = 0.0

    def schedule(self, n: int, not_before: float | None = None) -> float:
        """Queue n bytes; returns the wall-clock time at which the last one has arrived.

        `not_before` is when the sender could start (default: now).
        """
        start = max(time.perf_counter() if not_before is None else not_before, self.free_at)
        self.free_at = start + n * self.byte_time
        return self.free_at

    @staticmethod
    def sleep_until(t: float) -> None:
        delay = t - time.perf_counter()
        if delay > 0.002:
            time.sleep(delay - 0.001)
        while time.perf_counter() < t:  # the last millisecond is spun for accuracy
            pass

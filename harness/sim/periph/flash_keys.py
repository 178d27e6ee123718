"""The two-key unlock of a FLASH lock bit (KEYR, OPTKEYR), shared by every controller model.

RM0444 and RM0433 describe the same mechanism: the two keys written in order clear the lock
bit; a wrong key (or, on H7, a key written while already unlocked) locks the register out
until the next reset, and the write ends in a bus error.
"""

from __future__ import annotations

from stm32_hil.errors import BusFault


class KeySequence:
    def __init__(
        self,
        register: str,
        address: int,
        keys: tuple[int, int],
        *,
        kind: str,
        guards: str,
        refuse_when_unlocked: bool,
    ) -> None:
        """`kind` names the key ("flash key"), `guards` what the lock protects ("FLASH_CR")."""
        self.register = register
        self.address = address
        self.keys = keys
        self.kind = kind
        self.guards = guards
        self.refuse_when_unlocked = refuse_when_unlocked
        self.reset()

    def reset(self) -> None:
        self.stage = 0
        self.refused = False

    def feed(self, value: int, locked: bool) -> bool:
        """One write of `value` while the lock bit reads `locked`; True when it unlocks."""
        k1, k2 = self.keys
        if self.refused:
            raise BusFault(
                self.address,
                f"{self.register} is locked until the next reset after a wrong key sequence "
                f"(reset the target, then write 0x{k1:08X} and 0x{k2:08X} in order)",
                write=True,
            )
        if not locked and not self.refuse_when_unlocked:
            return False  # already unlocked: the write has no effect
        if locked and value == self.keys[self.stage]:
            self.stage += 1
            if self.stage == len(self.keys):
                self.stage = 0
                return True
            return False
        self.refused = True
        self.stage = 0
        raise BusFault(
            self.address,
            f"wrong {self.kind} 0x{value:08X} on {self.register}: {self.guards} stays locked "
            f"until the next reset (write 0x{k1:08X} then 0x{k2:08X}, only while locked)",
            write=True,
        )

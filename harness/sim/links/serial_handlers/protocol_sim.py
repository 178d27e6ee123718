"""`sim://<board>[/<usart>][?boot0=1&pace=1&drop=P&corrupt=P&seed=N]` for serial_for_url."""

from stm32_hil.sim.links.serial_link import SimSerial as Serial

__all__ = ["Serial"]

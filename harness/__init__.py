"""STM32 hardware-in-the-loop harness: one Target interface over simulated and real boards."""

__version__ = "0.1.0"

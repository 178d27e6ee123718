"""Simulated STM32 boards: bus, register-level peripherals, Cortex-M core, Python bootrom."""

"""Regression suites run by `hil run` (installed as `stm32_hil_suites`)."""

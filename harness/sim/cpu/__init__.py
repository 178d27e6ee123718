"""The Cortex-M core: Unicorn execution, exceptions, SCS, SysTick, FPB/DWT."""

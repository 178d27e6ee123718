"""The system-memory ROM: boot selection, entry rules and the AN3155 bootloader in Python."""

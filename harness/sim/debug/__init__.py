"""The simulated debug port, exposed to pyOCD as a probe."""

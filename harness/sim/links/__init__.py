"""Serial links to the simulated USARTs: pyserial URLs, line framing, pty/TCP/RFC2217 serving."""

"""pyserial URL handlers for simulated boards (`sim://<board>[/<usart>]`)."""

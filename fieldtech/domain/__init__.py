"""The rules of the trade: plain Python, no I/O. Client and HQ import the same rules."""

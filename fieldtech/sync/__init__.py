"""Sync between a device and HQ: the wire protocol, the client and the HQ server."""

"""Headquarters: dispatch, users and devices, and the sync endpoint. SQLite or PostgreSQL."""

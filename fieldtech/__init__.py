"""fieldtech: offline-first field service for technicians, supervisors and HQ."""

__version__ = "0.1.0"

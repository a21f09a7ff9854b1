"""Textual screens and widgets: the technician's and supervisor's terminal app."""

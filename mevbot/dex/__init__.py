"""Venue math: decode account bytes, quote exactly as the program does, build swap instructions. No I/O."""

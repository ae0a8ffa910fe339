"""Breakpoints, stepping and the pause gate (no Qt, thread-safe)."""

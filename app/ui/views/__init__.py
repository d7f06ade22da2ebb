"""Flet controls: each screen draws its state class and turns taps into its calls."""

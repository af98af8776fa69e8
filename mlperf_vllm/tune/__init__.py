"""Tuning: this machine's best engine settings per scenario, found by measuring within a budget.

fingerprint (what a tune is valid for), start (the first settings, from the machine's memory),
settings (the knobs and what "simpler" means), probelog (the append-only record that makes a tune
resumable), tuner (one knob at a time over an engine seam), result (summary.json `tune` and
tuned_preset.json).
"""

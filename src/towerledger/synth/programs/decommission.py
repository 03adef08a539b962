"""The decommission program in the synthetic province (hooks: see synth.programs)."""

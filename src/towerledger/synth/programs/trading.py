"""The trading program in the synthetic province (hooks: see synth.programs)."""

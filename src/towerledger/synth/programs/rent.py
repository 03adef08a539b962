"""The rent program in the synthetic province (hooks: see synth.programs)."""

"""The theft program in the synthetic province (hooks: see synth.programs)."""

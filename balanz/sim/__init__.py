"""The charger and EV simulator. `ev`: the pure EV model (step functions of state, offer and time)."""

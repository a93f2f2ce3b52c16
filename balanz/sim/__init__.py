"""The charger and EV simulator (docs/simulator.md: scenarios and quirks; docs/simulator-charger.md: inside).

- `ev`: the pure EV model (step functions of state, offer and time).
- `spec.SimChargerSpec`, `quirk_flags.QuirkFlags`: what one simulated charger is (plain frozen data).
- `charger.SimCharger(spec, base_url, clock=SimClock, events=EventLog)`: the running charger; `await
  nursery.start(charger.run)`, then the control API (plug, unplug, swipe, fault, reboot, drop_network ...).
- `clock.SimClock`: simulated UTC from trio time, with a speed factor.
- `eventlog`: the typed JSON-lines records the simulator writes.
- `scenario`, `quirks`, `timeline`: scenario files and the named quirks.
- `testcsms.ScriptedCsms`: a recording central system for tests and benchmarks.
"""

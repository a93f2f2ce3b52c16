"""The allocation core: pure decisions about how many amperes each connector may offer (allocation.md).

Nothing here performs I/O, reads a clock or imports trio/ocpp; ``now`` is always an argument.
"""
